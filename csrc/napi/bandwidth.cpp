#include "napi/bandwidth.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cpu/huge_pages.h"
#include "cpu/timed_read.h"
#include "napi/convert.h"

namespace gqa_napi {
namespace {

// Runs fn(t, begin, end) on `threads` threads, each over its contiguous share of [0, words).
template <typename Fn>
void split_across_threads(size_t words, int threads, Fn fn) {
  std::vector<std::thread> pool;
  const size_t share = (words + threads - 1) / threads;
  for (int t = 0; t < threads; ++t) {
    const size_t begin = std::min(words, t * share), end = std::min(words, begin + share);
    pool.emplace_back(fn, t, begin, end);
  }
  for (std::thread& th : pool) th.join();
}

}  // namespace

// The best of `repeats` timed passes in which `threads` threads each sum their share of a `bytes` buffer.
// Pass a buffer much larger than the last-level cache so that the figure is DRAM bandwidth.
Napi::Value MeasureReadBandwidth(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto integer_arg = [&](size_t i, const char* name, double min) {
    if (info.Length() <= i || !info[i].IsNumber()) throw_error(env, gqa::Status::InvalidOption, std::string(name) + ": expected a number");
    const double v = info[i].As<Napi::Number>().DoubleValue();
    if (!(v >= min) || v > 9007199254740991.0 || v != static_cast<double>(static_cast<int64_t>(v))) {
      throw_error(env, gqa::Status::InvalidOption, std::string(name) + ": expected an integer >= " + std::to_string(int64_t(min)));
    }
    return static_cast<int64_t>(v);
  };
  const size_t bytes = static_cast<size_t>(integer_arg(0, "bytes", 1 << 20));
  const int threads = static_cast<int>(std::min<int64_t>(integer_arg(1, "threads", 1), 1024));
  const int repeats = static_cast<int>(std::min<int64_t>(integer_arg(2, "repeats", 1), 1000));

  const size_t words = bytes / sizeof(uint64_t);
  std::unique_ptr<uint64_t[]> buffer(new (std::nothrow) uint64_t[words]);
  if (!buffer) throw_error(env, gqa::Status::OutOfMemory, "bytes: cannot allocate " + std::to_string(bytes) + " bytes");
  // On huge pages where the system has them, as the package's large tensors are (lib/tensor.ts): the best the
  // machine reads.
  gqa::cpu::request_huge_pages(buffer.get(), words * sizeof(uint64_t));
  // Each thread writes its own share first, so the pages are mapped (and placed) where that thread reads them.
  split_across_threads(words, threads, [&](int, size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) buffer[i] = i;
  });

  const uint64_t expected = words % 2 == 0 ? uint64_t(words / 2) * uint64_t(words - 1) : uint64_t(words) * uint64_t((words - 1) / 2);
  std::vector<uint64_t> partial(threads);
  double best_seconds = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    split_across_threads(words, threads, [&](int t, size_t begin, size_t end) {
      partial[t] = gqa::cpu::sum_words(reinterpret_cast<const unsigned char*>(buffer.get() + begin), end - begin);
    });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    uint64_t total = 0;
    for (uint64_t s : partial) total += s;
    if (total != expected) throw_error(env, gqa::Status::Internal, "measureReadBandwidth: wrong checksum");
    if (r == 0 || seconds < best_seconds) best_seconds = seconds;
  }
  return Napi::Number::New(env, double(words * sizeof(uint64_t)) / best_seconds / 1e9);
}

// Reads every whole 8-byte word of the given typed arrays once (gqa::cpu::time_read, on the CPU backend's own pool):
// the decode bound measured on the very buffers a decode call reads, with the same threads. Returns { seconds,
// bytes, checksum }: the bytes read and their sum as 64-bit little-endian words (a BigInt, modulo 2^64), so a caller
// can check what was read.
Napi::Value TimeRead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsNumber())
    throw_error(env, gqa::Status::InvalidOption, "timeRead(arrays, threads): expected an array of typed arrays and a number");
  const Napi::Array list = info[0].As<Napi::Array>();
  const double threads_arg = info[1].As<Napi::Number>().DoubleValue();
  if (!(threads_arg >= 1 && threads_arg <= 1024) || threads_arg != double(int(threads_arg)))
    throw_error(env, gqa::Status::InvalidOption, "threads: expected an integer from 1 to 1024");
  std::vector<gqa::cpu::ByteRange> ranges;
  for (uint32_t i = 0; i < list.Length(); ++i) {
    const HostBytes host = typed_array_bytes(env, list.Get(i), "arrays[" + std::to_string(i) + "]");
    ranges.push_back({host.data, host.bytes});
  }
  const gqa::cpu::TimedRead read = gqa::cpu::time_read(ranges, int(threads_arg));
  Napi::Object result = Napi::Object::New(env);
  result.Set("seconds", Napi::Number::New(env, read.seconds));
  result.Set("bytes", Napi::Number::New(env, double(read.bytes)));
  result.Set("checksum", Napi::BigInt::New(env, read.checksum));
  return result;
}

}  // namespace gqa_napi
