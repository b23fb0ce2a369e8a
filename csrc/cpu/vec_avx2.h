// 8-float AVX2 vectors with FMA and F16C. Included only by the kernel files compiled with those instruction sets
// (kernel_avx2.cpp, kernel_avx512.cpp); the anonymous namespace keeps every function local to its object.
#pragma once
#include <immintrin.h>

#include <cstdint>

#include "gqa/dtype.h"

namespace gqa {
namespace cpu {
namespace {

// exp(x) constants (Cephes expf): x = n ln2 + r with |r| <= ln2/2, exp(r) by a degree-7 polynomial (~1 ulp).
// Inputs below kExpUnderflow give exactly 0 (a masked score is -inf and must weigh nothing); no input reaching the
// kernels exceeds 0 by much, so the upper clamp only keeps 2^n representable.
constexpr float kExpUnderflow = -87.3f, kExpClampHigh = 88.0f;
constexpr float kLog2e = 1.44269504088896341f, kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
constexpr float kExpP0 = 1.9875691500e-4f, kExpP1 = 1.3981999507e-3f, kExpP2 = 8.3334519073e-3f,
                kExpP3 = 4.1665795894e-2f, kExpP4 = 1.6666665459e-1f, kExpP5 = 5.0000001201e-1f;
// tanh(x) constants (Cephes tanhf, ~2 ulp): an odd polynomial below kTanhSmall, where 1 - 2 / (exp(2|x|) + 1)
// would cancel, and that formula with the sign of x from there on.
constexpr float kTanhSmall = 0.625f;
constexpr float kTanhP0 = -5.70498872745e-3f, kTanhP1 = 2.06390887954e-2f, kTanhP2 = -5.37397155531e-2f,
                kTanhP3 = 1.33314422036e-1f, kTanhP4 = -3.33332819422e-1f;

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
    reg r = _mm256_fnmadd_ps(n, set1(kLn2Hi), x);
    r = _mm256_fnmadd_ps(n, set1(kLn2Lo), r);
    reg y = set1(kExpP0);
    y = _mm256_fmadd_ps(y, r, set1(kExpP1));
    y = _mm256_fmadd_ps(y, r, set1(kExpP2));
    y = _mm256_fmadd_ps(y, r, set1(kExpP3));
    y = _mm256_fmadd_ps(y, r, set1(kExpP4));
    y = _mm256_fmadd_ps(y, r, set1(kExpP5));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, set1(1.f)));
    const __m256i pow2n = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(underflow, _mm256_mul_ps(y, _mm256_castsi256_ps(pow2n)));
  }

  static reg tanh(reg x) {
    const reg sign = _mm256_and_ps(x, set1(-0.f));
    const reg a = _mm256_andnot_ps(sign, x);
    const reg e = _mm256_add_ps(exp(_mm256_add_ps(a, a)), set1(1.f));  // exp(2|x|) + 1
    const reg large = _mm256_sub_ps(set1(1.f), _mm256_div_ps(set1(2.f), e));
    const reg z = _mm256_mul_ps(x, x);
    reg y = set1(kTanhP0);
    y = _mm256_fmadd_ps(y, z, set1(kTanhP1));
    y = _mm256_fmadd_ps(y, z, set1(kTanhP2));
    y = _mm256_fmadd_ps(y, z, set1(kTanhP3));
    y = _mm256_fmadd_ps(y, z, set1(kTanhP4));
    const reg small = _mm256_fmadd_ps(_mm256_mul_ps(y, z), x, x);
    // NaN compares false and takes the exp branch, which keeps it NaN.
    return _mm256_blendv_ps(_mm256_or_ps(large, sign), small, _mm256_cmp_ps(a, set1(kTanhSmall), _CMP_LT_OQ));
  }

  // n contiguous elements of dtype t at src, as f32; n is a multiple of 8 (head dims are).
  static void load_row(const void* src, DType t, int64_t n, float* dst) {
    switch (t) {
      case DType::F32: {
        const float* s = static_cast<const float*>(src);
        for (int64_t d = 0; d < n; d += 8) _mm256_storeu_ps(dst + d, _mm256_loadu_ps(s + d));
        break;
      }
      case DType::BF16: {  // bf16 is the top half of an f32
        const uint16_t* s = static_cast<const uint16_t*>(src);
        for (int64_t d = 0; d < n; d += 8) {
          const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + d)));
          _mm256_storeu_ps(dst + d, _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16)));
        }
        break;
      }
      case DType::F16: {
        const uint16_t* s = static_cast<const uint16_t*>(src);
        for (int64_t d = 0; d < n; d += 8)
          _mm256_storeu_ps(dst + d, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + d))));
        break;
      }
    }
  }
};

}  // namespace
}  // namespace cpu
}  // namespace gqa
