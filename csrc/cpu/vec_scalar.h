// Scalar "vectors" of one float: the portable kernel, and the oracle the SIMD kernels are tested against.
// Included only by kernel_scalar.cpp; the anonymous namespace keeps every function local to that object.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "gqa/dtype.h"

namespace gqa {
namespace cpu {
namespace {

struct VecScalar {
  using reg = float;
  static constexpr bool bf16_dot = false;  // no bf16 dot-product instruction
  static constexpr int width = 1;
  static constexpr int registers = 16;
  static reg load(const float* p) { return *p; }
  static void store(float* p, reg x) { *p = x; }
  static reg set1(float x) { return x; }
  static reg zero() { return 0.f; }
  static reg add(reg a, reg b) { return a + b; }
  static reg mul(reg a, reg b) { return a * b; }
  static reg sub(reg a, reg b) { return a - b; }
  static reg max(reg a, reg b) { return a > b ? a : b; }
  static reg fma(reg a, reg b, reg c) { return a * b + c; }
  static reg exp(reg x) { return std::exp(x); }
  static reg tanh(reg x) { return std::tanh(x); }
  static float first(reg x) { return x; }
  static float reduce_max(reg x) { return x; }
  static void reduce_add4(reg x0, reg x1, reg x2, reg x3, float* out) {
    out[0] = x0;
    out[1] = x1;
    out[2] = x2;
    out[3] = x3;
  }

  static reg load_bf16(const uint16_t* p) { return bf16_to_f32(*p); }
  static reg load_f16(const uint16_t* p) { return f16_to_f32(*p); }

  // n contiguous elements of dtype t at src, as f32.
  static void load_row(const void* src, DType t, int64_t n, float* dst) {
    switch (t) {
      case DType::F32: std::memcpy(dst, src, size_t(n) * 4); break;
      case DType::BF16:
        for (int64_t d = 0; d < n; ++d) dst[d] = load_bf16(static_cast<const uint16_t*>(src) + d);
        break;
      case DType::F16:
        for (int64_t d = 0; d < n; ++d) dst[d] = load_f16(static_cast<const uint16_t*>(src) + d);
        break;
    }
  }
};

}  // namespace
}  // namespace cpu
}  // namespace gqa
