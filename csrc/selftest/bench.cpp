#include "selftest/bench.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <functional>
#include <new>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "gqa/backends.h"
#include "gqa/request.h"
#include "cpu/huge_pages.h"
#include "cpu/parallel.h"
#include "cpu/timed_read.h"
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
  gqa::DType dtype;
};
constexpr int64_t kHeadsQ = 32, kHeadsKv = 8, kHeadDim = 128;
// Decode K and V rotate through copies totalling at least this much, as the caches of successive layers would, so
// that each call reads them from memory rather than from a cache still warm from the call before (npm run bench
// does the same).
constexpr size_t kDecodeWorkingSetBytes = size_t(256) << 20;
// Timed decode calls when each alternates with a read of K and V: medians of this many, as in npm run bench.
constexpr int kAlternatedRuns = 63;

// Memory for one shape's tensors on the backend under test.
struct Buffers {
  std::function<void*(size_t)> alloc;
  std::function<void(void*, const void*, size_t)> upload;
  std::function<void(void*)> release;
  // Seconds to read the given K and V once, for the decode bound; empty where it is not measured (device memory).
  std::function<double(const void* k, const void* v, size_t bytes)> read_seconds;
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

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Decode from memory: one warm-up call per copy of K and V, then kAlternatedRuns calls, each on the next copy and
// each after a read of the copy half the rotation away, so that calls and reads meet memory in the same state.
// Returns the median seconds of a call and of a read.
std::pair<double, double> alternated_seconds(size_t copies, const std::function<gqa::Error(size_t)>& run,
                                             const std::function<double(size_t)>& read, bool* ok) {
  std::vector<double> calls, reads;
  for (size_t i = 0; i < copies + kAlternatedRuns; ++i) {
    const double read_s = read((i + copies / 2) % copies);
    const auto t0 = std::chrono::steady_clock::now();
    *ok = *ok && run(i % copies).ok();
    const double call_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (i < copies) continue;
    calls.push_back(call_s);
    reads.push_back(read_s);
  }
  return {median(calls), median(reads)};
}

// Pairs (query i, key j) the mask allows, with bottom-right alignment: query i sees keys j <= i + Skv - Sq.
double allowed_pairs(const Shape& s) {
  if (!s.causal) return double(s.seqlen_q) * double(s.seqlen_kv);
  double pairs = 0;
  for (int64_t i = 0; i < s.seqlen_q; ++i)
    pairs += double(std::clamp<int64_t>(i + s.seqlen_kv - s.seqlen_q + 1, 0, s.seqlen_kv));
  return pairs;
}

// n elements of dtype t, uniform in [-1, 1).
std::vector<uint8_t> random_elements(gqa::DType t, size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<uint8_t> bytes(n * size_t(gqa::dtype_size(t)));
  for (size_t i = 0; i < n; ++i) {
    const float x = dist(rng);
    if (t == gqa::DType::F32) {
      std::memcpy(bytes.data() + i * 4, &x, 4);
    } else {
      const uint16_t h = t == gqa::DType::BF16 ? gqa::f32_to_bf16(x) : gqa::f32_to_f16(x);
      std::memcpy(bytes.data() + i * 2, &h, 2);
    }
  }
  return bytes;
}

bool bench_shapes(const std::vector<Shape>& shapes, const Buffers& mem,
                  const std::function<gqa::Error(const gqa::AttentionParams&, const int32_t*)>& attend,
                  const std::function<void()>& sync, const char* backend, std::vector<BenchResult>* results) {
  bool all_ok = true;
  std::mt19937 rng(1);
  for (const Shape& s : shapes) {
    const size_t esize = size_t(gqa::dtype_size(s.dtype));
    const size_t q_bytes = size_t(s.batch * s.seqlen_q * kHeadsQ * kHeadDim) * esize;
    const size_t kv_bytes = size_t(s.batch * s.seqlen_kv * kHeadsKv * kHeadDim) * esize;  // K or V
    const size_t copies = s.decode ? std::max<size_t>(1, (kDecodeWorkingSetBytes + 2 * kv_bytes - 1) / (2 * kv_bytes))
                                   : 1;
    const std::vector<uint8_t> q_host = random_elements(s.dtype, q_bytes / esize, rng);
    const std::vector<uint8_t> kv_host = random_elements(s.dtype, kv_bytes / esize, rng);
    void* q = mem.alloc(q_bytes);
    void* out = mem.alloc(q_bytes);
    std::vector<void*> ks(copies), vs(copies);
    bool allocated = q && out;
    for (size_t c = 0; c < copies; ++c) {
      ks[c] = mem.alloc(kv_bytes), vs[c] = mem.alloc(kv_bytes);
      allocated = allocated && ks[c] && vs[c];
    }
    std::vector<int32_t> head_map(kHeadsQ);
    for (int64_t h = 0; h < kHeadsQ; ++h) head_map[size_t(h)] = int32_t(h / (kHeadsQ / kHeadsKv));
    void* head_map_mem = mem.alloc(head_map.size() * 4);
    BenchResult r;
    r.name = s.name, r.dtype = gqa::dtype_name(s.dtype), r.batch = s.batch, r.seqlen_q = s.seqlen_q;
    r.seqlen_kv = s.seqlen_kv, r.heads_q = kHeadsQ, r.heads_kv = kHeadsKv, r.head_dim = kHeadDim;
    r.causal = s.causal, r.decode = s.decode;
    if (!allocated || !head_map_mem) {
      std::printf("BENCH %-5s %-28s skipped: out of memory\n", backend, s.name);
      r.error = "out of memory";
      all_ok = false;
    } else {
      mem.upload(q, q_host.data(), q_bytes);
      for (size_t c = 0; c < copies; ++c) {
        mem.upload(ks[c], kv_host.data(), kv_bytes);
        mem.upload(vs[c], kv_host.data(), kv_bytes);
      }
      mem.upload(head_map_mem, head_map.data(), head_map.size() * 4);
      gqa::AttentionRequest req;
      auto arg = [&](const void* data, int64_t seq, int64_t heads) {
        gqa::TensorArg t;
        t.data = data;
        t.dtype = s.dtype;
        t.rank = 4;
        t.shape[0] = s.batch, t.shape[1] = seq, t.shape[2] = heads, t.shape[3] = kHeadDim;
        t.bytes = size_t(s.batch * seq * heads * kHeadDim) * esize;
        return t;
      };
      req.q = arg(q, s.seqlen_q, kHeadsQ);
      req.k = arg(ks[0], s.seqlen_kv, kHeadsKv);
      req.v = arg(vs[0], s.seqlen_kv, kHeadsKv);
      req.out = arg(out, s.seqlen_q, kHeadsQ);
      req.causal = s.causal;
      req.alignment = gqa::Alignment::BottomRight;
      gqa::PreparedAttention prepared;
      gqa::Error e = gqa::prepare_attention(req, &prepared);
      gqa::AttentionParams p = prepared.params;
      p.head_map = static_cast<const int32_t*>(head_map_mem);
      bool ok = e.ok();
      double t = 0;
      if (ok && s.decode && mem.read_seconds) {
        const auto run = [&](size_t c) {
          gqa::AttentionParams pc = p;
          pc.k = ks[c], pc.v = vs[c];
          return attend(pc, head_map.data());
        };
        const auto read = [&](size_t c) { return mem.read_seconds(ks[c], vs[c], kv_bytes); };
        double read_s = 0;
        std::tie(t, read_s) = alternated_seconds(copies, run, read, &ok);
        r.read_ms = read_s * 1e3;
      } else if (ok) {
        t = seconds_per_run([&] { return attend(p, head_map.data()); }, sync, &ok);
      }
      r.ok = ok;
      r.ms = t * 1e3;
      if (!ok) {
        std::printf("BENCH %-5s %-28s FAILED %s\n", backend, s.name, e.message.c_str());
        r.error = e.ok() ? "a timed run failed" : e.message;
        all_ok = false;
      } else if (s.decode) {
        r.gbps = 2.0 * double(kv_bytes) / t * 1e-9;  // K and V, each read once
        std::printf("BENCH %-5s %-28s %9.3f ms  %8.1f GB/s (K/V read)", backend, s.name, r.ms, r.gbps);
        if (r.read_ms > 0) std::printf("  read %.3f ms, ours/read %.2f", r.read_ms, r.ms / r.read_ms);
        std::printf("\n");
      } else {
        const double flops = 4.0 * double(s.batch * kHeadsQ * kHeadDim) * allowed_pairs(s);
        r.tflops = flops / t * 1e-12;
        std::printf("BENCH %-5s %-28s %9.3f ms  %8.2f TFLOP/s\n", backend, s.name, r.ms, r.tflops);
      }
    }
    results->push_back(r);
    for (void* ptr : {q, out, head_map_mem}) mem.release(ptr);
    for (size_t c = 0; c < copies; ++c) mem.release(ks[c]), mem.release(vs[c]);
  }
  return all_ok;
}

}  // namespace

bool run_benchmarks(const std::string& backend, int threads, BenchReport* report) {
  report->backend = backend;
  if (backend == "cpu") {
    // npm run bench's cases, so that the kernel's time from Node and from here compare.
    const std::vector<Shape> shapes = {{"prefill-b1-512-causal", 1, 512, 512, true, false, gqa::DType::F32},
                                       {"decode-b1-2k", 1, 1, 2048, true, true, gqa::DType::F32},
                                       {"prefill-b4-512-causal", 4, 512, 512, true, false, gqa::DType::F32},
                                       {"decode-b4-2k", 4, 1, 2048, true, true, gqa::DType::F32}};
    // Placed as npm run bench's K and V (Tensor.zeros' storage): large buffers on huge pages from a 2 MiB boundary.
    constexpr std::align_val_t kAlignment{gqa::cpu::kHugePageBytes};
    Buffers mem{[](size_t n) {
                  void* p = ::operator new[](n, kAlignment, std::nothrow);
                  if (p != nullptr) gqa::cpu::request_huge_pages(p, n);
                  return p;
                },
                [](void* dst, const void* src, size_t n) { std::memcpy(dst, src, n); },
                [](void* p) { ::operator delete[](p, kAlignment); },
                [&](const void* k, const void* v, size_t bytes) {
                  return gqa::cpu::time_read({{k, bytes}, {v, bytes}}, gqa::cpu::requested_threads(threads)).seconds;
                }};
    std::printf("BENCH cpu: %d threads (0 = all cores), SIMD %s, f32, Hq 32, Hkv 8, D 128; decode over copies of "
                "K and V totalling %zu MiB, each call after a read of another copy\n",
                threads, gqa::cpu_simd_level(), kDecodeWorkingSetBytes >> 20);
    report->device = std::string("cpu, SIMD ") + gqa::cpu_simd_level() + ", threads " + std::to_string(threads);
    return bench_shapes(shapes, mem, [&](const gqa::AttentionParams& p, const int32_t* host_head_map) {
                          gqa::AttentionParams hp = p;
                          hp.head_map = host_head_map;
                          return gqa::cpu_attention(hp, threads);
                        },
                        [] {}, "cpu", &report->results);
  }
#if defined(GQA_WITH_CUDA) || defined(GQA_WITH_HIP)
  const std::vector<Shape> shapes = {{"prefill-4096-causal", 1, 4096, 4096, true, false, gqa::DType::BF16},
                                     {"prefill-4096", 1, 4096, 4096, false, false, gqa::DType::BF16},
                                     {"decode-b64-8k", 64, 1, 8192, false, true, gqa::DType::BF16},
                                     {"decode-b1-64k", 1, 1, 65536, false, true, gqa::DType::BF16}};
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
  std::fprintf(f, "{\n  \"reports\": [");
  for (size_t i = 0; i < reports.size(); ++i) {
    const BenchReport& rep = reports[i];
    std::fprintf(f, "%s\n    {\"backend\": %s, \"device\": %s, \"copy_gbps\": %.9g, \"results\": [", i ? "," : "",
                 json_string(rep.backend).c_str(), json_string(rep.device).c_str(), rep.copy_gbps);
    for (size_t j = 0; j < rep.results.size(); ++j) {
      const BenchResult& r = rep.results[j];
      std::fprintf(f,
                   "%s\n      {\"name\": %s, \"dtype\": %s, \"batch\": %lld, \"seqlen_q\": %lld, \"seqlen_kv\": %lld, "
                   "\"heads_q\": %lld, \"heads_kv\": %lld, \"head_dim\": %lld, \"causal\": %s, \"decode\": %s, "
                   "\"ok\": %s, \"ms\": %.9g, \"read_ms\": %.9g, \"tflops\": %.9g, \"gbps\": %.9g, \"error\": %s}",
                   j ? "," : "", json_string(r.name).c_str(), json_string(r.dtype).c_str(), (long long)r.batch,
                   (long long)r.seqlen_q, (long long)r.seqlen_kv, (long long)r.heads_q, (long long)r.heads_kv,
                   (long long)r.head_dim, r.causal ? "true" : "false", r.decode ? "true" : "false",
                   r.ok ? "true" : "false", r.ms, r.read_ms, r.tflops, r.gbps, json_string(r.error).c_str());
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
