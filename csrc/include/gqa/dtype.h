// Storage dtypes and their conversions to and from f32.
// Round-to-nearest-even everywhere, NaN stays NaN (quiet), infinities stay infinities: the same bits
// on every backend and vendor, which is what makes cross-machine parity reports comparable.
#pragma once
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__) || defined(__HIPCC__)
#define GQA_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define GQA_HOST_DEVICE inline
#endif

namespace gqa {

enum class DType : int32_t { F32 = 0, BF16 = 1, F16 = 2 };

GQA_HOST_DEVICE int dtype_size(DType t) { return t == DType::F32 ? 4 : 2; }

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::BF16: return "bf16";
    case DType::F16: return "f16";
  }
  return "unknown";
}

GQA_HOST_DEVICE uint32_t f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

GQA_HOST_DEVICE float f32_from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

GQA_HOST_DEVICE float bf16_to_f32(uint16_t h) { return f32_from_bits(uint32_t(h) << 16); }

GQA_HOST_DEVICE uint16_t f32_to_bf16(float f) {
  uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x0040u);  // NaN: keep sign, force quiet
  u += 0x7fffu + ((u >> 16) & 1u);                                           // ties to even
  return uint16_t(u >> 16);
}

GQA_HOST_DEVICE float f16_to_f32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t man = h & 0x3ffu;
  if (exp == 0x1fu) return f32_from_bits(sign | 0x7f800000u | (man << 13));  // inf / NaN
  if (exp == 0) {
    if (man == 0) return f32_from_bits(sign);
    // Subnormal: value = man * 2^-24, exact in f32.
    float v = float(man) * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  return f32_from_bits(sign | ((exp + 112u) << 23) | (man << 13));
}

GQA_HOST_DEVICE uint16_t f32_to_f16(float f) {
  uint32_t u = f32_bits(f);
  uint16_t sign = uint16_t((u >> 16) & 0x8000u);
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return uint16_t(sign | 0x7e00u | ((a >> 13) & 0x3ffu));  // NaN, quiet
  if (a >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // rounds to >= 65520: infinity
  if (a < 0x38800000u) {
    // Result is subnormal (or zero) in f16: scale so the f16 ulp (2^-24) becomes 1 and round to even.
    if (a < 0x33000000u) return sign;  // below half the smallest subnormal: zero
    uint32_t exp = a >> 23;
    uint32_t man = (a & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126u - exp;  // 14..24 bits dropped so that the ulp becomes 2^-24
    uint32_t half = 1u << (shift - 1);
    uint32_t rest = man & ((1u << shift) - 1u);
    uint32_t r = man >> shift;
    if (rest > half || (rest == half && (r & 1u))) ++r;
    return uint16_t(sign | r);
  }
  // Normal: rebias the exponent and round the 13 dropped mantissa bits to even (a carry into the exponent is right).
  uint32_t r = a - 0x38000000u;
  r += 0xfffu + ((r >> 13) & 1u);
  return uint16_t(sign | (r >> 13));
}

}  // namespace gqa
