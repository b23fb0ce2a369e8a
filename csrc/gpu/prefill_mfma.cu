// MFMA prefill (HIP on AMD CDNA: gfx90a, gfx940-942, gfx950; bf16/f16 inputs): the contract of prefill_mma.cu (same
// KernelParams, features and P-splitting accuracy scheme) on the matrix cores of AMD parts, FlashAttention-2 style.
//
// Block (row tile, KV head g, batch b): kPrefillRows packed query rows of group g (kernel_params.h), 16 per 64-lane
// wavefront. K tiles ([key][dim]) and V tiles (transposed, [dim][key]) of kKeys keys go through shared memory.
// Each wavefront computes its products transposed with v_mfma_f32_16x16x16 (mfma_layout.h), so that every lane
// works for one query row throughout: S^T = K Q^T (Q^T held in registers), the softmax in f32 registers (log2
// units; a row's 16 keys of a block sit in 4 lanes x 4 registers), then O^T += V^T P^T with P^T taken straight
// from the S^T accumulators as a sum of 16-bit terms (p_split.h: three for bf16, two for f16, so P V is accurate
// to about f32). Loads, masking, the online-softmax step and the epilogue are prefill_shared.h's, as for CUDA.
//
// Checked here: every lane mapping this kernel takes from mfma_layout.h (and load_pair, p_split.h), by
// test/native/mfma_layout_check.cpp (part of `npm test`), which calls the same functions: the K and V^T operand
// loads, the Q^T gather (gather_operand), the V^T tile built by the store below (store_transposed), P^T from the
// S^T accumulators and its split, run through an emulation of the instructions written from AMD's documented
// layouts and compared with plain matrix products; the line_max / line_sum partner lanes (line_xor), emulated over
// 64 lanes; and the choice of the one lane per row that stores the LSE (stores_line_lse). Also that hipcc 5.2.3
// compiles this file for gfx90a and gfx940. Not checked: the glue in this file around those calls (which row a lane
// takes, tile offsets, the shuffles themselves), load_kv_tile, the masking and softmax steps, the epilogue. NOT yet
// run on an AMD GPU: the first run on one is `gqa_selftest --backend rocm` (built with -DGQA_BUILD_TOOLS=ON), whose
// bf16/f16 prefill cases take this kernel.
#include <type_traits>

#include "gpu/launch.h"
#include "gpu/mfma_layout.h"
#include "gpu/prefill_shared.h"

#if defined(__HIP_DEVICE_COMPILE__)
// gfx950 (CDNA4) is allowed on the understanding that it keeps CDNA3's 16x16x16 instructions and layouts; it needs
// a ROCm 6.4 or later hipcc and has never been compiled for here (a toolchain without the builtins fails the build).
#if !(defined(__gfx90a__) || defined(__gfx940__) || defined(__gfx941__) || defined(__gfx942__) || defined(__gfx950__))
#error "prefill_mfma.cu needs MFMA (AMD CDNA: gfx90a, gfx940, gfx941, gfx942, gfx950); set GQA_HIP_ARCHS to those"
#endif
#if __AMDGCN_WAVEFRONT_SIZE != 64
#error "prefill_mfma.cu assumes 64-lane wavefronts"
#endif
#endif

namespace gqa {
namespace gpu {
namespace {

constexpr int kWave = mfma::kWaveLanes;

template <int kHeadDim>
struct MfmaTile {
  static constexpr int kWaves = 4;
  static constexpr int kThreads = kWaves * kWave;
  static_assert(mfma::kTile * kWaves == kPrefillRows, "16 rows a wavefront");
  static constexpr int kKeys = kHeadDim <= 128 ? 64 : 32;  // K + V^T tiles stay under 40 KiB of shared memory
  // Row pitches (16-bit elements): rows 8-byte aligned for the operand reads, and the 16 rows one operand read
  // touches fall on distinct 8-byte bank pairs.
  static constexpr int kKPitch = kHeadDim + 4;
  static constexpr int kVPitch = kKeys + 4;
};

typedef short short4_t __attribute__((ext_vector_type(4)));
typedef _Float16 half4_t __attribute__((ext_vector_type(4)));
typedef float float4_t __attribute__((ext_vector_type(4)));

// An operand's four 16-bit items as the builtin's vector type.
template <typename Vector>
__device__ __forceinline__ Vector as_vector(const mfma::Operand& x) {
  Vector v;
  __builtin_memcpy(&v, &x, sizeof(v));
  return v;
}

// c += a b on one 16x16x16 block (the builtins take srcA, srcB, srcC, then cbsz, abid, blgp, all 0 here).
template <typename T>
__device__ __forceinline__ void mfma_16x16x16(float (&c)[4], const mfma::Operand& a, const mfma::Operand& b) {
  float4_t acc = {c[0], c[1], c[2], c[3]};
  if constexpr (std::is_same<T, bf16_t>::value)
    acc = __builtin_amdgcn_mfma_f32_16x16x16bf16_1k(as_vector<short4_t>(a), as_vector<short4_t>(b), acc, 0, 0, 0);
  else
    acc = __builtin_amdgcn_mfma_f32_16x16x16f16(as_vector<half4_t>(a), as_vector<half4_t>(b), acc, 0, 0, 0);
  c[0] = acc[0], c[1] = acc[1], c[2] = acc[2], c[3] = acc[3];
}

// Max and sum over the 4 lanes that hold one line (lanes l, l ^ 16, l ^ 32, l ^ 48 of the wavefront).
__device__ __forceinline__ float line_max(float v) {
#pragma unroll
  for (int step = 0; step < mfma::kLineSteps; ++step) v = fmaxf(v, __shfl_xor(v, mfma::line_xor(step), kWave));
  return v;
}
__device__ __forceinline__ float line_sum(float v) {
#pragma unroll
  for (int step = 0; step < mfma::kLineSteps; ++step) v += __shfl_xor(v, mfma::line_xor(step), kWave);
  return v;
}

template <typename T, int kHeadDim>
__global__ void __launch_bounds__(MfmaTile<kHeadDim>::kThreads) prefill_mfma_kernel(const KernelParams p) {
  using Tile = MfmaTile<kHeadDim>;
  using Split = PSplit<StorageType<T>::kDType>;
  constexpr int kDimBlocks = kHeadDim / 16;     // k steps of S^T, row blocks of O^T
  constexpr int kKeyBlocks = Tile::kKeys / 16;  // row blocks of S^T, k steps of O^T
  __shared__ __align__(16) uint16_t k_tile[Tile::kKeys][Tile::kKPitch];
  __shared__ __align__(16) uint16_t v_tile[kHeadDim][Tile::kVPitch];  // V^T

  const PrefillBlock blk(p);
  if (blk.empty()) return;  // uniform per block

  const int lane = threadIdx.x % kWave, wave = threadIdx.x / kWave;
  const PackedRow row(blk, wave * 16 + mfma::lane_line(lane));

  // Q^T as the B operand of S^T, one per 16 dims.
  mfma::Operand qb[kDimBlocks];
  const uint16_t* q_row = static_cast<const uint16_t*>(p.q) + row.q_base(p, blk.b);
#pragma unroll
  for (int kk = 0; kk < kDimBlocks; ++kk)
    qb[kk] = mfma::gather_operand(lane, q_row, p.q_stride[3], row.q_len(p), kk * 16);

  float o[kDimBlocks][mfma::kAccRegs];  // O^T: register r of block nd is dim nd * 16 + acc_row(lane, r)
#pragma unroll
  for (int nd = 0; nd < kDimBlocks; ++nd) o[nd][0] = o[nd][1] = o[nd][2] = o[nd][3] = 0.f;
  OnlineRow state;

  for (int64_t k0 = blk.lo; k0 < blk.hi; k0 += Tile::kKeys) {
    __syncthreads();  // the previous tiles are consumed
    load_kv_tile<Tile::kKeys, kHeadDim, Tile::kThreads>(p, p.k, p.k_stride, blk.b, blk.g_kv, k0, blk.hi,
                                                        [&](int r, int d0, uint4 piece) {
                                                          uint2* dst = reinterpret_cast<uint2*>(&k_tile[r][d0]);
                                                          dst[0] = make_uint2(piece.x, piece.y);
                                                          dst[1] = make_uint2(piece.z, piece.w);
                                                        });
    load_kv_tile<Tile::kKeys, kHeadDim, Tile::kThreads>(p, p.v, p.v_stride, blk.b, blk.g_kv, k0, blk.hi,
                                                        [&](int r, int d0, uint4 piece) {
                                                          const uint32_t w[4] = {piece.x, piece.y, piece.z, piece.w};
                                                          mfma::store_transposed(v_tile[0], Tile::kVPitch, r, d0, w);
                                                        });
    __syncthreads();

    // S^T: register r of block nb is key k0 + nb * 16 + acc_row(lane, r).
    float s[kKeyBlocks][mfma::kAccRegs];
#pragma unroll
    for (int nb = 0; nb < kKeyBlocks; ++nb) {
      s[nb][0] = s[nb][1] = s[nb][2] = s[nb][3] = 0.f;
#pragma unroll
      for (int kk = 0; kk < kDimBlocks; ++kk)
        mfma_16x16x16<T>(s[nb], mfma::load_operand(&k_tile[nb * 16][kk * 16], Tile::kKPitch, lane), qb[kk]);
    }

    // Scale, softcap and mask, then the online softmax of the lane's row.
    float mx = state.m;
#pragma unroll
    for (int nb = 0; nb < kKeyBlocks; ++nb) {
#pragma unroll
      for (int r = 0; r < mfma::kAccRegs; ++r) {
        s[nb][r] = masked_score(p, s[nb][r], row, k0 + nb * 16 + mfma::acc_row(lane, r), blk.hi, blk.off);
        mx = fmaxf(mx, s[nb][r]);
      }
    }
    const float corr = state.advance(line_max(mx));
#pragma unroll
    for (int nd = 0; nd < kDimBlocks; ++nd) {
#pragma unroll
      for (int r = 0; r < mfma::kAccRegs; ++r) o[nd][r] *= corr;
    }
#pragma unroll
    for (int nb = 0; nb < kKeyBlocks; ++nb) {
#pragma unroll
      for (int r = 0; r < mfma::kAccRegs; ++r) s[nb][r] = state.weight(s[nb][r]);
    }

    // O^T += V^T P^T, term by term: the first into O, the tail terms of the whole tile into o_tail per dim block,
    // which then goes into O once, unscaled.
    mfma::Operand p_terms[kKeyBlocks][Split::kTerms];
#pragma unroll
    for (int kk = 0; kk < kKeyBlocks; ++kk) mfma::split_p_operand<StorageType<T>::kDType>(s[kk], p_terms[kk]);
#pragma unroll
    for (int nd = 0; nd < kDimBlocks; ++nd) {
      float o_tail[mfma::kAccRegs] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll
      for (int kk = 0; kk < kKeyBlocks; ++kk) {
        const mfma::Operand va = mfma::load_operand(&v_tile[nd * 16][kk * 16], Tile::kVPitch, lane);
        mfma_16x16x16<T>(o[nd], va, p_terms[kk][0]);
#pragma unroll
        for (int t = 1; t < Split::kTerms; ++t) mfma_16x16x16<T>(o_tail, va, p_terms[kk][t]);
      }
#pragma unroll
      for (int r = 0; r < mfma::kAccRegs; ++r) o[nd][r] += o_tail[r] * (1.f / Split::kTailScale);
    }
  }

  const float lsum = line_sum(state.l);
  if (!row.valid) return;
  const RowEpilogue out(p, blk.b, row, state.m, lsum);
#pragma unroll
  for (int nd = 0; nd < kDimBlocks; ++nd) {
#pragma unroll
    for (int r = 0; r < mfma::kAccRegs; ++r) out.store(nd * 16 + mfma::acc_row(lane, r), o[nd][r]);
  }
  if (mfma::stores_line_lse(lane)) out.store_lse();
}

}  // namespace

gpuError_t launch_prefill_matrix(const KernelParams& p, DType dtype, int max_group, gpuStream_t stream) {
  return dispatch_prefill(dtype, p.head_dim, [&](auto type, auto head_dim) {
    using T = decltype(type);
    constexpr int kHeadDim = decltype(head_dim)::value;
    prefill_mfma_kernel<T, kHeadDim><<<prefill_grid(p, max_group), MfmaTile<kHeadDim>::kThreads, 0, stream>>>(p);
    return gpuGetLastError();
  });
}

}  // namespace gpu
}  // namespace gqa
