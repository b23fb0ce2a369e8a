// exp and tanh for the SIMD vector types (vec_avx2.h, vec_avx512.h): the arithmetic that is the same on every width,
// written once over a vector type V. Each type keeps only what needs its own instructions: clamping, rounding to an
// integer, scaling by 2^n, signs and selects.
#pragma once

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

// exp(x) / 2^n for x already clamped and n = round(x log2(e)): r = x - n ln2 in two steps (Cody-Waite), then the
// polynomial for exp(r).
template <class V>
inline typename V::reg exp_over_pow2(typename V::reg x, typename V::reg n) {
  typename V::reg r = V::fma(V::set1(-kLn2Hi), n, x);
  r = V::fma(V::set1(-kLn2Lo), n, r);
  typename V::reg y = V::set1(kExpP0);
  y = V::fma(y, r, V::set1(kExpP1));
  y = V::fma(y, r, V::set1(kExpP2));
  y = V::fma(y, r, V::set1(kExpP3));
  y = V::fma(y, r, V::set1(kExpP4));
  y = V::fma(y, r, V::set1(kExpP5));
  return V::fma(y, V::mul(r, r), V::add(r, V::set1(1.f)));
}

// tanh(x) for |x| < kTanhSmall.
template <class V>
inline typename V::reg tanh_small(typename V::reg x) {
  const typename V::reg z = V::mul(x, x);
  typename V::reg y = V::set1(kTanhP0);
  y = V::fma(y, z, V::set1(kTanhP1));
  y = V::fma(y, z, V::set1(kTanhP2));
  y = V::fma(y, z, V::set1(kTanhP3));
  y = V::fma(y, z, V::set1(kTanhP4));
  return V::fma(V::mul(y, z), x, x);
}

// tanh(a) for a = |x| >= kTanhSmall: 1 - 2 / (exp(2a) + 1).
template <class V>
inline typename V::reg tanh_large(typename V::reg a) {
  const typename V::reg e = V::add(V::exp(V::add(a, a)), V::set1(1.f));
  return V::sub(V::set1(1.f), V::div(V::set1(2.f), e));
}

}  // namespace
}  // namespace cpu
}  // namespace gqa
