// gqa_selftest: runs every kernel variant against the float64 reference, without Node.
//
//   gqa_selftest [--backend cpu|cuda|rocm|all] [--filter TEXT] [--seed N] [--threads N] [--bench [--json FILE]]
//
// --json FILE writes the benchmark figures (per backend: device, copy bandwidth, per shape its dtype, ms and TFLOP/s
// or GB/s, and on the CPU the time to read decode's K and V) for scripts/bench/gpu_peer.py, which puts them next to
// PyTorch's on the same shapes.
// One line per case and backend. Exit codes: 0 all passed, 1 a case failed, 2 bad arguments, 3 the requested
// GPU backend is unavailable (not built in, or no driver/device: the reason is printed).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "gqa/backends.h"
#include "gqa/request.h"
#include "selftest/bench.h"
#include "selftest/cases.h"
#include "selftest/check.h"
#if defined(GQA_WITH_CUDA) || defined(GQA_WITH_HIP)
#include "gpu/gpu.h"
#endif

namespace selftest {
namespace {

constexpr int kExitPass = 0, kExitFail = 1, kExitUsage = 2, kExitUnavailable = 3;

struct Backend {
  std::string name;
  std::function<gqa::Error(const gqa::AttentionParams&)> run;  // host pointers in, host outputs written
};

// The GPU backend built into this binary, if any, and whether a device is usable; else why not.
const char* built_gpu_backend() {
#if defined(GQA_WITH_CUDA) || defined(GQA_WITH_HIP)
  return gqa::gpu_backend_name();
#else
  return nullptr;
#endif
}

bool gpu_usable(std::string* why) {
#if defined(GQA_WITH_CUDA) || defined(GQA_WITH_HIP)
  if (gqa::gpu_device_count(why) == 0) return false;
  gqa::GpuDeviceInfo info;
  if (gqa::Error e = gqa::gpu_device_info(0, &info); !e.ok()) {
    *why = e.message;
    return false;
  }
  std::printf("%s: device 0: %s (%s, %.1f GiB, %d multiprocessors)\n", gqa::gpu_backend_name(), info.name.c_str(),
              info.arch.c_str(), double(info.total_memory) / (1 << 30), info.multiprocessors);
  return true;
#else
  *why = "not built into this binary (configure with the compiler found, or GQA_CUDA=ON / GQA_HIP=ON)";
  return false;
#endif
}

Backend gpu_backend() {
#if defined(GQA_WITH_CUDA) || defined(GQA_WITH_HIP)
  return {gqa::gpu_backend_name(), [](const gqa::AttentionParams& p) { return gqa::gpu_attention_host(p); }};
#else
  return {};
#endif
}

// Contiguous [rows, Hq, D] output strides for p's batch layout.
void contiguous_out_strides(const gqa::AttentionParams& p, int64_t s[4]) {
  s[3] = 1;
  s[2] = p.head_dim;
  s[1] = p.heads_q * p.head_dim;
  s[0] = p.varlen() ? 0 : p.seqlen_q * s[1];
}

// Runs one case on every backend; returns the number of failures.
int run_case(const Case& c, uint32_t seed, const std::vector<Backend>& backends) {
  std::mt19937 rng(seed);
  CaseData data(c, rng);
  gqa::PreparedAttention prepared;
  if (gqa::Error e = gqa::prepare_attention(data.request(), &prepared); !e.ok()) {
    std::printf("FAIL  %-6s %-44s invalid case: %s\n", "-", c.name.c_str(), e.message.c_str());
    return 1;
  }
  const gqa::AttentionParams& p = prepared.params;
  const int64_t rows = p.varlen() ? p.cu_seqlens_q[p.batch] : p.batch * p.seqlen_q;
  const size_t out_elems = size_t(rows * p.heads_q * p.head_dim);

  // golden: float64 math, f32 output; lp_ref: f32 math, output rounded to the output dtype.
  std::vector<float> golden_out(out_elems), golden_lse(data.lse().size()), lp_lse(data.lse().size());
  std::vector<uint8_t> lp_out(out_elems * size_t(gqa::dtype_size(p.out_dtype)));
  gqa::AttentionParams pg = p, pl = p;
  contiguous_out_strides(p, pg.out_stride);
  contiguous_out_strides(p, pl.out_stride);
  pg.out = golden_out.data(), pg.out_dtype = gqa::DType::F32, pg.lse = golden_lse.data();
  pl.out = lp_out.data(), pl.lse = lp_lse.data();
  gqa::reference_attention(pg, gqa::ReferenceMath::F64);
  gqa::reference_attention(pl, gqa::ReferenceMath::F32);

  int failures = 0;
  for (const Backend& backend : backends) {
    const auto t0 = std::chrono::steady_clock::now();
    data.reset_outputs(true);
    gqa::Error e = backend.run(p);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!e.ok()) {
      std::printf("FAIL  %-6s %-44s %s: %s\n", backend.name.c_str(), c.name.c_str(), gqa::status_code(e.status),
                  e.message.c_str());
      ++failures;
      continue;
    }
    Verdict v = compare(p, {data.out().data(), data.lse().data()}, {golden_out.data(), golden_lse.data()},
                        {lp_out.data(), lp_lse.data()}, pg.out_stride, pl.out_stride);
    // Determinism: a second run gives identical bits.
    const std::vector<uint8_t> first_out = data.out();
    const std::vector<float> first_lse = data.lse();
    data.reset_outputs(true);
    e = backend.run(p);
    if (v.pass && (!e.ok() || first_out != data.out() ||
                   std::memcmp(first_lse.data(), data.lse().data(), first_lse.size() * sizeof(float)) != 0)) {
      v.pass = false;
      v.why = "a second run gave different bits";
    }
    std::printf("%s  %-6s %-44s max %.2e (lp %.2e) mean %.2e (lp %.2e) lse %.1e  %7.1f ms%s%s\n",
                v.pass ? "PASS" : "FAIL", backend.name.c_str(), c.name.c_str(), v.max_err, v.lp_max_err, v.mean_err,
                v.lp_mean_err, v.lse_max_err, ms, v.pass ? "" : "  <- ", v.why.c_str());
    if (!v.pass) ++failures;
  }
  return failures;
}

int usage() {
  std::fprintf(stderr,
               "usage: gqa_selftest [--backend cpu|cuda|rocm|all] [--filter TEXT] [--seed N] [--threads N] "
               "[--bench [--json FILE]]\n");
  return kExitUsage;
}

int run(int argc, char** argv) {
  std::string which = "all", filter, json_path;
  uint32_t seed = 20240601;
  int threads = 0;
  bool bench = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--backend" && has_value) which = argv[++i];
    else if (a == "--filter" && has_value) filter = argv[++i];
    else if (a == "--seed" && has_value) seed = uint32_t(std::strtoul(argv[++i], nullptr, 10));
    else if (a == "--threads" && has_value) threads = std::atoi(argv[++i]);
    else if (a == "--bench") bench = true;
    else if (a == "--json" && has_value) json_path = argv[++i];
    else return usage();
  }
  if (which != "cpu" && which != "cuda" && which != "rocm" && which != "all") return usage();
  if (!json_path.empty() && !bench) return usage();

  std::vector<Backend> backends;
  if (which == "cpu" || which == "all")
    backends.push_back({"cpu", [threads](const gqa::AttentionParams& p) { return gqa::cpu_attention(p, threads); }});
  if (which != "cpu") {
    const char* built = built_gpu_backend();
    for (const char* name : {"cuda", "rocm"}) {
      if (which != name && which != "all") continue;
      std::string why;
      if (built && std::strcmp(built, name) == 0 && gpu_usable(&why)) {
        backends.push_back(gpu_backend());
        continue;
      }
      if (!built || std::strcmp(built, name) != 0)
        why = "not built into this binary (configure with its compiler found, or GQA_CUDA=ON / GQA_HIP=ON)";
      std::printf("%s: unavailable: %s\n", name, why.c_str());
      if (which == name) return kExitUnavailable;
    }
  }

  std::printf("gqa_selftest: seed %u, cpu SIMD %s, backends:", seed, gqa::cpu_simd_level());
  for (const Backend& b : backends) std::printf(" %s", b.name.c_str());
  std::printf("\n");
  const std::vector<Case> cases = test_cases();
  int failures = 0, ran = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    if (!filter.empty() && cases[i].name.find(filter) == std::string::npos) continue;
    failures += run_case(cases[i], seed + uint32_t(i), backends);
    ++ran;
  }
  std::printf("%d case(s) x %zu backend(s): %s (%d failure(s))\n", ran, backends.size(),
              failures ? "FAILED" : "all passed", failures);
  if (bench) {
    std::vector<BenchReport> reports(backends.size());
    for (size_t i = 0; i < backends.size(); ++i)
      if (!run_benchmarks(backends[i].name, threads, &reports[i])) ++failures;
    std::string why;
    if (!json_path.empty() && !write_bench_json(reports, json_path, &why)) {
      std::printf("gqa_selftest: %s\n", why.c_str());
      ++failures;
    }
  }
  return failures ? kExitFail : kExitPass;
}

}  // namespace
}  // namespace selftest

int main(int argc, char** argv) { return selftest::run(argc, argv); }
