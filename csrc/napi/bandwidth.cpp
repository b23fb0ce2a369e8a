#include "napi/bandwidth.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "cpu/timed_read.h"
#include "napi/convert.h"

namespace gqa_napi {
namespace {

int threads_arg(Napi::Env env, Napi::Value value) {
  const double threads = value.As<Napi::Number>().DoubleValue();
  if (!(threads >= 1 && threads <= 1024) || threads != double(int(threads)))
    throw_error(env, gqa::Status::InvalidOption, "threads: expected an integer from 1 to 1024");
  return int(threads);
}

Napi::Object read_result(Napi::Env env, const gqa::cpu::TimedRead& read) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("seconds", Napi::Number::New(env, read.seconds));
  result.Set("bytes", Napi::Number::New(env, double(read.bytes)));
  result.Set("checksum", Napi::BigInt::New(env, read.checksum));
  return result;
}

}  // namespace

Napi::Value StreamRead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[1].IsNumber())
    throw_error(env, gqa::Status::InvalidOption, "streamRead(array, threads): expected a typed array and a number");
  const HostBytes host = typed_array_bytes(env, info[0], "array");
  const int threads = threads_arg(env, info[1]);
  const auto* data = static_cast<const unsigned char*>(host.data);
  const size_t words = host.bytes / sizeof(uint64_t);
  // Shares of whole 64-byte lines: with the array on a line boundary, no line is read by two threads.
  const size_t share = ((words + threads - 1) / threads + 7) & ~size_t(7);
  std::vector<uint64_t> partial(threads);
  std::vector<std::thread> pool;
  bool started = true;
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < threads && started; ++t) {
    const size_t begin = std::min(words, t * share), end = std::min(words, begin + share);
    try {
      pool.emplace_back([&partial, t, data, begin, end] {
        partial[t] = gqa::cpu::sum_words(data + begin * sizeof(uint64_t), end - begin);
      });
    } catch (const std::system_error&) {
      started = false;
    }
  }
  for (std::thread& th : pool) th.join();
  if (!started) throw_error(env, gqa::Status::Internal, "streamRead: cannot start " + std::to_string(threads) + " threads");
  gqa::cpu::TimedRead read;
  read.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  read.bytes = words * sizeof(uint64_t);
  for (uint64_t s : partial) read.checksum += s;
  return read_result(env, read);
}

Napi::Value TimeRead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsNumber())
    throw_error(env, gqa::Status::InvalidOption, "timeRead(arrays, threads): expected an array of typed arrays and a number");
  const Napi::Array list = info[0].As<Napi::Array>();
  const int threads = threads_arg(env, info[1]);
  std::vector<gqa::cpu::ByteRange> ranges;
  for (uint32_t i = 0; i < list.Length(); ++i) {
    const HostBytes host = typed_array_bytes(env, list.Get(i), "arrays[" + std::to_string(i) + "]");
    ranges.push_back({host.data, host.bytes});
  }
  return read_result(env, gqa::cpu::time_read(ranges, threads));
}

}  // namespace gqa_napi
