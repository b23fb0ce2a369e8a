// What a kernel receives: AttentionParams flattened into a trivially copyable struct with device-callable
// accessors, plus the launch plan (GQA packing, split-KV partials). Also the device helpers every kernel shares:
// element loads, the mask, and the final normalisation (sink, LSE, rounding to the output dtype).
//
// Packed rows: the query heads of one KV head g (any head map: group_heads lists them, group_offsets delimits
// each group, groups may differ in size) are packed so one K/V tile serves all of them. Within sequence b, packed
// row r of group g is query position r / G and query head group_heads[group_offsets[g] + r % G], G = group size.
#pragma once
#include <cmath>
#include <cstdint>

#include "gpu/portability.h"
#include "gqa/params.h"

namespace gqa {
namespace gpu {

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

struct KernelParams {
  const void* q;
  const void* k;
  const void* v;
  void* out;
  float* lse;
  int64_t q_stride[4], k_stride[4], v_stride[4], out_stride[4], lse_stride[3];
  const int32_t* cu_seqlens_q;
  const int32_t* cu_seqlens_kv;
  const int32_t* page_table;
  const int32_t* seqlens_kv;
  int64_t page_table_stride, page_size;
  const float* sinks;
  int64_t seqlen_q, seqlen_kv;
  int32_t batch, heads_q, heads_kv, head_dim;
  DType out_dtype;
  float scale, softcap;
  int64_t window_left, window_right;
  bool bottom_right;
  bool kv_vectorized;  // K and V rows contiguous and 16-byte aligned: 16-byte loads

  const int32_t* group_offsets;  // [heads_kv + 1]
  const int32_t* group_heads;    // [heads_q], query heads ordered by KV head

  // Split-KV: num_splits > 1 writes unnormalised partials, merged by the combine kernel.
  int32_t num_splits;
  float* part_o;   // [batch * seqlen_q * heads_q][num_splits][head_dim]
  float* part_ml;  // [batch * seqlen_q * heads_q][num_splits][2]: running max (log2 units) and sum

  __device__ __forceinline__ bool varlen() const { return cu_seqlens_q != nullptr; }
  __device__ __forceinline__ int64_t seq_start_q(int b) const { return varlen() ? cu_seqlens_q[b] : 0; }
  __device__ __forceinline__ int64_t seq_len_q(int b) const {
    return varlen() ? cu_seqlens_q[b + 1] - cu_seqlens_q[b] : seqlen_q;
  }
  __device__ __forceinline__ int64_t seq_len_kv(int b) const {
    if (page_table) return seqlens_kv[b];
    return varlen() ? cu_seqlens_kv[b + 1] - cu_seqlens_kv[b] : seqlen_kv;
  }
  __device__ __forceinline__ int64_t kv_row(const int64_t* stride, int b, int64_t j) const {
    if (page_table) {
      const int64_t page = page_table[b * page_table_stride + j / page_size];
      return page * stride[0] + (j % page_size) * stride[1];
    }
    return b * stride[0] + ((varlen() ? cu_seqlens_kv[b] : 0) + j) * stride[1];
  }
  __device__ __forceinline__ int64_t mask_offset(int b) const {
    return bottom_right ? seq_len_kv(b) - seq_len_q(b) : 0;
  }
  // Keys [lo, hi) that any query position in [i_first, i_last] may see.
  __device__ __forceinline__ int64_t key_begin(int64_t i_first, int64_t off) const {
    const int64_t lo = i_first + off - window_left;
    return window_left < 0 || lo < 0 ? 0 : lo;
  }
  __device__ __forceinline__ int64_t key_end(int64_t i_last, int64_t off, int64_t skv) const {
    const int64_t hi = i_last + off + window_right + 1;
    return window_right < 0 || hi > skv ? skv : hi;
  }
  __device__ __forceinline__ bool key_allowed(int64_t i, int64_t j, int64_t off) const {
    return (window_left < 0 || j >= i + off - window_left) && (window_right < 0 || j <= i + off + window_right);
  }
  // Scale and softcap of a raw dot product, returned in log2 units so kernels can use exp2.
  __device__ __forceinline__ float score_log2(float dot) const {
    float s = scale * dot;
    if (softcap > 0.f) s = softcap * tanhf(s / softcap);
    return s * kLog2e;
  }
  // Index of output row (b, i, h) in the split-KV partial buffers.
  __device__ __forceinline__ int64_t partial_row(int b, int64_t i, int h) const {
    return (int64_t(b) * seqlen_q + i) * heads_q + h;
  }
};

// Builds the kernel view of validated parameters whose pointers are device pointers.
inline KernelParams make_kernel_params(const AttentionParams& p) {
  KernelParams k{};
  k.q = p.q;
  k.k = p.k;
  k.v = p.v;
  k.out = p.out;
  k.lse = p.lse;
  for (int i = 0; i < 4; ++i) {
    k.q_stride[i] = p.q_stride[i];
    k.k_stride[i] = p.k_stride[i];
    k.v_stride[i] = p.v_stride[i];
    k.out_stride[i] = p.out_stride[i];
  }
  for (int i = 0; i < 3; ++i) k.lse_stride[i] = p.lse_stride[i];
  k.cu_seqlens_q = p.cu_seqlens_q;
  k.cu_seqlens_kv = p.cu_seqlens_kv;
  k.page_table = p.page_table;
  k.seqlens_kv = p.seqlens_kv;
  k.page_table_stride = p.page_table_stride;
  k.page_size = p.page_size;
  k.sinks = p.sinks;
  k.seqlen_q = p.seqlen_q;
  k.seqlen_kv = p.seqlen_kv;
  k.batch = int32_t(p.batch);
  k.heads_q = int32_t(p.heads_q);
  k.heads_kv = int32_t(p.heads_kv);
  k.head_dim = int32_t(p.head_dim);
  k.out_dtype = p.out_dtype;
  k.scale = p.scale;
  k.softcap = p.softcap;
  k.window_left = p.window_left;
  k.window_right = p.window_right;
  k.bottom_right = p.alignment == Alignment::BottomRight;
  k.num_splits = 1;
  return k;
}

template <typename T>
__device__ __forceinline__ float load_element(const void* base, int64_t index) {
  return to_float(static_cast<const T*>(base)[index]);
}

__device__ __forceinline__ void store_output(void* base, DType t, int64_t index, float x) {
  switch (t) {
    case DType::F32: static_cast<float*>(base)[index] = x; break;
    case DType::BF16: static_cast<uint16_t*>(base)[index] = f32_to_bf16(x); break;
    case DType::F16: static_cast<uint16_t*>(base)[index] = f32_to_f16(x); break;
  }
}

// Online-softmax state of one query row: running max m (log2 units, -inf while nothing was seen) and sum l of
// exp2(s - m). Folding in the sink and normalising happens once, in finish_row.
struct RowFinish {
  float out_scale;  // multiply the unnormalised accumulator by this (0 for a row with no key and no sink)
  float lse;        // natural log
};

__device__ __forceinline__ RowFinish finish_row(const KernelParams& p, int h, float m, float l) {
  if (p.sinks) {
    const float sink = p.sinks[h] * kLog2e;
    const float m_new = fmaxf(m, sink);
    if (m_new != -INFINITY) {
      l = (m == -INFINITY ? 0.f : l * exp2f(m - m_new)) + exp2f(sink - m_new);
      const float rescale = m == -INFINITY ? 0.f : exp2f(m - m_new);
      return {l > 0.f ? rescale / l : 0.f, l > 0.f ? (m_new + log2f(l)) * kLn2 : -INFINITY};
    }
  }
  if (!(l > 0.f)) return {0.f, -INFINITY};
  return {1.f / l, (m + log2f(l)) * kLn2};
}

__device__ __forceinline__ int64_t out_row(const KernelParams& p, int b, int64_t i, int h) {
  return b * p.out_stride[0] + (p.seq_start_q(b) + i) * p.out_stride[1] + h * p.out_stride[2];
}

__device__ __forceinline__ void store_lse(const KernelParams& p, int b, int64_t i, int h, float lse) {
  if (p.lse) p.lse[b * p.lse_stride[0] + h * p.lse_stride[1] + (p.seq_start_q(b) + i) * p.lse_stride[2]] = lse;
}

}  // namespace gpu
}  // namespace gqa
