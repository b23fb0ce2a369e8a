// The parameters of one attention call, as every backend receives them: validated, with all defaults filled in.
//
//   O[b, i, h, :] = softmax_j( s_ij (+ mask, softcap, sink) ) @ V[b, j, head_map[h], :]
//   s_ij = scale * Q[b, i, h, :] . K[b, j, head_map[h], :]
//
// Element (b, i, h, d) of Q lives at q + b*q_stride[0] + (seq_start_q(b) + i)*q_stride[1] + h*q_stride[2]
// + d*q_stride[3] (strides in elements, never negative). For fixed-length batches seq_start is 0; for varlen batches
// the tensors are packed [total, H, D], the batch stride is 0 and seq_start_q(b) = cu_seqlens_q[b].
// LSE (f32, natural log) element (b, h, i) lives at lse + b*lse_stride[0] + h*lse_stride[1]
// + (seq_start_q(b) + i)*lse_stride[2].
#pragma once
#include <cstdint>

#include "gqa/dtype.h"

namespace gqa {

enum class Alignment : int32_t {
  TopLeft = 0,      // PyTorch is_causal: query i sees keys j <= i
  BottomRight = 1,  // FlashAttention: the last query sees the last key, offset Skv - Sq
};

// Faults the fast CPU backend can inject on request (test-only), so the parity check can prove it catches each
// known cause of the ROCm GQA bf16 failure family. The reference and the GPU backends ignore this field.
enum class Fault : int32_t {
  None = 0,
  ScoresBf16,        // scores rounded to bf16 before the softmax
  PBf16,             // probabilities P rounded to bf16 before the P @ V accumulation
  PRoundTowardZero,  // P converted to bf16 with round-toward-zero (truncation)
  HeadMapModulo,     // K/V head taken as h % Hkv instead of head_map[h]
  CausalOffByOne,    // the causal/window alignment shifted by one key
  DropLastKvTile,    // the last partial KV tile skipped
  MaxBeforeFma,      // row max from unfused scores, exponent from an FMA: inconsistent max subtraction
};

struct AttentionParams {
  // Shapes. For varlen batches seqlen_q / seqlen_kv are the largest per-sequence lengths.
  int64_t batch = 0, seqlen_q = 0, seqlen_kv = 0, heads_q = 0, heads_kv = 0, head_dim = 0;

  DType dtype = DType::F32;      // of q, k and v
  DType out_dtype = DType::F32;  // of out

  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  void* out = nullptr;
  float* lse = nullptr;  // optional

  int64_t q_stride[4] = {0, 0, 0, 0};    // [b, s, h, d], in elements
  int64_t k_stride[4] = {0, 0, 0, 0};
  int64_t v_stride[4] = {0, 0, 0, 0};
  int64_t out_stride[4] = {0, 0, 0, 0};
  int64_t lse_stride[3] = {0, 0, 0};     // [b, h, s]

  const int32_t* head_map = nullptr;      // length heads_q, entries in [0, heads_kv); always set
  const int32_t* cu_seqlens_q = nullptr;  // length batch + 1, or null for fixed-length batches
  const int32_t* cu_seqlens_kv = nullptr; // set exactly when cu_seqlens_q is
  const float* sinks = nullptr;           // optional, length heads_q, same units as the softcapped scores

  // Paged K/V (a KV cache): when page_table is set, k and v are [num_pages, page_size, Hkv, D] (stride[0] is the
  // page stride) and key j of sequence b lives in page page_table[b * page_table_stride + j / page_size] at row
  // j % page_size. Per-sequence key counts then come from seqlens_kv[b]; q is a fixed-length batch.
  const int32_t* page_table = nullptr;
  int64_t page_table_stride = 0;
  int64_t page_size = 0;
  const int32_t* seqlens_kv = nullptr;

  float scale = 0.f;
  float softcap = 0.f;         // 0: off; else s = softcap * tanh(s / softcap)
  int64_t window_left = -1;    // -1: unbounded; causal is window_right = 0
  int64_t window_right = -1;
  Alignment alignment = Alignment::TopLeft;

  Fault fault = Fault::None;

  bool varlen() const { return cu_seqlens_q != nullptr; }
  int64_t seq_start_q(int64_t b) const { return varlen() ? cu_seqlens_q[b] : 0; }
  int64_t seq_start_kv(int64_t b) const { return varlen() ? cu_seqlens_kv[b] : 0; }
  int64_t seq_len_q(int64_t b) const { return varlen() ? cu_seqlens_q[b + 1] - cu_seqlens_q[b] : seqlen_q; }
  int64_t seq_len_kv(int64_t b) const {
    if (page_table) return seqlens_kv[b];
    return varlen() ? cu_seqlens_kv[b + 1] - cu_seqlens_kv[b] : seqlen_kv;
  }
  // Element offset of key row j of sequence b in a K or V tensor with the given strides (head and dim excluded).
  int64_t kv_row(const int64_t stride[4], int64_t b, int64_t j) const {
    if (page_table) {
      const int64_t page = page_table[b * page_table_stride + j / page_size];
      return page * stride[0] + (j % page_size) * stride[1];
    }
    return b * stride[0] + (seq_start_kv(b) + j) * stride[1];
  }
  // Alignment offset of sequence b: query i sits at key position i + offset.
  int64_t mask_offset(int64_t b) const {
    return alignment == Alignment::BottomRight ? seq_len_kv(b) - seq_len_q(b) : 0;
  }
};

}  // namespace gqa
