// write_row (csrc/cpu/output.cpp) rounds every f32 to bf16 and to f16 exactly as dtype.h's f32_to_bf16 and
// f32_to_f16 define it: all 2^32 inputs, through the clone of its 16-bit row writer that this CPU runs. A row of o = x
// with m = 0 and l = 1 writes round(x * 1 / 1), and x * 1 / 1 is x (a signalling NaN comes back quiet, which both
// conversions make it anyway).
// Prints "PASS <dtype>" or "FAIL <dtype>: ..." per dtype, then "output_rounding_check: all passed"; exit status 0
// when both pass. The two dtypes run on threads of their own.
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "cpu/output.h"
#include "gqa/dtype.h"

namespace {

constexpr int64_t kRow = int64_t(1) << 20;  // inputs per write_row call

// "PASS <dtype>" or "FAIL <dtype>: ...".
std::string check(gqa::DType dtype, uint16_t (*expected)(float)) {
  std::vector<float> row(kRow);
  std::vector<uint16_t> out(kRow);
  gqa::AttentionParams p;
  p.head_dim = kRow;
  p.out = out.data();
  p.out_dtype = dtype;
  p.out_stride[3] = 1;
  int64_t mismatches = 0;
  uint32_t first = 0;
  for (uint64_t start = 0; start < (uint64_t(1) << 32); start += kRow) {
    for (int64_t d = 0; d < kRow; ++d) row[size_t(d)] = gqa::f32_from_bits(uint32_t(start + uint64_t(d)));
    gqa::cpu::write_row(p, 0, 0, 0, row.data(), 0.f, 1.f);
    for (int64_t d = 0; d < kRow; ++d) {
      if (out[size_t(d)] == expected(row[size_t(d)])) continue;
      if (mismatches++ == 0) first = uint32_t(start + uint64_t(d));
    }
  }
  char line[128];
  if (mismatches == 0) std::snprintf(line, sizeof line, "PASS %s", gqa::dtype_name(dtype));
  else
    std::snprintf(line, sizeof line, "FAIL %s: %lld of 2^32 inputs differ, the first 0x%08x", gqa::dtype_name(dtype),
                  static_cast<long long>(mismatches), first);
  return line;
}

}  // namespace

int main() {
  std::string bf16, f16;
  std::thread bf16_thread([&] { bf16 = check(gqa::DType::BF16, gqa::f32_to_bf16); });
  f16 = check(gqa::DType::F16, gqa::f32_to_f16);
  bf16_thread.join();
  std::printf("%s\n%s\n", bf16.c_str(), f16.c_str());
  if (bf16.rfind("PASS", 0) != 0 || f16.rfind("PASS", 0) != 0) return 1;
  std::printf("output_rounding_check: all passed\n");
  return 0;
}
