// Benchmarks at the performance targets' shapes (bf16, D = 128, Hq = 32, Hkv = 8): prefill TFLOP/s at
// Sq = Skv = 4096, decode GB/s (K/V bytes read per second) at batch 64 x 8k keys and batch 1 x 64k keys, next to
// the device-to-device copy bandwidth as the decode roofline. The CPU runs smaller shapes, printed as such.
#pragma once
#include <string>

namespace selftest {

// backend: "cpu" or the GPU backend name; returns false when a run failed.
bool run_benchmarks(const std::string& backend, int threads);

}  // namespace selftest
