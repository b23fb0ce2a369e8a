// P (the softmax weights, in [0, 1]) as a sum of 16-bit terms, for the matrix-core P V products of both prefill
// kernels (prefill_mma.cu, prefill_mfma.cu), and the packed 16-bit pairs their operands are made of (pack_pair,
// unpack_pair, load_pair). Host and device code: test/native/mfma_layout_check.cpp runs it too.
//
// Why P is split. Rounding P to the input dtype before P V (what FlashAttention-2 does) gives every weight a
// relative error up to 2^-8 in bf16. With an f32 output that is orders of magnitude above the error of the f32-math
// reference that the parity check measures against the float64 golden (docs/parity.md: the `p-bf16` fault class,
// caught by the bf16-in/f32-out cases). So P is written as a sum of terms in the dtype, each the rounding of what
// the terms before it left (the remainders are exact in f32), and every term is multiplied by V on the matrix cores
// with f32 accumulation. V is already in the dtype, so the only new error is the last term's rounding.
//
// bf16 keeps 8 significant bits a term: two terms leave |error| up to 2^-16 P, which on short causal rows with
// |V| ~ 3 reaches the parity check's 1e-5 floor for f32 outputs (checked in simulation), so bf16 takes three
// (|error| <= 2^-24 P, as good as P's own f32 rounding). f16 keeps 11 bits, so two terms do (2^-22 P), but not
// its range: P is in [0, 1] and the tail |P - hi| <= min(2^-11 P, 2^-12) lies below f16's smallest normal (2^-14)
// for every P, and as a subnormal (spacing 2^-24) it would keep a few bits or none. The tail is therefore scaled
// by 2^24 before the conversion (<= 2^12: no overflow; normal down to 2^-38), accumulated apart and multiplied back
// by 2^-24 (exact in f32): |error| <= 2^-22 P + 2^-49. bf16 has f32's exponent range: its tail needs no scale.
#pragma once
#include <cstdint>

#include "gqa/dtype.h"

namespace gqa {
namespace gpu {

template <DType kType>
struct PSplit;
template <>
struct PSplit<DType::BF16> {
  static constexpr int kTerms = 3;
  static constexpr float kTailScale = 1.f;
};
template <>
struct PSplit<DType::F16> {
  static constexpr int kTerms = 2;
  static constexpr float kTailScale = 0x1p24f;
};

// Two floats to a packed pair of kType, round-to-nearest-even; lo goes to the low half.
template <DType kType>
GQA_HOST_DEVICE uint32_t pack_pair(float lo, float hi) {
  uint32_t r;
#if defined(__CUDA_ARCH__)
  if constexpr (kType == DType::BF16)
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
  else
    asm("cvt.rn.f16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
#else
  if constexpr (kType == DType::BF16)
    r = uint32_t(f32_to_bf16(lo)) | uint32_t(f32_to_bf16(hi)) << 16;
  else
    r = uint32_t(f32_to_f16(lo)) | uint32_t(f32_to_f16(hi)) << 16;
#endif
  return r;
}

// A packed pair of kType back to two floats (exact); the low half goes to lo.
template <DType kType>
GQA_HOST_DEVICE void unpack_pair(uint32_t r, float& lo, float& hi) {
  if constexpr (kType == DType::BF16) {
    lo = bf16_to_f32(uint16_t(r));
    hi = bf16_to_f32(uint16_t(r >> 16));
  } else {
#if defined(__CUDA_ARCH__)
    asm("{\n.reg .b16 l, h;\nmov.b32 {l, h}, %2;\ncvt.f32.f16 %0, l;\ncvt.f32.f16 %1, h;\n}\n"
        : "=f"(lo), "=f"(hi)
        : "r"(r));
#else
    lo = f16_to_f32(uint16_t(r));
    hi = f16_to_f32(uint16_t(r >> 16));
#endif
  }
}

// Elements d and d + 1 of a 16-bit row in memory (elements `stride` apart), packed as pack_pair packs (d in the
// low half); zeros from element len on (a row's padding past head_dim, or all of a row that is not loaded).
GQA_HOST_DEVICE uint32_t load_pair(const uint16_t* row, int64_t stride, int len, int d) {
  if (d >= len) return 0;
  return uint32_t(row[d * stride]) | uint32_t(row[(d + 1) * stride]) << 16;
}

// The pair (x0, x1) of P as PSplit<kType>::kTerms packed terms, the tail terms scaled by kTailScale.
template <DType kType>
GQA_HOST_DEVICE void split_p_pair(float x0, float x1, uint32_t (&terms)[PSplit<kType>::kTerms]) {
  float r0 = x0, r1 = x1;  // what the terms so far leave of the pair
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
#pragma unroll
#endif
  for (int t = 0; t < PSplit<kType>::kTerms; ++t) {
    terms[t] = pack_pair<kType>(r0, r1);
    float q0, q1;
    unpack_pair<kType>(terms[t], q0, q1);
    r0 -= q0;
    r1 -= q1;
    if (t == 0) r0 *= PSplit<kType>::kTailScale, r1 *= PSplit<kType>::kTailScale;
  }
}

}  // namespace gpu
}  // namespace gqa
