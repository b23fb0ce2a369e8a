// Picks the fast CPU kernel once per process from what the CPU (and the OS, which must save the wider registers)
// supports. The environment variable NODE_GQA_CPU_SIMD=scalar|avx2|avx512|avx512bf16 caps the level, so the portable and
// AVX2 kernels can be tested on a machine that has more; it never raises the level above what the machine has.
#include <cstdlib>
#include <cstring>

#include "gqa/backends.h"
#include "simd_dispatch.h"

namespace gqa {
namespace cpu {
namespace {

enum class SimdLevel { Scalar = 0, Avx2 = 1, Avx512 = 2, Avx512Bf16 = 3 };

SimdLevel machine_level() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma") &&
      __builtin_cpu_supports("f16c"))
    return __builtin_cpu_supports("avx512bf16") ? SimdLevel::Avx512Bf16 : SimdLevel::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
    return SimdLevel::Avx2;
#endif
  return SimdLevel::Scalar;
}

SimdLevel choose_level() {
  SimdLevel level = machine_level();
  if (const char* cap = std::getenv("NODE_GQA_CPU_SIMD")) {
    SimdLevel wanted = level;
    if (std::strcmp(cap, "scalar") == 0) wanted = SimdLevel::Scalar;
    else if (std::strcmp(cap, "avx2") == 0) wanted = SimdLevel::Avx2;
    else if (std::strcmp(cap, "avx512") == 0) wanted = SimdLevel::Avx512;
    else if (std::strcmp(cap, "avx512bf16") == 0) wanted = SimdLevel::Avx512Bf16;
    if (wanted < level) level = wanted;
  }
  return level;
}

SimdLevel level() {
  static const SimdLevel chosen = choose_level();  // thread-safe one-time initialisation
  return chosen;
}

}  // namespace

AttendFn selected_kernel() {
  switch (level()) {
#if defined(GQA_CPU_X86_KERNELS)
    case SimdLevel::Avx512Bf16: return attend_avx512bf16;
    case SimdLevel::Avx512: return attend_avx512;
    case SimdLevel::Avx2: return attend_avx2;
#endif
    default: return attend_scalar;
  }
}

}  // namespace cpu

const char* cpu_simd_level() {
  switch (cpu::level()) {
    case cpu::SimdLevel::Avx512Bf16: return "avx512bf16";
    case cpu::SimdLevel::Avx512: return "avx512";
    case cpu::SimdLevel::Avx2: return "avx2";
    case cpu::SimdLevel::Scalar: break;
  }
  return "scalar";
}

}  // namespace gqa
