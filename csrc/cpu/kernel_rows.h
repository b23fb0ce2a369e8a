// Access to the rows of Q, K and V from the kernels (attend_kernel.h, attend_few_rows.h): addressing, conversion to
// f32, prefetching, and the per-item shapes of the scratch layout. Instantiated per vector type V, like the kernels.
#pragma once
#include <algorithm>
#include <cstdint>
#include <limits>
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

// The first key past key j's page: keys from j up to it have their rows at one fixed stride (stride[1]). Without
// pages there is no such bound, and it is the largest int64_t: take differences with it, never sums.
inline int64_t page_end(const AttentionParams& p, int64_t j) {
  return p.page_table ? (j / p.page_size + 1) * p.page_size : std::numeric_limits<int64_t>::max();
}

// Address of key j's row of the item's KV head in the K or V tensor `base` (with its strides).
inline const char* row_address(const AttentionParams& p, const void* base, const int64_t stride[4],
                               const WorkItem& it, int64_t j) {
  const int64_t element = p.kv_row(stride, it.batch, j) + it.kv_head * stride[2];
  return static_cast<const char*>(base) + element * dtype_size(p.dtype);
}

// Bytes a row of head_dim elements spans in a K or V tensor with these strides, its first element to its last.
inline int64_t row_span_bytes(const AttentionParams& p, const int64_t stride[4]) {
  return ((p.head_dim - 1) * stride[3] + 1) * dtype_size(p.dtype);
}

// Prefetches key j's row of the item's KV head in the K or V tensor `base` (with its strides), if the item visits j.
inline void prefetch_row(const AttentionParams& p, const void* base, const int64_t stride[4], const WorkItem& it,
                         int64_t j) {
  if (j >= it.key_end) return;
  const char* row = row_address(p, base, stride, it, j);
  const int64_t bytes = row_span_bytes(p, stride);
  for (int64_t at = 0; at < bytes; at += 64) __builtin_prefetch(row + at, 0, 2);
}

// Software prefetches through one contiguous range of memory, a few cache lines at a time, issued among the loads of
// the work before it so that the range arrives while that work computes. The few-rows passes read K and V in blocks
// of keys, a few KV heads at a time, an order the hardware prefetcher follows poorly; one prefetch per vector loaded,
// walking the next block in address order, took f32 decode from memory (Hq=32, Hkv=8, D=128, 2048 keys, 2 threads,
// 2-core Zen 4 VM) from 0.90 to 0.70 ms at batch 1 and from 3.33 to 2.82 ms at batch 4. On a 2-core Zen 5 VM, with
// each change measured against the one before in alternate calls of one process, prefetching to L1 (locality 3)
// rather than L2 took 3-8% off batch 1 and 4% off batch 4, and counting the lines once per step rather than testing
// the range's end at each line, 2-6% and 4-9% more. Prefetching two blocks ahead was 8-12% slower, and prefetching
// each step's lines from a pointer taken for the whole block, with no count per step, 2-11% slower (though faster with
// K and V in cache).
class PrefetchStream {
 public:
  PrefetchStream() = default;
  PrefetchStream(const char* begin, const char* end, int rate) : next_(begin), end_(end), rate_(rate) {}
  // Prefetches rate * vectors lines, for a work step that loads that many vectors.
  void lines(int vectors) {
    const char* at = next_;
    const int64_t n = std::min<int64_t>(int64_t(rate_) * vectors, (end_ - at + 63) / 64);
    for (int64_t i = 0; i < n; ++i) __builtin_prefetch(at + 64 * i, 0, 3);
    if (n > 0) next_ = at + 64 * n;
  }
  // The range still to prefetch: [next, end).
  const char* next() const { return next_; }
  const char* end() const { return end_; }

 private:
  const char* next_ = nullptr;
  const char* end_ = nullptr;
  int rate_ = 0;
};

// Prefetches the first line of key j's K and V rows of the item's KV head, if the item visits j. Issued well ahead of
// the PrefetchStreams (kPageAheadKeys), it starts the page walk, and the hardware prefetcher, on each key's page
// early: in f32 decode from memory (as above) 32 keys ahead took batch 1 from 0.72-0.73 to 0.66-0.68 ms. Rows that
// are converted rather than read in place (strided, paged) get it too.
inline void prefetch_key_start(const AttentionParams& p, const WorkItem& it, int64_t j) {
  if (j >= it.key_end) return;
  __builtin_prefetch(row_address(p, p.k, p.k_stride, it, j), 0, 2);
  __builtin_prefetch(row_address(p, p.v, p.v_stride, it, j), 0, 2);
}

// The stream over the K or V rows (tensor `base` with its strides) of keys [j0, j1) for all the items, which share
// one batch, when those rows fill one contiguous range (as in [B, S, Hkv, D] with the items' KV heads adjacent);
// else an empty stream. Items are in KV-head order. With pages, it stops at the end of j0's page.
inline PrefetchStream key_rows_stream(const AttentionParams& p, const void* base, const int64_t stride[4],
                                      const WorkItem* items, int64_t count, int64_t j0, int64_t j1, int rate = 1) {
  j1 = std::min({j1, items[0].key_end, page_end(p, j0)});
  if (j0 >= j1) return {};
  const int64_t row_bytes = row_span_bytes(p, stride);
  const char* begin = row_address(p, base, stride, items[0], j0);
  const char* end = row_address(p, base, stride, items[count - 1], j1 - 1) + row_bytes;
  if (end <= begin || end - begin > (j1 - j0) * count * row_bytes) return {};  // strided or scattered rows
  return {begin, end, rate};
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
// vectors long. The few-rows passes address each key's row, or a run of keys within one page (page_end), so
// pages are no obstacle there.
template <class V>
bool rows_contiguous(const AttentionParams& p) {
  return p.k_stride[3] == 1 && p.v_stride[3] == 1 && p.head_dim % V::width == 0;
}

// The tiled path (attend_kernel.h) reads rows in place only when they are f32 already and a tile's rows sit at one
// fixed stride (no pages); else it converts them into the workspace.
template <class V>
bool rows_in_place(const AttentionParams& p) {
  return p.dtype == DType::F32 && !p.page_table && rows_contiguous<V>(p);
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
