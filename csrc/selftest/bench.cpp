#include "selftest/bench.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "gqa/backends.h"
#include "gqa/request.h"
#if defined(GQA_WITH_CUDA) || defined(GQA_WITH_HIP)
#include "gpu/gpu.h"
#endif

namespace selftest {
namespace {

struct Shape {
  const char* name;
  int64_t batch, seqlen_q, seqlen_kv;
  bool causal;
  bool decode;  // report GB/s of K/V read instead of TFLOP/s
};
constexpr int64_t kHeadsQ = 32, kHeadsKv = 8, kHeadDim = 128;

// Memory for one shape's tensors on the backend under test.
struct Buffers {
  std::function<void*(size_t)> alloc;
  std::function<void(void*, const void*, size_t)> upload;
  std::function<void(void*)> release;
};

double seconds_per_run(const std::function<gqa::Error()>& run, const std::function<void()>& sync, bool* ok) {
  for (int i = 0; i < 2; ++i) *ok = *ok && run().ok();  // warm-up
  sync();
  int iters = 0;
  const auto t0 = std::chrono::steady_clock::now();
  double elapsed = 0;
  while (elapsed < 1.0 && iters < 1000) {
    *ok = *ok && run().ok();
    ++iters;
    if (iters % 5 == 0 || iters == 1) {
      sync();
      elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
  }
  sync();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / iters;
}

// Pairs (query i, key j) the mask allows, with bottom-right alignment: query i sees keys j <= i + Skv - Sq.
double allowed_pairs(const Shape& s) {
  if (!s.causal) return double(s.seqlen_q) * double(s.seqlen_kv);
  double pairs = 0;
  for (int64_t i = 0; i < s.seqlen_q; ++i)
    pairs += double(std::clamp<int64_t>(i + s.seqlen_kv - s.seqlen_q + 1, 0, s.seqlen_kv));
  return pairs;
}

bool bench_shapes(const std::vector<Shape>& shapes, const Buffers& mem,
                  const std::function<gqa::Error(const gqa::AttentionParams&, const int32_t*)>& attend,
                  const std::function<void()>& sync, const char* backend, std::vector<BenchResult>* results) {
  bool all_ok = true;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  for (const Shape& s : shapes) {
    const int64_t q_elems = s.batch * s.seqlen_q * kHeadsQ * kHeadDim;
    const int64_t kv_elems = s.batch * s.seqlen_kv * kHeadsKv * kHeadDim;
    std::vector<uint16_t> host(size_t(std::max(q_elems, kv_elems)));
    for (auto& x : host) x = gqa::f32_to_bf16(dist(rng));
    void* q = mem.alloc(size_t(q_elems) * 2);
    void* k = mem.alloc(size_t(kv_elems) * 2);
    void* v = mem.alloc(size_t(kv_elems) * 2);
    void* out = mem.alloc(size_t(q_elems) * 2);
    std::vector<int32_t> head_map(kHeadsQ);
    for (int64_t h = 0; h < kHeadsQ; ++h) head_map[size_t(h)] = int32_t(h / (kHeadsQ / kHeadsKv));
    void* head_map_mem = mem.alloc(head_map.size() * 4);
    BenchResult r;
    r.name = s.name, r.batch = s.batch, r.seqlen_q = s.seqlen_q, r.seqlen_kv = s.seqlen_kv;
    r.heads_q = kHeadsQ, r.heads_kv = kHeadsKv, r.head_dim = kHeadDim, r.causal = s.causal, r.decode = s.decode;
    if (!q || !k || !v || !out || !head_map_mem) {
      std::printf("BENCH %-5s %-28s skipped: out of memory\n", backend, s.name);
      r.error = "out of memory";
      all_ok = false;
    } else {
      mem.upload(q, host.data(), size_t(q_elems) * 2);
      mem.upload(k, host.data(), size_t(kv_elems) * 2);
      mem.upload(v, host.data(), size_t(kv_elems) * 2);
      mem.upload(head_map_mem, head_map.data(), head_map.size() * 4);
      gqa::AttentionRequest req;
      auto arg = [&](const void* data, int64_t seq, int64_t heads) {
        gqa::TensorArg t;
        t.data = data;
        t.dtype = gqa::DType::BF16;
        t.rank = 4;
        t.shape[0] = s.batch, t.shape[1] = seq, t.shape[2] = heads, t.shape[3] = kHeadDim;
        t.bytes = size_t(s.batch * seq * heads * kHeadDim) * 2;
        return t;
      };
      req.q = arg(q, s.seqlen_q, kHeadsQ);
      req.k = arg(k, s.seqlen_kv, kHeadsKv);
      req.v = arg(v, s.seqlen_kv, kHeadsKv);
      req.out = arg(out, s.seqlen_q, kHeadsQ);
      req.causal = s.causal;
      req.alignment = gqa::Alignment::BottomRight;
      gqa::PreparedAttention prepared;
      gqa::Error e = gqa::prepare_attention(req, &prepared);
      gqa::AttentionParams p = prepared.params;
      p.head_map = static_cast<const int32_t*>(head_map_mem);
      bool ok = e.ok();
      const double t = ok ? seconds_per_run([&] { return attend(p, head_map.data()); }, sync, &ok) : 0;
      r.ok = ok;
      r.ms = t * 1e3;
      if (!ok) {
        std::printf("BENCH %-5s %-28s FAILED %s\n", backend, s.name, e.message.c_str());
        r.error = e.ok() ? "a timed run failed" : e.message;
        all_ok = false;
      } else if (s.decode) {
        const double bytes = double(kv_elems) * 2 * 2;  // K and V, 2 bytes per bf16 element
        r.gbps = bytes / t * 1e-9;
        std::printf("BENCH %-5s %-28s %9.3f ms  %8.1f GB/s (K/V read)\n", backend, s.name, r.ms, r.gbps);
      } else {
        const double flops = 4.0 * double(s.batch * kHeadsQ * kHeadDim) * allowed_pairs(s);
        r.tflops = flops / t * 1e-12;
        std::printf("BENCH %-5s %-28s %9.3f ms  %8.2f TFLOP/s\n", backend, s.name, r.ms, r.tflops);
      }
    }
    results->push_back(r);
    for (void* ptr : {q, k, v, out, head_map_mem}) mem.release(ptr);
  }
  return all_ok;
}

}  // namespace

bool run_benchmarks(const std::string& backend, int threads, BenchReport* report) {
  report->backend = backend;
  if (backend == "cpu") {
    const std::vector<Shape> shapes = {{"prefill-1x1024-causal", 1, 1024, 1024, true, false},
                                       {"decode-b8-8k", 8, 1, 8192, false, true},
                                       {"decode-b1-64k", 1, 1, 65536, false, true}};
    Buffers mem{[](size_t n) { return static_cast<void*>(new char[n]); },
                [](void* dst, const void* src, size_t n) { std::memcpy(dst, src, n); },
                [](void* p) { delete[] static_cast<char*>(p); }};
    std::printf("BENCH cpu: %d threads (0 = all cores), SIMD %s, bf16, Hq 32, Hkv 8, D 128\n", threads,
                gqa::cpu_simd_level());
    report->device = std::string("cpu, SIMD ") + gqa::cpu_simd_level() + ", threads " + std::to_string(threads);
    return bench_shapes(shapes, mem, [&](const gqa::AttentionParams& p, const int32_t* host_head_map) {
                          gqa::AttentionParams hp = p;
                          hp.head_map = host_head_map;
                          return gqa::cpu_attention(hp, threads);
                        },
                        [] {}, "cpu", &report->results);
  }
#if defined(GQA_WITH_CUDA) || defined(GQA_WITH_HIP)
  const std::vector<Shape> shapes = {{"prefill-4096-causal", 1, 4096, 4096, true, false},
                                     {"prefill-4096", 1, 4096, 4096, false, false},
                                     {"decode-b64-8k", 64, 1, 8192, false, true},
                                     {"decode-b1-64k", 1, 1, 65536, false, true}};
  Buffers mem{[](size_t n) {
                void* p = nullptr;
                return gqa::gpu_malloc(n, &p).ok() ? p : nullptr;
              },
              [](void* dst, const void* src, size_t n) {
                gqa::gpu_memcpy_h2d(dst, src, n, nullptr);
                gqa::gpu_stream_synchronize(nullptr);
              },
              [](void* p) { gqa::gpu_free(p); }};
  gqa::GpuDeviceInfo info;
  report->device = gqa::gpu_device_info(0, &info).ok() ? info.name : "unknown";
  // The decode roofline: a device-to-device copy reads and writes each byte once.
  const size_t copy_bytes = size_t(1) << 30;
  void* a = mem.alloc(copy_bytes);
  void* b = mem.alloc(copy_bytes);
  bool ok = a && b;
  if (ok) {
    const double t = seconds_per_run([&] { return gqa::gpu_memcpy_d2d(b, a, copy_bytes, nullptr); },
                                     [] { gqa::gpu_stream_synchronize(nullptr); }, &ok);
    report->copy_gbps = ok ? 2.0 * double(copy_bytes) / t * 1e-9 : 0;
    std::printf("BENCH %-5s %-28s %9.3f ms  %8.1f GB/s (read + write)\n", backend.c_str(), "d2d-copy-1GiB", t * 1e3,
                report->copy_gbps);
  }
  mem.release(a);
  mem.release(b);
  ok = bench_shapes(shapes, mem, [](const gqa::AttentionParams& p, const int32_t* host_head_map) {
                      return gqa::gpu_attention(p, nullptr, host_head_map);
                    },
                    [] { gqa::gpu_stream_synchronize(nullptr); }, backend.c_str(), &report->results) && ok;
  return ok;
#else
  return false;
#endif
}

namespace {

std::string json_string(const std::string& text) {
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      quoted += escaped;
    } else {
      quoted += c;
    }
  }
  return quoted + "\"";
}

}  // namespace

bool write_bench_json(const std::vector<BenchReport>& reports, const std::string& path, std::string* why) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) {
    *why = "cannot open " + path + " for writing: " + std::strerror(errno);
    return false;
  }
  std::fprintf(f, "{\n  \"dtype\": \"bf16\",\n  \"reports\": [");
  for (size_t i = 0; i < reports.size(); ++i) {
    const BenchReport& rep = reports[i];
    std::fprintf(f, "%s\n    {\"backend\": %s, \"device\": %s, \"copy_gbps\": %.9g, \"results\": [", i ? "," : "",
                 json_string(rep.backend).c_str(), json_string(rep.device).c_str(), rep.copy_gbps);
    for (size_t j = 0; j < rep.results.size(); ++j) {
      const BenchResult& r = rep.results[j];
      std::fprintf(f,
                   "%s\n      {\"name\": %s, \"batch\": %lld, \"seqlen_q\": %lld, \"seqlen_kv\": %lld, "
                   "\"heads_q\": %lld, \"heads_kv\": %lld, \"head_dim\": %lld, \"causal\": %s, \"decode\": %s, "
                   "\"ok\": %s, \"ms\": %.9g, \"tflops\": %.9g, \"gbps\": %.9g, \"error\": %s}",
                   j ? "," : "", json_string(r.name).c_str(), (long long)r.batch, (long long)r.seqlen_q,
                   (long long)r.seqlen_kv, (long long)r.heads_q, (long long)r.heads_kv, (long long)r.head_dim,
                   r.causal ? "true" : "false", r.decode ? "true" : "false", r.ok ? "true" : "false", r.ms,
                   r.tflops, r.gbps, json_string(r.error).c_str());
    }
    std::fprintf(f, "\n    ]}");
  }
  std::fprintf(f, "\n  ]\n}\n");
  const bool written = !std::ferror(f);
  if (std::fclose(f) != 0 || !written) {
    *why = "cannot write " + path;
    return false;
  }
  return true;
}

}  // namespace selftest
