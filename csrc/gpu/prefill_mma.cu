// Tensor-core prefill (CUDA sm_80+, bf16/f16): FlashAttention-2 style tiled online softmax on mma.sync m16n8k16.
//
// Block (row tile, KV head g, batch b): 64 packed query rows of group g (kernel_params.h), 16 per warp, held in
// registers as mma A fragments. K and V tiles of kKeys rows go through shared memory; S = Q K^T and O += P V run
// on tensor cores with f32 accumulation, the softmax in f32 registers (log2 units). P enters P V as a sum of 16-bit
// terms (split_p_fragment: three for bf16, two for f16), so that P V is accurate to about f32, not to the dtype.
//
// Fragment layout of m16n8k16 (g = lane / 4, t = lane % 4): A regs hold (row g | g+8, cols 2t..2t+1 | +8);
// B regs hold (k = 2t..2t+1 | +8, n = g); C holds (row g | g+8, cols 2t, 2t+1).
#include "gpu/launch.h"

namespace gqa {
namespace gpu {
namespace {

template <int kHeadDim>
struct MmaTile {
  static constexpr int kWarps = 4;
  static constexpr int kThreads = kWarps * kWarpSize;
  static constexpr int kRows = 16 * kWarps;
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

// Two floats to a packed pair of T, round-to-nearest-even; lo goes to the low half.
template <typename T>
__device__ __forceinline__ uint32_t pack_pair(float lo, float hi);

template <>
__device__ __forceinline__ uint32_t pack_pair<bf16_t>(float lo, float hi) {
  uint32_t r;
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}

template <>
__device__ __forceinline__ uint32_t pack_pair<f16_t>(float lo, float hi) {
  uint32_t r;
  asm("cvt.rn.f16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}

// A packed pair of T back to two floats (exact); the low half goes to lo.
template <typename T>
__device__ __forceinline__ void unpack_pair(uint32_t r, float& lo, float& hi);

template <>
__device__ __forceinline__ void unpack_pair<bf16_t>(uint32_t r, float& lo, float& hi) {
  lo = __uint_as_float(r << 16);
  hi = __uint_as_float(r & 0xffff0000u);
}

template <>
__device__ __forceinline__ void unpack_pair<f16_t>(uint32_t r, float& lo, float& hi) {
  asm("{\n.reg .b16 l, h;\nmov.b32 {l, h}, %2;\ncvt.f32.f16 %0, l;\ncvt.f32.f16 %1, h;\n}\n" : "=f"(lo), "=f"(hi) : "r"(r));
}

// Why P is split. Rounding P to the input dtype before P V (what FlashAttention-2 does) gives every weight a
// relative error up to 2^-8 in bf16. With an f32 output that is orders of magnitude above the error of the f32-math
// reference that the parity check measures against the float64 golden (docs/parity.md: the `p-bf16` fault class,
// caught by the bf16-in/f32-out cases). So P is written as a sum of terms in T, each the rounding of what the
// terms before it left (the remainders are exact in f32), and every term is multiplied by V on the tensor cores
// with f32 accumulation. V is already in T, so the only new error is the last term's rounding.
//
// bf16 keeps 8 significant bits a term: two terms leave |error| up to 2^-16 P, which on short causal rows with
// |V| ~ 3 reaches the parity check's 1e-5 floor for f32 outputs (checked in simulation), so bf16 takes three
// (|error| <= 2^-24 P, as good as P's own f32 rounding). f16 keeps 11 bits, so two terms do (2^-22 P), but not
// its range: P is in [0, 1] and the tail |P - hi| <= min(2^-11 P, 2^-12) lies below f16's smallest normal (2^-14)
// for every P, and as a subnormal (spacing 2^-24) it would keep a few bits or none. The tail is therefore scaled
// by 2^24 before the conversion (<= 2^12: no overflow; normal down to 2^-38), accumulated apart and multiplied back
// by 2^-24 (exact in f32): |error| <= 2^-22 P + 2^-49. bf16 has f32's exponent range: its tail needs no scale.
template <typename T>
struct PSplit;
template <>
struct PSplit<bf16_t> {
  static constexpr int kTerms = 3;
  static constexpr float kTailScale = 1.f;
};
template <>
struct PSplit<f16_t> {
  static constexpr int kTerms = 2;
  static constexpr float kTailScale = 0x1p24f;
};

// The A fragments of P for one k16 step as PSplit<T>::kTerms terms (the tail terms scaled by kTailScale): s0 and
// s1 are the S accumulators of key blocks 2kk and 2kk+1, which are exactly the A fragment of keys 16kk..16kk+15.
template <typename T>
__device__ __forceinline__ void split_p_fragment(const float (&s0)[4], const float (&s1)[4],
                                                 uint32_t (&terms)[PSplit<T>::kTerms][4]) {
  const float x[8] = {s0[0], s0[1], s0[2], s0[3], s1[0], s1[1], s1[2], s1[3]};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    float r0 = x[2 * i], r1 = x[2 * i + 1];  // what the terms so far leave of the pair
#pragma unroll
    for (int t = 0; t < PSplit<T>::kTerms; ++t) {
      terms[t][i] = pack_pair<T>(r0, r1);
      float q0, q1;
      unpack_pair<T>(terms[t][i], q0, q1);
      r0 -= q0;
      r1 -= q1;
      if (t == 0) r0 *= PSplit<T>::kTailScale, r1 *= PSplit<T>::kTailScale;
    }
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

// Copies keys [k0, k0 + kKeys) of one K or V head into shared memory as raw 16-bit values; rows past k_end and
// dims past head_dim become zeros.
template <int kHeadDim>
__device__ __forceinline__ void load_kv_tile(const KernelParams& p, const void* base, const int64_t* stride, int b,
                                             int g, int64_t k0, int64_t k_end,
                                             uint16_t (*tile)[MmaTile<kHeadDim>::kPitch]) {
  using Tile = MmaTile<kHeadDim>;
  constexpr int kPieces = kHeadDim / 8;  // 16-byte pieces per row
  const uint16_t* src = static_cast<const uint16_t*>(base);
  for (int idx = threadIdx.x; idx < Tile::kKeys * kPieces; idx += Tile::kThreads) {
    const int r = idx / kPieces, d0 = (idx % kPieces) * 8;
    union {
      uint4 raw;
      uint16_t elem[8];
    } piece;
    piece.raw = make_uint4(0, 0, 0, 0);
    if (k0 + r < k_end && d0 < p.head_dim) {
      const int64_t row = p.kv_row(stride, b, k0 + r) + g * stride[2];
      if (p.kv_vectorized) {
        piece.raw = *reinterpret_cast<const uint4*>(src + row + d0);
      } else {
#pragma unroll
        for (int e = 0; e < 8; ++e) piece.elem[e] = src[row + (d0 + e) * stride[3]];
      }
    }
    *reinterpret_cast<uint4*>(&tile[r][d0]) = piece.raw;
  }
}

template <typename T, int kHeadDim>
__global__ void __launch_bounds__(MmaTile<kHeadDim>::kThreads) prefill_mma_kernel(const KernelParams p) {
  using Tile = MmaTile<kHeadDim>;
  constexpr int kSteps = kHeadDim / 16;    // k16 steps over the head dim
  constexpr int kKeyBlocks = Tile::kKeys / 8;
  constexpr int kDimBlocks = kHeadDim / 8;
  __shared__ __align__(16) uint16_t k_tile[Tile::kKeys][Tile::kPitch];
  __shared__ __align__(16) uint16_t v_tile[Tile::kKeys][Tile::kPitch];

  const int g_kv = blockIdx.y, b = blockIdx.z;
  const int group = p.group_offsets[g_kv + 1] - p.group_offsets[g_kv];
  const int32_t* heads = p.group_heads + p.group_offsets[g_kv];
  const int64_t sq = p.seq_len_q(b), skv = p.seq_len_kv(b);
  const int64_t total_rows = sq * group;
  const int64_t r0 = int64_t(blockIdx.x) * Tile::kRows;
  if (r0 >= total_rows) return;  // uniform per block
  const int64_t off = p.mask_offset(b);
  const int64_t last_row = min(total_rows, r0 + Tile::kRows) - 1;
  const int64_t lo = p.key_begin(r0 / group, off);
  const int64_t hi = p.key_end(last_row / group, off, skv);

  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  const int lg = lane / 4, lt = lane % 4;

  // This thread's two rows: lg and lg + 8 of the warp's 16.
  bool row_valid[2];
  int row_head[2];
  int64_t row_pos[2];
  uint32_t qa[kSteps][4];
  const uint16_t* q16 = static_cast<const uint16_t*>(p.q);
#pragma unroll
  for (int rr = 0; rr < 2; ++rr) {
    const int64_t pr = r0 + warp * 16 + lg + rr * 8;
    row_valid[rr] = pr < total_rows;
    row_head[rr] = heads[(row_valid[rr] ? pr : r0) % group];
    row_pos[rr] = (row_valid[rr] ? pr : r0) / group;
    const int64_t base = b * p.q_stride[0] + (p.seq_start_q(b) + row_pos[rr]) * p.q_stride[1] +
                         row_head[rr] * p.q_stride[2];
#pragma unroll
    for (int kk = 0; kk < kSteps; ++kk) {
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int d = kk * 16 + half * 8 + 2 * lt;
        uint32_t bits = 0;
        if (row_valid[rr] && d < p.head_dim)
          bits = uint32_t(q16[base + d * p.q_stride[3]]) | (uint32_t(q16[base + (d + 1) * p.q_stride[3]]) << 16);
        qa[kk][half * 2 + rr] = bits;
      }
    }
  }

  float o[kDimBlocks][4];
#pragma unroll
  for (int nd = 0; nd < kDimBlocks; ++nd) o[nd][0] = o[nd][1] = o[nd][2] = o[nd][3] = 0.f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};

  for (int64_t k0 = lo; k0 < hi; k0 += Tile::kKeys) {
    __syncthreads();  // the previous tiles are consumed
    load_kv_tile<kHeadDim>(p, p.k, p.k_stride, b, g_kv, k0, hi, k_tile);
    load_kv_tile<kHeadDim>(p, p.v, p.v_stride, b, g_kv, k0, hi, v_tile);
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
      float mx = m[rr];
#pragma unroll
      for (int nb = 0; nb < kKeyBlocks; ++nb) {
#pragma unroll
        for (int c = 0; c < 2; ++c) {
          const int64_t j = k0 + nb * 8 + 2 * lt + c;
          const bool ok = row_valid[rr] && j < hi && p.key_allowed(row_pos[rr], j, off);
          float& x = s[nb][rr * 2 + c];
          x = ok ? p.score_log2(x) : -INFINITY;
          mx = fmaxf(mx, x);
        }
      }
      mx = group_max(mx, 4);
      const float m_use = mx == -INFINITY ? 0.f : mx;  // a row with nothing allowed yet stays all zeros
      const float corr = exp2f(m[rr] - m_use);
      m[rr] = mx;
      l[rr] *= corr;
#pragma unroll
      for (int nd = 0; nd < kDimBlocks; ++nd) {
        o[nd][rr * 2] *= corr;
        o[nd][rr * 2 + 1] *= corr;
      }
#pragma unroll
      for (int nb = 0; nb < kKeyBlocks; ++nb) {
#pragma unroll
        for (int c = 0; c < 2; ++c) {
          float& x = s[nb][rr * 2 + c];
          x = exp2f(x - m_use);
          l[rr] += x;
        }
      }
    }

    // O += P V, term by term (split_p_fragment): the first into O, the tail terms of the whole tile into o_tail
    // per dim block, which then goes into O once, unscaled.
    using Split = PSplit<T>;
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
    const float lsum = group_sum(l[rr], 4);
    if (!row_valid[rr]) continue;
    const RowFinish fin = finish_row(p, row_head[rr], m[rr], lsum);
    const int64_t orow = out_row(p, b, row_pos[rr], row_head[rr]);
#pragma unroll
    for (int nd = 0; nd < kDimBlocks; ++nd) {
#pragma unroll
      for (int c = 0; c < 2; ++c) {
        const int d = nd * 8 + 2 * lt + c;
        if (d < p.head_dim) store_output(p.out, p.out_dtype, orow + d * p.out_stride[3], o[nd][rr * 2 + c] * fin.out_scale);
      }
    }
    if (lt == 0) store_lse(p, b, row_pos[rr], row_head[rr], fin.lse);
  }
}

template <typename T, int kHeadDim>
gpuError_t launch_tile(const KernelParams& p, int max_group, gpuStream_t stream) {
  using Tile = MmaTile<kHeadDim>;
  const int64_t row_tiles = (p.seqlen_q * max_group + Tile::kRows - 1) / Tile::kRows;
  const dim3 grid(unsigned(row_tiles), unsigned(p.heads_kv), unsigned(p.batch));
  prefill_mma_kernel<T, kHeadDim><<<grid, Tile::kThreads, 0, stream>>>(p);
  return gpuGetLastError();
}

template <typename T>
gpuError_t launch_typed(const KernelParams& p, int max_group, gpuStream_t stream) {
  if (p.head_dim <= 64) return launch_tile<T, 64>(p, max_group, stream);
  if (p.head_dim <= 128) return launch_tile<T, 128>(p, max_group, stream);
  if (p.head_dim <= 256) return launch_tile<T, 256>(p, max_group, stream);
  return gpuErrorInvalidValue;
}

}  // namespace

gpuError_t launch_prefill_mma(const KernelParams& p, DType dtype, int max_group, gpuStream_t stream) {
  switch (dtype) {
    case DType::BF16: return launch_typed<bf16_t>(p, max_group, stream);
    case DType::F16: return launch_typed<f16_t>(p, max_group, stream);
    case DType::F32: break;
  }
  return gpuErrorInvalidValue;
}

}  // namespace gpu
}  // namespace gqa
