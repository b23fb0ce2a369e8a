// 16-float AVX-512 vectors. Included only by kernel_avx512.cpp; the anonymous namespace keeps every function
// local to that object. Row conversion is the AVX2 one: it is not where the time goes.
#pragma once
#include <immintrin.h>

#include "vec_avx2.h"

namespace gqa {
namespace cpu {
namespace {

struct VecAvx512 {
  using reg = __m512;
  static constexpr int width = 16;
  static constexpr int registers = 32;
  static constexpr bool bf16_dot = false;  // see VecAvx512Bf16
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, reg x) { _mm512_storeu_ps(p, x); }
  static reg set1(float x) { return _mm512_set1_ps(x); }
  static reg zero() { return _mm512_setzero_ps(); }
  static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
  static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm512_sub_ps(a, b); }
  static reg div(reg a, reg b) { return _mm512_div_ps(a, b); }
  static reg max(reg a, reg b) { return _mm512_max_ps(a, b); }
  static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static float first(reg x) { return _mm512_cvtss_f32(x); }
  static float reduce_max(reg x) {  // by halves: GCC 12's _mm512_reduce_max_ps trips -Wuninitialized
    return VecAvx2::reduce_max(_mm256_max_ps(_mm512_castps512_ps256(x), _mm512_extractf32x8_ps(x, 1)));
  }
  // out[i] = the sum of x[i]'s lanes: each vector's 256-bit halves added, then VecAvx2's four-vector reduction.
  static void reduce_add4(reg x0, reg x1, reg x2, reg x3, float* out) {
    VecAvx2::reduce_add4(halves_added(x0), halves_added(x1), halves_added(x2), halves_added(x3), out);
  }
  static VecAvx2::reg halves_added(reg x) {
    return _mm256_add_ps(_mm512_castps512_ps256(x), _mm512_extractf32x8_ps(x, 1));
  }

  static reg exp(reg x) {
    const __mmask16 underflow = _mm512_cmp_ps_mask(x, set1(kExpUnderflow), _CMP_LT_OQ);
    x = _mm512_max_ps(set1(kExpUnderflow), _mm512_min_ps(set1(kExpClampHigh), x));
    const reg n = _mm512_roundscale_ps(_mm512_mul_ps(x, set1(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const reg y = exp_over_pow2<VecAvx512>(x, n);
    return _mm512_maskz_mov_ps(_mm512_knot(underflow), _mm512_scalef_ps(y, n));
  }

  static reg tanh(reg x) {
    const __m512i sign = _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(int(0x80000000u)));
    const reg a = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(x), sign));
    const reg signed_large = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(tanh_large<VecAvx512>(a)), sign));
    // NaN compares false and takes the exp branch, which keeps it NaN.
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, set1(kTanhSmall), _CMP_LT_OQ), signed_large,
                                tanh_small<VecAvx512>(x));
  }

  // 16 bf16 or f16 elements as f32 (exact conversions).
  static reg load_bf16(const uint16_t* p) {  // bf16 is the top half of an f32
    const __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
  }
  static reg load_f16(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }

  static void load_row(const void* src, DType t, int64_t n, float* dst) { VecAvx2::load_row(src, t, n, dst); }
};

}  // namespace
}  // namespace cpu
}  // namespace gqa
