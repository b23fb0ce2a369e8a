// What the two matrix-core prefill kernels (prefill_mma.cu: mma.sync on CUDA sm_80+; prefill_mfma.cu: MFMA on AMD
// CDNA) share: the launch plan and its dtype x head-dim dispatch, the packed query row a lane works for, Q and K/V
// loads, masking, the online-softmax step and the row epilogue. Only the matrix instructions, their register
// layouts and the shared-memory tile shapes differ between the two.
//
// Both run blocks of kPrefillRows packed query rows (kernel_params.h) of one KV head g and batch entry b, grid
// (row tiles, heads_kv, batch), and walk the keys that any row of the tile may see in tiles through shared memory.
#pragma once
#include <type_traits>

#include "gpu/kernel_params.h"
#include "gpu/p_split.h"

namespace gqa {
namespace gpu {

constexpr int kPrefillRows = 64;  // packed query rows per block: four warps (CUDA) or wavefronts (HIP) of 16

// The DType of a 16-bit storage type.
template <typename T>
struct StorageType;
template <>
struct StorageType<bf16_t> {
  static constexpr DType kDType = DType::BF16;
};
template <>
struct StorageType<f16_t> {
  static constexpr DType kDType = DType::F16;
};

inline dim3 prefill_grid(const KernelParams& p, int max_group) {
  const int64_t row_tiles = (p.seqlen_q * max_group + kPrefillRows - 1) / kPrefillRows;
  return dim3(unsigned(row_tiles), unsigned(p.heads_kv), unsigned(p.batch));
}

// The instantiations: bf16 and f16 inputs, head-dim tiles 64, 128 and 256 (a tile serves every head dim up to its
// own, masking the rest). Returns launch(T{}, std::integral_constant<int, kHeadDim>{}).
template <typename T, typename Launch>
gpuError_t dispatch_prefill_head_dim(int head_dim, Launch& launch) {
  if (head_dim <= 64) return launch(T{}, std::integral_constant<int, 64>{});
  if (head_dim <= 128) return launch(T{}, std::integral_constant<int, 128>{});
  if (head_dim <= 256) return launch(T{}, std::integral_constant<int, 256>{});
  return gpuErrorInvalidValue;
}

template <typename Launch>
gpuError_t dispatch_prefill(DType dtype, int head_dim, Launch launch) {
  switch (dtype) {
    case DType::BF16: return dispatch_prefill_head_dim<bf16_t>(head_dim, launch);
    case DType::F16: return dispatch_prefill_head_dim<f16_t>(head_dim, launch);
    case DType::F32: break;
  }
  return gpuErrorInvalidValue;
}

// One block's share of the work: packed query rows [r0, r0 + kPrefillRows) of KV head g_kv (blockIdx.y) for batch
// entry b (blockIdx.z), and the keys [lo, hi) that any of those rows may see. Empty when the row tile lies past the
// group's rows (the grid is sized for the largest group); then nothing else is set.
struct PrefillBlock {
  int g_kv, b, group;
  const int32_t* heads;
  int64_t total_rows, r0, off = 0, lo = 0, hi = 0;

  __device__ __forceinline__ explicit PrefillBlock(const KernelParams& p)
      : g_kv(int(blockIdx.y)), b(int(blockIdx.z)), group(p.group_offsets[g_kv + 1] - p.group_offsets[g_kv]),
        heads(p.group_heads + p.group_offsets[g_kv]), total_rows(p.seq_len_q(b) * group),
        r0(int64_t(blockIdx.x) * kPrefillRows) {
    if (empty()) return;
    off = p.mask_offset(b);
    const int64_t last_row = min(total_rows, r0 + kPrefillRows) - 1;
    lo = p.key_begin(r0 / group, off);
    hi = p.key_end(last_row / group, off, p.seq_len_kv(b));
  }
  __device__ __forceinline__ bool empty() const { return r0 >= total_rows; }
};

// One packed query row of a tile. A row past the sequence's rows borrows the tile's first row for its head and
// position, so its loads stay in bounds; it is masked out and never stored.
struct PackedRow {
  bool valid;
  int head;
  int64_t pos;

  // Packed row r0 + offset of the block.
  __device__ __forceinline__ PackedRow(const PrefillBlock& blk, int offset) {
    const int64_t row = blk.r0 + offset;
    valid = row < blk.total_rows;
    const int64_t r = valid ? row : blk.r0;
    head = blk.heads[r % blk.group];
    pos = r / blk.group;
  }
  __device__ __forceinline__ int64_t q_base(const KernelParams& p, int b) const {
    return b * p.q_stride[0] + (p.seq_start_q(b) + pos) * p.q_stride[1] + head * p.q_stride[2];
  }
  // Q elements of the row that are loaded (the rest read as zeros): none for a row past the end.
  __device__ __forceinline__ int q_len(const KernelParams& p) const { return valid ? p.head_dim : 0; }
};

// Q elements d and d + 1 of the row at q_base, packed (d in the low half); zeros past head_dim or for a row
// past the end.
__device__ __forceinline__ uint32_t load_q_pair(const KernelParams& p, const PackedRow& row, int64_t q_base, int d) {
  return load_pair(static_cast<const uint16_t*>(p.q) + q_base, p.q_stride[3], row.q_len(p), d);
}

// Reads keys [k0, k0 + kKeys) of one K or V head (g, b) as raw 16-bit values in 16-byte pieces of 8 dims, the
// block's threads sharing the pieces, and hands each to store(key - k0, d0, piece). Keys past k_end and dims past
// head_dim read as zeros (head_dim is a multiple of 8, so a piece is all in or all out).
template <int kKeys, int kHeadDim, int kThreads, typename Store>
__device__ __forceinline__ void load_kv_tile(const KernelParams& p, const void* base, const int64_t* stride, int b,
                                             int g, int64_t k0, int64_t k_end, Store store) {
  constexpr int kPieces = kHeadDim / 8;
  const uint16_t* src = static_cast<const uint16_t*>(base);
  for (int idx = threadIdx.x; idx < kKeys * kPieces; idx += kThreads) {
    const int r = idx / kPieces, d0 = (idx % kPieces) * 8;
    uint4 piece = make_uint4(0, 0, 0, 0);
    if (k0 + r < k_end && d0 < p.head_dim) {
      const int64_t row = p.kv_row(stride, b, k0 + r) + g * stride[2];
      if (p.kv_vectorized) {
        piece = *reinterpret_cast<const uint4*>(src + row + d0);
      } else {  // built from packed pairs (a union over the piece would put it in local memory)
        const auto pair = [&](int e) {
          return uint32_t(src[row + (d0 + e) * stride[3]]) | (uint32_t(src[row + (d0 + e + 1) * stride[3]]) << 16);
        };
        piece = make_uint4(pair(0), pair(2), pair(4), pair(6));
      }
    }
    store(r, d0, piece);
  }
}

// Score in log2 units of the raw dot product q_i . k_j, or -inf where it does not count: a row past the end, a
// key past the tile's key range end hi, or a key outside the causal/window band.
__device__ __forceinline__ float masked_score(const KernelParams& p, float dot, const PackedRow& row, int64_t j,
                                              int64_t hi, int64_t off) {
  return row.valid && j < hi && p.key_allowed(row.pos, j, off) ? p.score_log2(dot) : -INFINITY;
}

// Online-softmax state of one row as one lane holds it: running max m (log2 units, -inf while nothing was seen)
// and the lane's part of the running sum l of exp2(s - m).
struct OnlineRow {
  float m = -INFINITY;
  float l = 0.f;
  float m_use = 0.f;  // the max the current tile's weights are taken against

  // Moves to the new running max (of m and the tile's scores, over every lane holding the row); returns the
  // factor the row's accumulator must be multiplied by.
  __device__ __forceinline__ float advance(float new_max) {
    m_use = new_max == -INFINITY ? 0.f : new_max;  // a row with nothing allowed yet stays all zeros
    const float corr = exp2f(m - m_use);
    m = new_max;
    l *= corr;
    return corr;
  }
  // The weight exp2(s - m) of score s, added to the sum.
  __device__ __forceinline__ float weight(float s) {
    const float w = exp2f(s - m_use);
    l += w;
    return w;
  }
};

// The final normalisation of one valid row (sink, 1 / l, LSE) and its output stores.
class RowEpilogue {
 public:
  // m: the row's running max; l: its full sum (every lane's part added).
  __device__ __forceinline__ RowEpilogue(const KernelParams& p, int b, const PackedRow& row, float m, float l)
      : p_(p), b_(b), row_(row), fin_(finish_row(p, row.head, m, l)), out_row_(out_row(p, b, row.pos, row.head)) {}
  // Output element d from the unnormalised accumulator; dims past head_dim (the tile's padding) are not stored.
  __device__ __forceinline__ void store(int d, float acc) const {
    if (d < p_.head_dim) store_output(p_.out, p_.out_dtype, out_row_ + d * p_.out_stride[3], acc * fin_.out_scale);
  }
  __device__ __forceinline__ void store_lse() const { gpu::store_lse(p_, b_, row_.pos, row_.head, fin_.lse); }

 private:
  const KernelParams& p_;
  int b_;
  const PackedRow& row_;
  RowFinish fin_;
  int64_t out_row_;
};

}  // namespace gpu
}  // namespace gqa
