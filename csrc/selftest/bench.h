// Benchmarks at the performance targets' shapes (D = 128, Hq = 32, Hkv = 8). GPUs, in bf16: prefill TFLOP/s at
// Sq = Skv = 4096, decode GB/s (K/V bytes read per second) at batch 64 x 8k keys and batch 1 x 64k keys, next to
// the device-to-device copy bandwidth as the decode roofline. The CPU runs npm run bench's cases, in f32: prefill at
// Sq = Skv = 512 and decode over 2048 keys, batch 1 and 4, decode next to the time to read its K and V once.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace selftest {

// One shape's timing. Prefill reports tflops (FLOPs of the (query, key) pairs the mask allows, 4 * D per pair),
// decode reports gbps (bytes of K and V read once, per second); the other figure is 0.
struct BenchResult {
  std::string name, dtype;
  int64_t batch = 0, seqlen_q = 0, seqlen_kv = 0, heads_q = 0, heads_kv = 0, head_dim = 0;
  bool causal = false, decode = false, ok = false;
  double ms = 0, tflops = 0, gbps = 0;
  double read_ms = 0;  // decode on the CPU: the time to read the same K and V once, measured in turn with the calls
  std::string error;  // why it did not run, when !ok
};

// One backend's benchmark run.
struct BenchReport {
  std::string backend;  // "cpu", "cuda", "rocm"
  std::string device;   // GPU name, or the CPU's SIMD level and thread count
  double copy_gbps = 0; // device-to-device copy, bytes read + written per second; 0 when not measured (cpu)
  std::vector<BenchResult> results;
};

// backend: "cpu" or the GPU backend name; prints one line per shape and fills *report; returns false when a run
// failed.
bool run_benchmarks(const std::string& backend, int threads, BenchReport* report);

// Writes the reports as JSON ({"reports": [...]}); returns false (with *why) when the file cannot be written.
bool write_bench_json(const std::vector<BenchReport>& reports, const std::string& path, std::string* why);

}  // namespace selftest
