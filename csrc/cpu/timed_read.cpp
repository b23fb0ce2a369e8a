#include "timed_read.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>

#include "parallel.h"

namespace gqa {
namespace cpu {
namespace {

// Bytes per chunk: small enough to share out evenly, large enough that taking one costs nothing.
constexpr size_t kReadChunkBytes = 256 << 10;

}  // namespace

uint64_t sum_words(const unsigned char* p, size_t words) {
  uint64_t s[4] = {0, 0, 0, 0};
  size_t i = 0;
  for (; i + 4 <= words; i += 4)
    for (size_t j = 0; j < 4; ++j) {
      uint64_t w;
      std::memcpy(&w, p + (i + j) * sizeof(uint64_t), sizeof(w));
      s[j] += w;
    }
  for (; i < words; ++i) {
    uint64_t w;
    std::memcpy(&w, p + i * sizeof(uint64_t), sizeof(w));
    s[0] += w;
  }
  return s[0] + s[1] + s[2] + s[3];
}

TimedRead time_read(const std::vector<ByteRange>& ranges, int threads) {
  struct Chunk {
    const unsigned char* begin;
    size_t words;
  };
  std::vector<Chunk> chunks;
  TimedRead result;
  const size_t per_chunk = kReadChunkBytes / sizeof(uint64_t);
  for (const ByteRange& r : ranges) {
    const auto* base = static_cast<const unsigned char*>(r.data);
    const size_t words = r.bytes / sizeof(uint64_t);
    for (size_t w = 0; w < words; w += per_chunk)
      chunks.push_back({base + w * sizeof(uint64_t), std::min(per_chunk, words - w)});
    result.bytes += words * sizeof(uint64_t);
  }
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> checksum{0};
  const auto start = std::chrono::steady_clock::now();
  run_on_threads(threads, [&](int) {
    uint64_t sum = 0;
    for (size_t c = next.fetch_add(1); c < chunks.size(); c = next.fetch_add(1))
      sum += sum_words(chunks[c].begin, chunks[c].words);
    checksum.fetch_add(sum);
  });
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.checksum = checksum.load();
  return result;
}

}  // namespace cpu
}  // namespace gqa
