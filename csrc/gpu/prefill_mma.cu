// Tensor-core prefill (CUDA sm_80+, bf16/f16): FlashAttention-2 style tiled online softmax on mma.sync m16n8k16.
//
// Block (row tile, KV head g, batch b): 64 packed query rows of group g (kernel_params.h), 16 per warp, held in
// registers as mma A fragments. K and V tiles of kKeys rows go through shared memory; S = Q K^T and O += P V run
// on tensor cores with f32 accumulation, the softmax in f32 registers (log2 units). P enters P V as a sum of 16-bit
// terms (p_split.h: three for bf16, two for f16), so that P V is accurate to about f32, not to the dtype. What is
// not specific to mma.sync is shared with the MFMA kernel (prefill_shared.h).
//
// Fragment layout of m16n8k16 (g = lane / 4, t = lane % 4): A regs hold (row g | g+8, cols 2t..2t+1 | +8);
// B regs hold (k = 2t..2t+1 | +8, n = g); C holds (row g | g+8, cols 2t, 2t+1).
#include "gpu/launch.h"
#include "gpu/prefill_shared.h"

namespace gqa {
namespace gpu {
namespace {

template <int kHeadDim>
struct MmaTile {
  static constexpr int kWarps = 4;
  static constexpr int kThreads = kWarps * kWarpSize;
  static_assert(16 * kWarps == kPrefillRows, "16 rows a warp");
  static constexpr int kKeys = kHeadDim <= 128 ? 64 : 32;  // K + V tiles stay under 48 KiB of shared memory
  static constexpr int kPitch = kHeadDim + 8;              // row pitch (16-bit elements): conflict-free ldmatrix
};

template <typename T>
__device__ __forceinline__ void mma_16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1);

template <>
__device__ __forceinline__ void mma_16816<bf16_t>(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

template <>
__device__ __forceinline__ void mma_16816<f16_t>(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// The A fragments of P for one k16 step as PSplit terms (p_split.h; the tail terms scaled by kTailScale): s0 and
// s1 are the S accumulators of key blocks 2kk and 2kk+1, which are exactly the A fragment of keys 16kk..16kk+15.
template <typename T>
__device__ __forceinline__ void split_p_fragment(const float (&s0)[4], const float (&s1)[4],
                                                 uint32_t (&terms)[PSplit<StorageType<T>::kDType>::kTerms][4]) {
  constexpr int kTerms = PSplit<StorageType<T>::kDType>::kTerms;
  const float x[8] = {s0[0], s0[1], s0[2], s0[3], s1[0], s1[1], s1[2], s1[3]};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    uint32_t pair_terms[kTerms];
    split_p_pair<StorageType<T>::kDType>(x[2 * i], x[2 * i + 1], pair_terms);
#pragma unroll
    for (int t = 0; t < kTerms; ++t) terms[t][i] = pair_terms[t];
  }
}

__device__ __forceinline__ uint32_t shared_address(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// B fragment of K^T from a row-major [key][dim] tile: lanes 0-7 address key rows at dims +0, lanes 8-15 at +8.
__device__ __forceinline__ void ldmatrix_x2(uint32_t& r0, uint32_t& r1, const uint16_t* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];\n" : "=r"(r0), "=r"(r1) : "r"(shared_address(p)));
}

// B fragment of V from a row-major [key][dim] tile (transposed load): lanes 0-15 address key rows 0-15.
__device__ __forceinline__ void ldmatrix_x2_trans(uint32_t& r0, uint32_t& r1, const uint16_t* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0,%1}, [%2];\n"
               : "=r"(r0), "=r"(r1)
               : "r"(shared_address(p)));
}

// Copies keys [k0, k0 + kKeys) of one K or V head into a row-major [key][dim] shared-memory tile.
template <int kHeadDim>
__device__ __forceinline__ void load_kv_tile(const KernelParams& p, const void* base, const int64_t* stride, int b,
                                             int g, int64_t k0, int64_t k_end,
                                             uint16_t (*tile)[MmaTile<kHeadDim>::kPitch]) {
  using Tile = MmaTile<kHeadDim>;
  load_kv_tile<Tile::kKeys, kHeadDim, Tile::kThreads>(
      p, base, stride, b, g, k0, k_end,
      [&](int r, int d0, uint4 piece) { *reinterpret_cast<uint4*>(&tile[r][d0]) = piece; });
}

template <typename T, int kHeadDim>
__global__ void __launch_bounds__(MmaTile<kHeadDim>::kThreads) prefill_mma_kernel(const KernelParams p) {
  using Tile = MmaTile<kHeadDim>;
  constexpr int kSteps = kHeadDim / 16;    // k16 steps over the head dim
  constexpr int kKeyBlocks = Tile::kKeys / 8;
  constexpr int kDimBlocks = kHeadDim / 8;
  __shared__ __align__(16) uint16_t k_tile[Tile::kKeys][Tile::kPitch];
  __shared__ __align__(16) uint16_t v_tile[Tile::kKeys][Tile::kPitch];

  const PrefillBlock blk(p);
  if (blk.empty()) return;  // uniform per block

  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  const int lg = lane / 4, lt = lane % 4;

  // This thread's two rows: lg and lg + 8 of the warp's 16.
  const PackedRow rows[2] = {PackedRow(blk, warp * 16 + lg), PackedRow(blk, warp * 16 + lg + 8)};
  uint32_t qa[kSteps][4];
#pragma unroll
  for (int rr = 0; rr < 2; ++rr) {
    const int64_t base = rows[rr].q_base(p, blk.b);
#pragma unroll
    for (int kk = 0; kk < kSteps; ++kk) {
#pragma unroll
      for (int half = 0; half < 2; ++half) qa[kk][half * 2 + rr] = load_q_pair(p, rows[rr], base, kk * 16 + half * 8 + 2 * lt);
    }
  }

  float o[kDimBlocks][4];
#pragma unroll
  for (int nd = 0; nd < kDimBlocks; ++nd) o[nd][0] = o[nd][1] = o[nd][2] = o[nd][3] = 0.f;
  OnlineRow state[2];

  for (int64_t k0 = blk.lo; k0 < blk.hi; k0 += Tile::kKeys) {
    __syncthreads();  // the previous tiles are consumed
    load_kv_tile<kHeadDim>(p, p.k, p.k_stride, blk.b, blk.g_kv, k0, blk.hi, k_tile);
    load_kv_tile<kHeadDim>(p, p.v, p.v_stride, blk.b, blk.g_kv, k0, blk.hi, v_tile);
    __syncthreads();

    float s[kKeyBlocks][4];
#pragma unroll
    for (int nb = 0; nb < kKeyBlocks; ++nb) {
      s[nb][0] = s[nb][1] = s[nb][2] = s[nb][3] = 0.f;
#pragma unroll
      for (int kk = 0; kk < kSteps; ++kk) {
        uint32_t b0, b1;
        ldmatrix_x2(b0, b1, &k_tile[nb * 8 + lane % 8][kk * 16 + (lane / 8) % 2 * 8]);
        mma_16816<T>(s[nb], qa[kk], b0, b1);
      }
    }

    // Scale, softcap and mask, then the online softmax of the thread's two rows (a row spans a lane quad).
#pragma unroll
    for (int rr = 0; rr < 2; ++rr) {
      float mx = state[rr].m;
#pragma unroll
      for (int nb = 0; nb < kKeyBlocks; ++nb) {
#pragma unroll
        for (int c = 0; c < 2; ++c) {
          float& x = s[nb][rr * 2 + c];
          x = masked_score(p, x, rows[rr], k0 + nb * 8 + 2 * lt + c, blk.hi, blk.off);
          mx = fmaxf(mx, x);
        }
      }
      const float corr = state[rr].advance(group_max(mx, 4));
#pragma unroll
      for (int nd = 0; nd < kDimBlocks; ++nd) {
        o[nd][rr * 2] *= corr;
        o[nd][rr * 2 + 1] *= corr;
      }
#pragma unroll
      for (int nb = 0; nb < kKeyBlocks; ++nb) {
#pragma unroll
        for (int c = 0; c < 2; ++c) s[nb][rr * 2 + c] = state[rr].weight(s[nb][rr * 2 + c]);
      }
    }

    // O += P V, term by term (split_p_fragment): the first into O, the tail terms of the whole tile into o_tail
    // per dim block, which then goes into O once, unscaled.
    using Split = PSplit<StorageType<T>::kDType>;
    constexpr int kKeySteps = Tile::kKeys / 16;
    uint32_t p_terms[kKeySteps][Split::kTerms][4];
#pragma unroll
    for (int kk = 0; kk < kKeySteps; ++kk) split_p_fragment<T>(s[2 * kk], s[2 * kk + 1], p_terms[kk]);
#pragma unroll
    for (int nd = 0; nd < kDimBlocks; ++nd) {
      float o_tail[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll
      for (int kk = 0; kk < kKeySteps; ++kk) {
        uint32_t b0, b1;
        ldmatrix_x2_trans(b0, b1, &v_tile[kk * 16 + lane % 16][nd * 8]);
        mma_16816<T>(o[nd], p_terms[kk][0], b0, b1);
#pragma unroll
        for (int t = 1; t < Split::kTerms; ++t) mma_16816<T>(o_tail, p_terms[kk][t], b0, b1);
      }
#pragma unroll
      for (int i = 0; i < 4; ++i) o[nd][i] += o_tail[i] * (1.f / Split::kTailScale);
    }
  }

#pragma unroll
  for (int rr = 0; rr < 2; ++rr) {
    const float lsum = group_sum(state[rr].l, 4);
    if (!rows[rr].valid) continue;
    const RowEpilogue out(p, blk.b, rows[rr], state[rr].m, lsum);
#pragma unroll
    for (int nd = 0; nd < kDimBlocks; ++nd) {
#pragma unroll
      for (int c = 0; c < 2; ++c) out.store(nd * 8 + 2 * lt + c, o[nd][rr * 2 + c]);
    }
    if (lt == 0) out.store_lse();
  }
}

}  // namespace

gpuError_t launch_prefill_matrix(const KernelParams& p, DType dtype, int max_group, gpuStream_t stream) {
  return dispatch_prefill(dtype, p.head_dim, [&](auto type, auto head_dim) {
    using T = decltype(type);
    constexpr int kHeadDim = decltype(head_dim)::value;
    prefill_mma_kernel<T, kHeadDim><<<prefill_grid(p, max_group), MmaTile<kHeadDim>::kThreads, 0, stream>>>(p);
    return gpuGetLastError();
  });
}

}  // namespace gpu
}  // namespace gqa
