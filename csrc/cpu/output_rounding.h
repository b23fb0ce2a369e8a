// f32 to bf16 and f16 for write_row (output.cpp): the same bits as dtype.h's f32_to_bf16 and f32_to_f16 (every one
// of the 2^32 inputs is compared by test/native/output_rounding_check.cpp), written as selects rather than branches
// so that the compiler vectorises a row's conversion (output.cpp has what that saved).
#pragma once
#include <cstdint>

#include "gqa/dtype.h"

namespace gqa {
namespace cpu {

inline uint16_t round_to_bf16(float f) {
  const uint32_t u = f32_bits(f);
  const bool nan = (u & 0x7fffffffu) > 0x7f800000u;
  const uint32_t quiet = (u >> 16) | 0x0040u;                // NaN: keep sign, force quiet
  const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;  // ties to even
  return uint16_t(nan ? quiet : rounded);
}

inline uint16_t round_to_f16(float f) {
  const uint32_t u = f32_bits(f);
  const uint32_t sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
  const uint32_t nan = 0x7e00u | ((a >> 13) & 0x3ffu), inf = 0x7c00u;
  // Normal: rebias the exponent and round the 13 dropped mantissa bits to even (a carry into the exponent is right).
  const uint32_t normal = (a - 0x38000000u + 0xfffu + ((a >> 13) & 1u)) >> 13;
  // Below 2^-14 the result is |f| rounded to a multiple of 2^-24, the f16 subnormals' ulp. 0.5 + |f| in f32 rounds it
  // so, ties to even in the default rounding mode (2^-24 is the f32 ulp of [0.5, 1)), and its low bits are then the
  // f16 bits (2^-14 itself rounds up to the smallest normal's). Flushing denormals changes nothing: those give 0.
  const uint32_t subnormal = f32_bits(f32_from_bits(a) + 0.5f) - 0x3f000000u;
  const uint32_t magnitude = a > 0x7f800000u ? nan : a >= 0x477ff000u ? inf : a < 0x38800000u ? subnormal : normal;
  return uint16_t(sign | magnitude);
}

}  // namespace cpu
}  // namespace gqa
