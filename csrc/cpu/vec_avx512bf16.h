// 16-float AVX-512 vectors plus the AVX-512 BF16 dot product. Included only by kernel_avx512bf16.cpp; the anonymous
// namespace keeps every function local to that object.
//
// vdpbf16ps multiplies bf16 pairs exactly (8-bit significands) and adds both products to an f32 accumulator, in
// round-to-nearest-even, with denormal inputs and results flushed to zero. For bf16 inputs it computes the score
// dot products straight from the bf16 K rows (32 elements per instruction, no conversion); the parity tolerance
// method (test/cpu-backend.test.ts, the self-test) accepts its results.
#pragma once
#include <immintrin.h>

#include <cstdint>

#include "vec_avx512.h"

namespace gqa {
namespace cpu {
namespace {

struct VecAvx512Bf16 : VecAvx512 {
  static constexpr bool bf16_dot = true;
  static constexpr int64_t bf16_dot_block = 32;  // head dims must be a multiple of this
  static constexpr int64_t kMaxDotRows = 8;

  // s[r * lds] = K . Q[r] for rows r < R (R <= kMaxDotRows): k is D bf16 elements, q row r is D bf16 elements at
  // q + r * ldq.
  static void dot_bf16(int64_t R, int64_t D, const uint16_t* k, const uint16_t* q, int64_t ldq, float* s,
                       int64_t lds) {
    __m512 acc[kMaxDotRows];
    for (int64_t r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
    for (int64_t d = 0; d < D; d += bf16_dot_block) {
      const __m512bh kv = (__m512bh)_mm512_loadu_si512(k + d);
      for (int64_t r = 0; r < R; ++r)
        acc[r] = _mm512_dpbf16_ps(acc[r], (__m512bh)_mm512_loadu_si512(q + r * ldq + d), kv);
    }
    for (int64_t r = 0; r < R; ++r) s[r * lds] = _mm512_reduce_add_ps(acc[r]);
  }
};

}  // namespace
}  // namespace cpu
}  // namespace gqa
