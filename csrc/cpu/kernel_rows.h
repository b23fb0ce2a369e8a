// Access to the rows of Q, K and V from the kernels (attend_kernel.h, attend_few_rows.h): addressing, conversion to
// f32, prefetching, and the per-item shapes of the scratch layout. Instantiated per vector type V, like the kernels.
#pragma once
#include <cstdint>
#include <type_traits>

#include "work_item.h"

namespace gqa {
namespace cpu {

// Row of head_dim elements at element offset `offset` of `base` with element stride `stride`, as f32.
template <class V>
inline void load_row(const void* base, DType t, int64_t offset, int64_t stride, int64_t n, float* dst) {
  if (stride == 1) {
    V::load_row(static_cast<const char*>(base) + offset * dtype_size(t), t, n, dst);
    return;
  }
  for (int64_t d = 0; d < n; ++d) {
    const int64_t at = d * stride;
    switch (t) {
      case DType::F32: dst[d] = static_cast<const float*>(base)[offset + at]; break;
      case DType::BF16: dst[d] = bf16_to_f32(static_cast<const uint16_t*>(base)[offset + at]); break;
      case DType::F16: dst[d] = f16_to_f32(static_cast<const uint16_t*>(base)[offset + at]); break;
    }
  }
}

// Key rows of one head are strided (by Hkv * D, or scattered over pages), and in [B, S, Hkv, D] each key's rows
// start a new 4 KiB page, where the hardware prefetcher stops: rows converted one item at a time are prefetched
// kPrefetchAhead keys ahead of their use, towards L2 (locality 2).
constexpr int64_t kPrefetchAhead = 8;

// Address of key j's row of the item's KV head in the K or V tensor `base` (with its strides).
inline const char* row_address(const AttentionParams& p, const void* base, const int64_t stride[4],
                               const WorkItem& it, int64_t j) {
  const int64_t element = p.kv_row(stride, it.batch, j) + it.kv_head * stride[2];
  return static_cast<const char*>(base) + element * dtype_size(p.dtype);
}

// Prefetches key j's row of the item's KV head in the K or V tensor `base` (with its strides), if the item visits j.
inline void prefetch_row(const AttentionParams& p, const void* base, const int64_t stride[4], const WorkItem& it,
                         int64_t j) {
  if (j >= it.key_end) return;
  const char* row = row_address(p, base, stride, it, j);
  const int64_t bytes = ((p.head_dim - 1) * stride[3] + 1) * dtype_size(p.dtype);
  for (int64_t at = 0; at < bytes; at += 64) __builtin_prefetch(row + at, 0, 2);
}

// Reads one byte of key j's K and V rows of the item's KV head, if the item visits j: a load brings the key's page
// (its rows of all KV heads) into the TLB and starts the hardware prefetcher on it well before the rows are needed.
// Software prefetches in its place measured no effect (perhaps dropped when the page is not in the TLB).
inline void touch_key(const AttentionParams& p, const WorkItem& it, int64_t j) {
  if (j >= it.key_end) return;
  (void)*reinterpret_cast<const volatile char*>(row_address(p, p.k, p.k_stride, it, j));
  (void)*reinterpret_cast<const volatile char*>(row_address(p, p.v, p.v_stride, it, j));
}

// Scores of few-row items from the bf16 K rows in place, by the vector type's bf16 dot product (when it has one):
// bf16 inputs, contiguous head dim, a whole number of dot-product blocks long.
template <class V>
bool bf16_scores(const AttentionParams& p) {
  if constexpr (V::bf16_dot)
    return p.dtype == DType::BF16 && p.k_stride[3] == 1 && p.head_dim % V::bf16_dot_block == 0;
  return false;
}

// Sizes of one item's scratch layout (work_item.h).
template <class V>
struct ItemShape {
  int64_t D, R, ldr, ldd;
  int64_t r_cols, d_cols;  // score columns and output columns computed: rows and head dim in whole vectors
  bool by_rows;            // scores by dot products (few rows) rather than by the transposed product
  ItemShape(const AttentionParams& p, const WorkItem& it)
      : D(p.head_dim), R(it.rows), ldr(pad_up(R)), ldd(pad_up(D)),
        r_cols((R + V::width - 1) / V::width * V::width), d_cols((D + V::width - 1) / V::width * V::width),
        by_rows(2 * R <= V::width) {}
};

// K/V rows can be read where they are, in their own dtype, when each is a contiguous head dim a whole number of
// vectors long and they sit at one fixed stride (no pages).
template <class V>
bool rows_contiguous(const AttentionParams& p) {
  return p.k_stride[3] == 1 && p.v_stride[3] == 1 && !p.page_table && p.head_dim % V::width == 0;
}

// The tiled path (attend_kernel.h) reads rows in place only when they are f32 already; else it converts them into
// the workspace.
template <class V>
bool rows_in_place(const AttentionParams& p) {
  return p.dtype == DType::F32 && rows_contiguous<V>(p);
}

// Element type of K and V rows of dtype T as stored.
template <DType T>
using Elem = std::conditional_t<T == DType::F32, float, uint16_t>;

// V::width elements of a row of dtype T, as f32 (exactly).
template <class V, DType T>
inline typename V::reg load_f32(const Elem<T>* e) {
  if constexpr (T == DType::F32) return V::load(e);
  else if constexpr (T == DType::BF16) return V::load_bf16(e);
  else return V::load_f16(e);
}

// Address of key j's row of the item's KV head, when rows are read in place.
template <class E = float>
inline const E* row_in_place(const AttentionParams& p, const void* base, const int64_t stride[4], const WorkItem& it,
                             int64_t j) {
  return reinterpret_cast<const E*>(row_address(p, base, stride, it, j));
}

// Converts key j's row of the item's KV head in the K or V tensor `base` (with its strides) to f32 at dst.
template <class V>
void convert_row(const AttentionParams& p, const void* base, const int64_t stride[4], const WorkItem& it, int64_t j,
                 float* dst) {
  load_row<V>(base, p.dtype, p.kv_row(stride, it.batch, j) + it.kv_head * stride[2], stride[3], p.head_dim, dst);
}

}  // namespace cpu
}  // namespace gqa
