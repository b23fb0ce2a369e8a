// 8-float AVX2 vectors with FMA and F16C. Included only by the kernel files compiled with those instruction sets
// (kernel_avx2.cpp, kernel_avx512.cpp); the anonymous namespace keeps every function local to its object.
#pragma once
#include <immintrin.h>

#include <cstdint>

#include "gqa/dtype.h"
#include "vec_math.h"

namespace gqa {
namespace cpu {
namespace {

struct VecAvx2 {
  using reg = __m256;
  static constexpr bool bf16_dot = false;  // no bf16 dot-product instruction
  static constexpr int width = 8;
  static constexpr int registers = 16;
  static reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, reg x) { _mm256_storeu_ps(p, x); }
  static reg set1(float x) { return _mm256_set1_ps(x); }
  static reg zero() { return _mm256_setzero_ps(); }
  static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
  static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm256_sub_ps(a, b); }
  static reg div(reg a, reg b) { return _mm256_div_ps(a, b); }
  static reg max(reg a, reg b) { return _mm256_max_ps(a, b); }
  static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static float first(reg x) { return _mm256_cvtss_f32(x); }
  static float reduce_max(reg x) {
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    return _mm_cvtss_f32(_mm_max_ss(h, _mm_movehdup_ps(h)));
  }
  // out[i] = the sum of x[i]'s lanes, for four vectors at once: pairwise sums shared across the four, then the two
  // 128-bit halves.
  static void reduce_add4(reg x0, reg x1, reg x2, reg x3, float* out) {
    const reg h = _mm256_hadd_ps(_mm256_hadd_ps(x0, x1), _mm256_hadd_ps(x2, x3));
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
  }

  static reg exp(reg x) {
    const reg underflow = _mm256_cmp_ps(x, set1(kExpUnderflow), _CMP_LT_OQ);
    // min/max return their second operand when one is NaN: x goes second so NaN propagates.
    x = _mm256_max_ps(set1(kExpUnderflow), _mm256_min_ps(set1(kExpClampHigh), x));
    const reg n = _mm256_round_ps(_mm256_mul_ps(x, set1(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const reg y = exp_over_pow2<VecAvx2>(x, n);
    const __m256i pow2n = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(underflow, _mm256_mul_ps(y, _mm256_castsi256_ps(pow2n)));
  }

  static reg tanh(reg x) {
    const reg sign = _mm256_and_ps(x, set1(-0.f));
    const reg a = _mm256_andnot_ps(sign, x);
    // NaN compares false and takes the exp branch, which keeps it NaN.
    return _mm256_blendv_ps(_mm256_or_ps(tanh_large<VecAvx2>(a), sign), tanh_small<VecAvx2>(x),
                            _mm256_cmp_ps(a, set1(kTanhSmall), _CMP_LT_OQ));
  }

  // 8 bf16 or f16 elements as f32 (exact conversions).
  static reg load_bf16(const uint16_t* p) {  // bf16 is the top half of an f32
    const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
  }
  static reg load_f16(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }

  // n contiguous elements of dtype t at src, as f32; n is a multiple of 8 (head dims are).
  static void load_row(const void* src, DType t, int64_t n, float* dst) {
    switch (t) {
      case DType::F32: {
        const float* s = static_cast<const float*>(src);
        for (int64_t d = 0; d < n; d += 8) _mm256_storeu_ps(dst + d, _mm256_loadu_ps(s + d));
        break;
      }
      case DType::BF16: {
        const uint16_t* s = static_cast<const uint16_t*>(src);
        for (int64_t d = 0; d < n; d += 8) _mm256_storeu_ps(dst + d, load_bf16(s + d));
        break;
      }
      case DType::F16: {
        const uint16_t* s = static_cast<const uint16_t*>(src);
        for (int64_t d = 0; d < n; d += 8) _mm256_storeu_ps(dst + d, load_f16(s + d));
        break;
      }
    }
  }
};

}  // namespace
}  // namespace cpu
}  // namespace gqa
