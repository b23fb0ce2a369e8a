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
  // Pairs of bf16 elements, bf16_dot_block to a register: head dims must be a multiple of this.
  using bf16_pairs = __m512bh;
  static constexpr int64_t bf16_dot_block = 32;
  static bf16_pairs load_pairs(const uint16_t* p) { return (__m512bh)_mm512_loadu_si512(p); }
  // acc plus, in each lane, the two products of a's and b's element pairs.
  static reg dot_pairs(reg acc, bf16_pairs a, bf16_pairs b) { return _mm512_dpbf16_ps(acc, a, b); }
};

}  // namespace
}  // namespace cpu
}  // namespace gqa
