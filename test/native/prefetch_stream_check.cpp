// The few-rows passes' prefetch streams (key_rows_stream, csrc/cpu/kernel_rows.h) cover exactly the K or V rows of a
// run of keys: all the items' rows where they fill one contiguous range (all the KV heads of [B, S, Hkv, D], or one
// KV head of a head-major view), clipped to the items' keys and, with pages, to the first key's page; and no stream
// where the rows are not one range (some of the heads of [B, S, Hkv, D], several of a head-major view). A lost
// stream changes no result, only the speed of decode from memory (about half of it), so no test of results sees it.
// Prints "PASS <case>" or "FAIL <case>: ..." per case, then "prefetch_stream_check: all passed"; exit status 0 when
// every case passes.
#include <cstdint>
#include <cstdio>
#include <vector>

#include "cpu/kernel_rows.h"

namespace {

using gqa::AttentionParams;
using gqa::cpu::PrefetchStream;
using gqa::cpu::WorkItem;

constexpr int64_t kKeys = 64, kHeads = 4, kDim = 32;  // f32 K of one sequence: kKeys x kHeads rows of kDim
constexpr int64_t kRowBytes = kDim * 4;

int failures = 0;

// The stream over keys [j0, j1) of items (KV heads) [h0, h0 + count), against the byte offsets [begin, end) from
// the start of K, or against no stream (begin == end == -1).
void expect_stream(const char* name, const AttentionParams& p, int64_t h0, int64_t count, int64_t j0, int64_t j1,
                   int64_t key_end, int64_t begin, int64_t end) {
  std::vector<WorkItem> items(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    items[size_t(i)].kv_head = h0 + i;
    items[size_t(i)].key_end = key_end;
  }
  const PrefetchStream s = gqa::cpu::key_rows_stream(p, p.k, p.k_stride, items.data(), count, j0, j1);
  const char* k = static_cast<const char*>(p.k);
  const bool none = s.next() == s.end();
  const int64_t got_begin = none ? -1 : s.next() - k, got_end = none ? -1 : s.end() - k;
  if (got_begin == begin && got_end == end) {
    std::printf("PASS %s\n", name);
    return;
  }
  std::printf("FAIL %s: stream [%lld, %lld), expected [%lld, %lld)\n", name, (long long)got_begin, (long long)got_end,
              (long long)begin, (long long)end);
  ++failures;
}

AttentionParams params(const float* k, int64_t key_stride, int64_t head_stride) {
  AttentionParams p;
  p.batch = 1;
  p.seqlen_kv = kKeys;
  p.heads_kv = kHeads;
  p.head_dim = kDim;
  p.k = k;
  const int64_t stride[4] = {kKeys * kHeads * kDim, key_stride, head_stride, 1};
  for (int i = 0; i < 4; ++i) p.k_stride[i] = stride[i];
  return p;
}

}  // namespace

int main() {
  std::vector<float> k(static_cast<size_t>(kKeys * kHeads * kDim));
  const int64_t key_bytes = kHeads * kRowBytes;

  // [B, S, Hkv, D]: the rows of all heads of keys [8, 24) are one range.
  const AttentionParams bshd = params(k.data(), kHeads * kDim, kDim);
  expect_stream("bshd, all heads", bshd, 0, kHeads, 8, 24, kKeys, 8 * key_bytes, 24 * key_bytes);
  // Some of the heads (a set split by heads) leave gaps between keys: no stream.
  expect_stream("bshd, heads 1-2: no stream", bshd, 1, 2, 8, 24, kKeys, -1, -1);
  expect_stream("bshd, clipped to the items' keys", bshd, 0, kHeads, 56, 80, 60, 56 * key_bytes, 60 * key_bytes);
  expect_stream("bshd, no keys left", bshd, 0, kHeads, 60, 80, 60, -1, -1);

  // Head-major [B, Hkv, S, D] seen through strides: one head's rows are one range, several heads' are not.
  const AttentionParams bhsd = params(k.data(), kDim, kKeys * kDim);
  expect_stream("bhsd, one head", bhsd, 2, 1, 8, 24, kKeys, (2 * kKeys + 8) * kRowBytes, (2 * kKeys + 24) * kRowBytes);
  expect_stream("bhsd, two heads: no stream", bhsd, 2, 2, 8, 24, kKeys, -1, -1);

  // Pages of 16 keys in the pool order 2, 0, 3, 1 ([pages, 16, Hkv, D]): a stream ends at its first key's page end.
  const int32_t table[4] = {2, 0, 3, 1};
  const int32_t seqlens[1] = {int32_t(kKeys)};
  AttentionParams pages = params(k.data(), kHeads * kDim, kDim);
  pages.k_stride[0] = 16 * kHeads * kDim;
  pages.page_table = table;
  pages.page_table_stride = 4;
  pages.page_size = 16;
  pages.seqlens_kv = seqlens;
  // Keys 20-27 are rows 4-11 of the sequence's page 1, pool slot 0; keys 8-15 rows 8-15 of its page 0, slot 2.
  expect_stream("paged, within a page", pages, 0, kHeads, 20, 28, kKeys, 4 * key_bytes, 12 * key_bytes);
  expect_stream("paged, clipped at the page end", pages, 0, kHeads, 8, 24, kKeys, (2 * 16 + 8) * key_bytes,
                3 * 16 * key_bytes);

  if (failures == 0) std::printf("prefetch_stream_check: all passed\n");
  return failures == 0 ? 0 : 1;
}
