// Reading memory once, timed: the bound decode is held to (the time to read its K and V once). Shared by the
// benchmark's binding (csrc/napi/bandwidth.cpp) and the native harness (csrc/selftest/bench.cpp), so both measure the
// same read.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace gqa {
namespace cpu {

struct ByteRange {
  const void* data;
  size_t bytes;
};

struct TimedRead {
  double seconds = 0;
  size_t bytes = 0;       // whole 8-byte words read, in bytes
  uint64_t checksum = 0;  // their sum as little-endian 64-bit words, modulo 2^64
};

// The sum of `words` 64-bit words from p (which need not be aligned), with independent accumulators so that the
// adds never limit the rate.
uint64_t sum_words(const unsigned char* p, size_t words);

// Reads every whole 8-byte word of the ranges once, on `threads` threads of the CPU backend's own pool, which pull
// 256 KiB chunks from a shared counter as they pull the backend's work items.
TimedRead time_read(const std::vector<ByteRange>& ranges, int threads);

}  // namespace cpu
}  // namespace gqa
