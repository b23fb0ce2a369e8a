// Split-KV attention on CUDA cores: the decode kernel (few query rows, long KV), and the generic path for
// everything the matrix-core prefill does not take (f32, head dim 512).
//
// Block (row tile, KV head g x split, batch b): up to kRows packed query rows of group g (all the query heads
// reading KV head g, so each K/V byte is loaded once per group) against the keys of one split. Lanes are grouped
// kLanesPerKey to a key row, each lane holding 16-byte pieces of it; a warp thus streams kKeysPerWarp rows per
// step with 16-byte loads. Each key group keeps its own online-softmax state; the states are merged across the
// warp by shuffles and across warps through shared memory. With one split the block writes the output; with more
// it writes unnormalised partials that combine_splits merges.
#include "gpu/launch.h"

namespace gqa {
namespace gpu {
namespace {

// Head-dim tiles: a kernel compiled for tile kTile serves every head dim up to kTile (masking the rest), so the
// number of instantiations stays bounded whatever head dims callers use.
#define GQA_DISPATCH_HEAD_DIM_TILE(head_dim, ...)   \
  if ((head_dim) <= 64) {                           \
    constexpr int kTile = 64;                       \
    __VA_ARGS__                                     \
  } else if ((head_dim) <= 128) {                   \
    constexpr int kTile = 128;                      \
    __VA_ARGS__                                     \
  } else if ((head_dim) <= 256) {                   \
    constexpr int kTile = 256;                      \
    __VA_ARGS__                                     \
  } else {                                          \
    constexpr int kTile = 512;                      \
    __VA_ARGS__                                     \
  }

constexpr int kDecodeThreads = 4 * kWarpSize;

template <typename T, int kHeadDim>
struct DecodeTile {
  static constexpr int kVec = 16 / int(sizeof(T));  // elements per 16-byte load
  static constexpr int kLanesPerKey = kHeadDim / kVec < kWarpSize ? kHeadDim / kVec : kWarpSize;
  static constexpr int kChunks = kHeadDim / (kVec * kLanesPerKey);  // 16-byte pieces per lane per row
  static constexpr int kDimsPerLane = kChunks * kVec;
  static constexpr int kKeysPerWarp = kWarpSize / kLanesPerKey;
  static constexpr int kThreads = kDecodeThreads;
  static constexpr int kWarps = kThreads / kWarpSize;
  static constexpr int kKeyGroups = kWarps * kKeysPerWarp;
  static constexpr int kRows = kHeadDim <= 256 ? 8 : 4;  // keeps registers and the merge buffer bounded
  static constexpr int kUnroll = 2;                       // key rows in flight per key group
};

// Dimension of element e of a lane's row piece.
template <typename Tile>
__device__ __forceinline__ int lane_dim(int lane_in_key, int e) {
  return ((e / Tile::kVec) * Tile::kLanesPerKey + lane_in_key) * Tile::kVec + e % Tile::kVec;
}

// Loads the lane's pieces of one K or V row (zeros past head_dim).
template <typename T, typename Tile>
__device__ __forceinline__ void load_kv_piece(const KernelParams& p, const void* base, const int64_t* stride,
                                              int64_t row, int lane_in_key, float (&x)[Tile::kDimsPerLane]) {
#pragma unroll
  for (int c = 0; c < Tile::kChunks; ++c) {
    const int d0 = (c * Tile::kLanesPerKey + lane_in_key) * Tile::kVec;
    if (d0 >= p.head_dim) {  // head_dim is a multiple of 8, so a piece is all in or all out
#pragma unroll
      for (int e = 0; e < Tile::kVec; ++e) x[c * Tile::kVec + e] = 0.f;
    } else if (p.kv_vectorized) {
      union {
        uint4 raw;
        T elem[Tile::kVec];
      } piece;
      piece.raw = *reinterpret_cast<const uint4*>(static_cast<const T*>(base) + row + d0);
#pragma unroll
      for (int e = 0; e < Tile::kVec; ++e) x[c * Tile::kVec + e] = to_float(piece.elem[e]);
    } else {
#pragma unroll
      for (int e = 0; e < Tile::kVec; ++e) x[c * Tile::kVec + e] = load_element<T>(base, row + (d0 + e) * stride[3]);
    }
  }
}

// Merges online-softmax state (m2, l2, acc2) into (m, l, acc).
template <int N>
__device__ __forceinline__ void merge_state(float& m, float& l, float (&acc)[N], float m2, float l2,
                                            const float (&acc2)[N]) {
  const float mx = fmaxf(m, m2);
  if (mx == -INFINITY) return;
  const float a = exp2f(m - mx), b = exp2f(m2 - mx);
  l = l * a + l2 * b;
#pragma unroll
  for (int e = 0; e < N; ++e) acc[e] = acc[e] * a + acc2[e] * b;
  m = mx;
}

template <typename T, int kHeadDim>
__global__ void __launch_bounds__(kDecodeThreads) decode_kernel(const KernelParams p) {
  using Tile = DecodeTile<T, kHeadDim>;
  constexpr int kRows = Tile::kRows, kDims = Tile::kDimsPerLane;
  const int g = blockIdx.y % p.heads_kv, split = blockIdx.y / p.heads_kv, b = blockIdx.z;
  const int group = p.group_offsets[g + 1] - p.group_offsets[g];
  const int32_t* heads = p.group_heads + p.group_offsets[g];
  const int64_t sq = p.seq_len_q(b), skv = p.seq_len_kv(b);
  const int64_t r0 = int64_t(blockIdx.x) * kRows;
  if (r0 >= sq * group) return;  // uniform per block: past this group's rows (groups differ in size)
  const int rows = int(sq * group - r0 < kRows ? sq * group - r0 : kRows);
  const int64_t off = p.mask_offset(b);

  // This split's share of the keys the tile's query positions may see.
  const int64_t lo = p.key_begin(r0 / group, off);
  const int64_t hi = max(lo, p.key_end((r0 + rows - 1) / group, off, skv));
  const int64_t per_split = (hi - lo + p.num_splits - 1) / p.num_splits;
  const int64_t k_lo = min(hi, lo + split * per_split), k_hi = min(hi, k_lo + per_split);

  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  const int lane_in_key = lane % Tile::kLanesPerKey;
  const int key_group = warp * Tile::kKeysPerWarp + lane / Tile::kLanesPerKey;

  int row_head[kRows];
  int64_t row_pos[kRows];
  float q[kRows][kDims];
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    const int64_t pr = r0 + (r < rows ? r : 0);
    row_head[r] = heads[pr % group];
    row_pos[r] = pr / group;
    const int64_t base = b * p.q_stride[0] + (p.seq_start_q(b) + row_pos[r]) * p.q_stride[1] +
                         row_head[r] * p.q_stride[2];
#pragma unroll
    for (int e = 0; e < kDims; ++e) {
      const int d = lane_dim<Tile>(lane_in_key, e);
      q[r][e] = d < p.head_dim ? load_element<T>(p.q, base + d * p.q_stride[3]) : 0.f;
    }
  }

  float m[kRows], l[kRows], acc[kRows][kDims];
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    m[r] = -INFINITY;
    l[r] = 0.f;
#pragma unroll
    for (int e = 0; e < kDims; ++e) acc[r][e] = 0.f;
  }

  // The loop bound is uniform across the block so every lane reaches the shuffles.
  for (int64_t base = k_lo; base < k_hi; base += Tile::kKeyGroups * Tile::kUnroll) {
    float kx[Tile::kUnroll][kDims], vx[Tile::kUnroll][kDims];
    int64_t key[Tile::kUnroll];
#pragma unroll
    for (int u = 0; u < Tile::kUnroll; ++u) {
      key[u] = base + u * Tile::kKeyGroups + key_group;
      if (key[u] < k_hi) {
        load_kv_piece<T, Tile>(p, p.k, p.k_stride, p.kv_row(p.k_stride, b, key[u]) + g * p.k_stride[2], lane_in_key,
                               kx[u]);
        load_kv_piece<T, Tile>(p, p.v, p.v_stride, p.kv_row(p.v_stride, b, key[u]) + g * p.v_stride[2], lane_in_key,
                               vx[u]);
      } else {
#pragma unroll
        for (int e = 0; e < kDims; ++e) kx[u][e] = vx[u][e] = 0.f;
      }
    }
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      float s[Tile::kUnroll];
      float mx = m[r];
#pragma unroll
      for (int u = 0; u < Tile::kUnroll; ++u) {
        float dot = 0.f;
#pragma unroll
        for (int e = 0; e < kDims; ++e) dot = fmaf(q[r][e], kx[u][e], dot);
        dot = group_sum(dot, Tile::kLanesPerKey);
        const bool ok = r < rows && key[u] < k_hi && p.key_allowed(row_pos[r], key[u], off);
        s[u] = ok ? p.score_log2(dot) : -INFINITY;
        mx = fmaxf(mx, s[u]);
      }
      if (mx == -INFINITY) continue;
      const float corr = exp2f(m[r] - mx);
      l[r] *= corr;
#pragma unroll
      for (int e = 0; e < kDims; ++e) acc[r][e] *= corr;
#pragma unroll
      for (int u = 0; u < Tile::kUnroll; ++u) {
        const float pu = exp2f(s[u] - mx);
        l[r] += pu;
#pragma unroll
        for (int e = 0; e < kDims; ++e) acc[r][e] = fmaf(pu, vx[u][e], acc[r][e]);
      }
      m[r] = mx;
    }
  }

  // Merge the key groups of each warp: lanes with the same lane_in_key hold the same dims.
#pragma unroll
  for (int mask = Tile::kLanesPerKey; mask < kWarpSize; mask *= 2) {
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      float other[kDims];
#pragma unroll
      for (int e = 0; e < kDims; ++e) other[e] = shfl_xor(acc[r][e], mask);
      const float m2 = shfl_xor(m[r], mask), l2 = shfl_xor(l[r], mask);
      merge_state(m[r], l[r], acc[r], m2, l2, other);
    }
  }

  // Merge the warps through shared memory, then each thread finishes (row, dim) elements.
  __shared__ float warp_acc[Tile::kWarps][kRows][kHeadDim];
  __shared__ float warp_ml[Tile::kWarps][kRows][2];
  if (lane < Tile::kLanesPerKey) {
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
#pragma unroll
      for (int e = 0; e < kDims; ++e) warp_acc[warp][r][lane_dim<Tile>(lane_in_key, e)] = acc[r][e];
      if (lane == 0) {
        warp_ml[warp][r][0] = m[r];
        warp_ml[warp][r][1] = l[r];
      }
    }
  }
  __syncthreads();
  for (int idx = threadIdx.x; idx < rows * kHeadDim; idx += Tile::kThreads) {
    const int r = idx / kHeadDim, d = idx % kHeadDim;
    if (d >= p.head_dim) continue;
    float mr = -INFINITY;
    for (int w = 0; w < Tile::kWarps; ++w) mr = fmaxf(mr, warp_ml[w][r][0]);
    float lr = 0.f, o = 0.f;
    if (mr != -INFINITY) {
      for (int w = 0; w < Tile::kWarps; ++w) {
        const float f = exp2f(warp_ml[w][r][0] - mr);
        lr += warp_ml[w][r][1] * f;
        o += warp_acc[w][r][d] * f;
      }
    }
    const int h = heads[(r0 + r) % group];
    const int64_t i = (r0 + r) / group;
    if (p.num_splits == 1) {
      const RowFinish fin = finish_row(p, h, mr, lr);
      store_output(p.out, p.out_dtype, out_row(p, b, i, h) + d * p.out_stride[3], o * fin.out_scale);
      if (d == 0) store_lse(p, b, i, h, fin.lse);
    } else {
      const int64_t slot = p.partial_row(b, i, h) * p.num_splits + split;
      p.part_o[slot * p.head_dim + d] = o;
      if (d == 0) {
        p.part_ml[slot * 2] = mr;
        p.part_ml[slot * 2 + 1] = lr;
      }
    }
  }
}

// One block per output row (b, i, h): merges the num_splits partials and writes the output and LSE.
__global__ void combine_splits_kernel(const KernelParams p) {
  const int b = blockIdx.y;
  const int64_t i = blockIdx.x / p.heads_q;
  const int h = blockIdx.x % p.heads_q;
  if (i >= p.seq_len_q(b)) return;
  const int64_t first = p.partial_row(b, i, h) * p.num_splits;
  float m = -INFINITY;
  for (int s = 0; s < p.num_splits; ++s) m = fmaxf(m, p.part_ml[(first + s) * 2]);
  float l = 0.f;
  if (m != -INFINITY)
    for (int s = 0; s < p.num_splits; ++s) l += p.part_ml[(first + s) * 2 + 1] * exp2f(p.part_ml[(first + s) * 2] - m);
  const RowFinish fin = finish_row(p, h, m, l);
  for (int d = threadIdx.x; d < p.head_dim; d += blockDim.x) {
    float o = 0.f;
    if (m != -INFINITY)
      for (int s = 0; s < p.num_splits; ++s)
        o += p.part_o[(first + s) * p.head_dim + d] * exp2f(p.part_ml[(first + s) * 2] - m);
    store_output(p.out, p.out_dtype, out_row(p, b, i, h) + d * p.out_stride[3], o * fin.out_scale);
  }
  if (threadIdx.x == 0) store_lse(p, b, i, h, fin.lse);
}

template <typename T>
gpuError_t launch_typed(const KernelParams& p, int max_group, gpuStream_t stream) {
  GQA_DISPATCH_HEAD_DIM_TILE(p.head_dim, {
    using Tile = DecodeTile<T, kTile>;
    const int64_t row_tiles = (p.seqlen_q * max_group + Tile::kRows - 1) / Tile::kRows;
    const dim3 grid(unsigned(row_tiles), unsigned(p.heads_kv * p.num_splits), unsigned(p.batch));
    decode_kernel<T, kTile><<<grid, Tile::kThreads, 0, stream>>>(p);
  })
  gpuError_t e = gpuGetLastError();
  if (e != gpuSuccess || p.num_splits == 1) return e;
  combine_splits_kernel<<<dim3(unsigned(p.seqlen_q * p.heads_q), unsigned(p.batch)), 128, 0, stream>>>(p);
  return gpuGetLastError();
}

}  // namespace

int decode_rows_per_block(int head_dim) {
  GQA_DISPATCH_HEAD_DIM_TILE(head_dim, { return DecodeTile<float, kTile>::kRows; })
}

gpuError_t launch_decode(const KernelParams& p, DType dtype, int max_group, gpuStream_t stream) {
  switch (dtype) {
    case DType::F32: return launch_typed<float>(p, max_group, stream);
    case DType::BF16: return launch_typed<bf16_t>(p, max_group, stream);
    case DType::F16: return launch_typed<f16_t>(p, max_group, stream);
  }
  return gpuSuccess;
}

}  // namespace gpu
}  // namespace gqa
