// The kernel's path for sets of items with few rows each (decode: the query heads of one KV head at one position,
// one item per KV head), where a product transposed over the rows would leave most vector lanes idle. K and V rows
// are read where they are, in their own dtype, converted to f32 in registers (rows_contiguous), paged or not; only
// rows whose head dim is strided, or not a whole number of vectors, are first converted into the items' K and V
// tiles. Per tile of keys [t0, t0 + kKvTile):
//   1. scores, window of kScoreWindow keys by window; in each, kScoreGroup items at a time through the window's keys,
//      block of kKeyBlock keys by block. In [B, S, Hkv, D] the rows of all KV heads of one key are one contiguous
//      run, so K streams through memory a window at a time, each byte read once. Each query vector loaded serves the
//      kKeyBlock keys of a block, each key vector a block of rows;
//   2. online softmax of each item along its keys: scores row-major (ws.p[r * kKvTile + c]), vectorised over keys;
//   3. outputs O[r] += sum_c P[r][c] V[c], block of kOutputKeys keys by block across the items (V, too, nearly in
//      memory order), and in each item's block run of kOutputRun keys by run, a block of output vectors held in
//      registers across the keys of a run. Each output adds its keys in key order, and the running sum l adds the
//      same weights in the same order after the same rescale, so that V all ones gives exactly l / l = 1.
// While a window of scores or a block of outputs computes, the rows one ahead are prefetched in address order
// (PrefetchStream), as the passes' own order, a few KV heads at a time, is one the hardware prefetcher follows poorly.
#pragma once
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernel_rows.h"

namespace gqa {
namespace cpu {

constexpr int kKeyBlock = 4;  // keys per score block: VecX::reduce_add4 sums the four dot products of a row
static_assert(kKvTile % kKeyBlock == 0, "a short last score block must stay inside the tile's columns");
// Keys per score window, and items per group within it. With every item in turn on each block of keys, as before
// windows, the query rows of all items (16 KiB in f32 decode with Hq=32, Hkv=8, D=128) came round once per block,
// with the K rows streaming through L1 in between, and were (likely) loaded from L2 again; two items over a window
// of 16 keys can keep theirs (4 KiB) in L1 across the window's blocks. In alternate calls of one process (f32 decode
// from memory, B=1, 2048 keys, 2 threads, 2-core Zen 5 VM) that took 7.5% off a call in the machine's fast minutes
// and 1.3% in its slow ones; 4 items or 1, or windows of 8 or 32 keys, took less off.
constexpr int64_t kScoreWindow = 16;
constexpr int64_t kScoreGroup = 2;
static_assert(kScoreWindow % kKeyBlock == 0, "windows are whole score blocks");
// Keys ahead of a score window whose K and V rows get their first line prefetched (prefetch_key_start).
constexpr int64_t kPageAheadKeys = 32;

// Rows per score block and output vectors per output block: as many accumulators as the registers hold, with room
// for the operands (32 vector registers with AVX-512, 16 otherwise).
template <class V>
constexpr int kScoreRows = V::registers >= 32 ? 4 : 2;
template <class V>
constexpr int kOutputVectors = V::registers >= 32 ? 4 : 2;
constexpr int kOutputRows = 4;
// Keys per output block, taken across all the items before the next block. In [B, S, Hkv, D] the rows of one key
// for all KV heads fill one 4 KiB page, and the hardware prefetcher follows one stream per page: a block of 16
// keys keeps 16 streams going, where a whole tile per item (64 keys then) kept 64 and was 15-20% slower from memory.
constexpr int64_t kOutputKeys = 16;
// Keys per run of an item's output block: each run goes through all its output vectors before the next run, the
// output rows loaded and stored once per run and per block of vectors. With the whole block as one run, each block of
// vectors went through the block's 16 V rows, whose lines at one offset of their 4 KiB pages share one set of the
// 12-way L1 (the likely cost); runs of 4 keys took 2-13% off f32 decode from memory (B=1, Hq=32, Hkv=8, D=128, 2048
// keys, 2 threads, 2-core Zen 5 VM, alternate calls of one process; the most in the machine's fast minutes), though
// with K and V in cache a call took 20% longer. Runs of 2 or 8 keys took less off. With AVX2's blocks of 2 vectors,
// four times the reloads, runs of 4 were 2% slower: there a run is a whole block.
template <class V>
constexpr int64_t kOutputRun = V::registers >= 32 ? 4 : kOutputKeys;

// The keys a tile's prefetches address, by column from the tile's start: its own keys [t0, t0 + n) of `items`, then,
// from column n on, the keys that follow: the items' next tile, or, after their last, the first keys of the items the
// thread runs next (Lookahead), so that no set of items starts with nothing in flight.
struct TileKeys {
  const WorkItem* items;
  int64_t count, t0, n;
  const WorkItem* after;  // nullptr when nothing follows
  int64_t after_count, after_t0;

  TileKeys(const WorkItem* items, int64_t count, int64_t t0, const Lookahead& ahead)
      : items(items), count(count), t0(t0), n(std::min(kKvTile, items[0].key_end - t0)), after(items),
        after_count(count), after_t0(t0 + n) {
    if (after_t0 < items[0].key_end) return;
    after = ahead.next_count > 0 ? ahead.next : nullptr;
    after_count = ahead.next_count;
    after_t0 = after ? after[0].key_begin : 0;
  }

  // The stream over the rows (K or V: base, stride) of `keys` keys from column c, up to the end of the part, the tile
  // or what follows it, that c falls in.
  PrefetchStream stream(const AttentionParams& p, const void* base, const int64_t stride[4], int64_t c, int64_t keys,
                        int rate = 1) const {
    if (c < n) return key_rows_stream(p, base, stride, items, count, t0 + c, t0 + std::min(c + keys, n), rate);
    if (!after) return {};
    return key_rows_stream(p, base, stride, after, after_count, after_t0 + c - n, after_t0 + c - n + keys, rate);
  }

  // prefetch_key_start for the key at column c.
  void prefetch_start(const AttentionParams& p, int64_t c) const {
    if (c < n) prefetch_key_start(p, items[0], t0 + c);
    else if (after) prefetch_key_start(p, after[0], after_t0 + c - n);
  }
};

// What the scores multiply: the f32 query rows with K rows of dtype T converted to f32, a vector at a time...
template <class V, DType T>
struct F32Scores {
  using Key = Elem<T>;
  using Query = float;
  using Operand = typename V::reg;
  static constexpr int64_t step = V::width;
  static Operand load_key(const Key* k) { return load_f32<V, T>(k); }
  static Operand load_query(const Query* q) { return V::load(q); }
  static typename V::reg multiply_add(typename V::reg acc, Operand q, Operand k) { return V::fma(q, k, acc); }
};

// ... or, with a bf16 dot product (V::bf16_dot, bf16 inputs), the bf16 query rows with the bf16 K rows, two
// elements to a lane.
template <class V>
struct Bf16PairScores {
  using Key = uint16_t;
  using Query = uint16_t;
  using Operand = typename V::bf16_pairs;
  static constexpr int64_t step = V::bf16_dot_block;
  static Operand load_key(const Key* k) { return V::load_pairs(k); }
  static Operand load_query(const Query* q) { return V::load_pairs(q); }
  static typename V::reg multiply_add(typename V::reg acc, Operand q, Operand k) { return V::dot_pairs(acc, q, k); }
};

// s[r * lds + k] = keys[k] . q[r] for RB rows (at q + r * ldq) and the kKeyBlock keys, over d_cols elements (whole
// steps of S, at least one). Here and in output_block the loops run at least once and say so (do-while): with a
// loop that might not run, GCC 12 kept the accumulators in memory around it, a store and a load of each per call,
// which took about 12% of a decode call with K and V in cache.
// The innermost blocks of both passes are inlined into their callers whatever GCC's heuristics say: in alternate
// calls of one process (f32 decode from memory, Hq=32, Hkv=8, D=128, 2048 keys, 2 threads, 2-core Zen 5 VM) that took
// 0.6-3.2% off batch 1 in five rounds and 0.8% off batch 4 in two.
#if defined(__GNUC__)
#define GQA_BLOCK_INLINE inline __attribute__((always_inline))
#else
#define GQA_BLOCK_INLINE inline
#endif

template <class V, int RB, class S>
GQA_BLOCK_INLINE void score_block(int64_t d_cols, const typename S::Key* const keys[kKeyBlock],
                                  const typename S::Query* q, int64_t ldq, float* s, int64_t lds,
                                  PrefetchStream& ahead) {
  typename V::reg acc[RB][kKeyBlock];
  for (int r = 0; r < RB; ++r)
    for (int k = 0; k < kKeyBlock; ++k) acc[r][k] = V::zero();
  int64_t d = 0;
  do {
    typename S::Operand kv[kKeyBlock];
    for (int k = 0; k < kKeyBlock; ++k) kv[k] = S::load_key(keys[k] + d);
    ahead.lines(kKeyBlock);
    for (int r = 0; r < RB; ++r) {
      const typename S::Operand qv = S::load_query(q + r * ldq + d);
      for (int k = 0; k < kKeyBlock; ++k) acc[r][k] = S::multiply_add(acc[r][k], qv, kv[k]);
    }
    d += S::step;
  } while (d < d_cols);
  for (int r = 0; r < RB; ++r) V::reduce_add4(acc[r][0], acc[r][1], acc[r][2], acc[r][3], s + r * lds);
}

// score_block over all R rows of an item.
template <class V, class S>
void score_rows(int64_t R, int64_t d_cols, const typename S::Key* const keys[kKeyBlock], const typename S::Query* q,
                int64_t ldq, float* s, int64_t lds, PrefetchStream& ahead) {
  constexpr int RB = kScoreRows<V>;
  int64_t r = 0;
  for (; r + RB <= R; r += RB) score_block<V, RB, S>(d_cols, keys, q + r * ldq, ldq, s + r * lds, lds, ahead);
  switch (R - r) {
    case 3: score_block<V, 3, S>(d_cols, keys, q + r * ldq, ldq, s + r * lds, lds, ahead); break;
    case 2: score_block<V, 2, S>(d_cols, keys, q + r * ldq, ldq, s + r * lds, lds, ahead); break;
    case 1: score_block<V, 1, S>(d_cols, keys, q + r * ldq, ldq, s + r * lds, lds, ahead); break;
    default: break;
  }
}

// Step 1 for one item and the kKeyBlock keys from tile column c: raw dot products into its ws.p, from K rows of
// dtype T read in place (InPlace), from the bf16 K rows by the bf16 dot product (k_bf16, bf16_scores) or from the
// item's K tile, into which rows are converted here, with their V rows. Rows read in place are the block's rows of
// the set's first item (first_rows, one per key) moved head_bytes on to this item's KV head: the items of a set
// share their batch and keys. A block short of kKeyBlock keys repeats its last key: the extra scores land in columns
// [n, n rounded up to kKeyBlock), inside the tile's kKvTile columns, which the softmax overwrites with -inf or, past
// its vector-rounded width, nothing reads.
template <class V, DType T, bool InPlace>
void score_item_block(const AttentionParams& p, const WorkItem& it, const Workspace& ws, const TileKeys& tile,
                      int64_t c, bool k_bf16, const char* const first_rows[kKeyBlock], int64_t head_bytes,
                      PrefetchStream& ahead) {
  const int64_t keys = std::min<int64_t>(kKeyBlock, tile.n - c), ldd = pad_up(p.head_dim);
  const ItemShape<V> sh(p, it);
  if constexpr (!InPlace)
    for (int64_t k = 0; k < keys; ++k) {
      if (!k_bf16) convert_row<V>(p, p.k, p.k_stride, it, tile.t0 + c + k, ws.k + (c + k) * ldd);
      convert_row<V>(p, p.v, p.v_stride, it, tile.t0 + c + k, ws.v + (c + k) * ldd);
    }
  float* s = ws.p + c;
  if constexpr (V::bf16_dot) {
    if (k_bf16) {  // scores straight from the bf16 K rows, where they are
      const uint16_t* rows[kKeyBlock];
      for (int64_t k = 0; k < kKeyBlock; ++k) rows[k] = reinterpret_cast<const uint16_t*>(first_rows[k] + head_bytes);
      score_rows<V, Bf16PairScores<V>>(sh.R, sh.D, rows, ws.q_bf16, ldd, s, kKvTile, ahead);
      return;
    }
  }
  const Elem<T>* rows[kKeyBlock];
  for (int64_t k = 0; k < kKeyBlock; ++k) {
    if constexpr (InPlace) rows[k] = reinterpret_cast<const Elem<T>*>(first_rows[k] + head_bytes);
    else rows[k] = ws.k + (c + std::min(k, keys - 1)) * ldd;
  }
  score_rows<V, F32Scores<V, T>>(sh.R, sh.d_cols, rows, ws.q, ldd, s, kKvTile, ahead);
}

// Step 1 for keys [t0, t0 + n) of all the items, window by window (kScoreWindow, kScoreGroup).
template <class V, DType T, bool InPlace>
void score_pass(const AttentionParams& p, const WorkItem* items, const Workspace* ws, const TileKeys& tile,
                bool prefetched) {
  const int64_t count = tile.count, n = tile.n;
  const bool k_bf16 = bf16_scores<V>(p);
  for (int64_t w0 = 0; w0 < n; w0 += kScoreWindow) {
    const int64_t w1 = std::min(n, w0 + kScoreWindow);
    for (int64_t c = w0; c < w1; ++c) tile.prefetch_start(p, c + kPageAheadKeys);
    PrefetchStream ahead;
    if constexpr (InPlace) {
      // The items' first window, unless the thread's previous items prefetched it: no earlier pass fetched its keys,
      // so the stream takes them too (but the first block's, which it needs at once), at the rate that covers them
      // and the next window's in one. Past the tile's last window, the stream goes on to the V rows of its first
      // output block.
      if (tile.t0 + w0 == items[0].key_begin && !prefetched)
        ahead = tile.stream(p, p.k, p.k_stride, kKeyBlock, 2 * kScoreWindow - kKeyBlock, 2);
      else if (w0 + kScoreWindow < n)
        ahead = tile.stream(p, p.k, p.k_stride, w0 + kScoreWindow, kScoreWindow);
      else
        ahead = tile.stream(p, p.v, p.v_stride, w0 + kScoreWindow - n, kScoreWindow);
    }
    // The first item's K rows at the window's columns, the tile's last key repeated past its end, worked out once
    // per window rather than per item and block: 1.5% off f32 decode with K and V in cache (B=1, 2048 keys, 2
    // threads, alternate calls), the same bits, the same time from memory.
    const char* first_rows[kScoreWindow];
    for (int64_t x = 0; x < kScoreWindow; ++x)
      first_rows[x] = row_address(p, p.k, p.k_stride, items[0], tile.t0 + std::min(w0 + x, n - 1));
    const int64_t head_bytes = p.k_stride[2] * dtype_size(p.dtype);
    for (int64_t g = 0; g < count; g += kScoreGroup)
      for (int64_t c = w0; c < w1; c += kKeyBlock)
        for (int64_t i = g; i < std::min(count, g + kScoreGroup); ++i)
          score_item_block<V, T, InPlace>(p, items[i], ws[i], tile, c, k_bf16, first_rows + (c - w0),
                                          (items[i].kv_head - items[0].kv_head) * head_bytes, ahead);
  }
}

// Step 2 for one item: scale, softcap and mask its scores of keys [t0, t0 + n), then the online softmax step of each
// row: running max m, weights exp(s - m) in place, rescale alpha of the row's output and sum.
template <class V>
void softmax_rows(const AttentionParams& p, const WorkItem& it, const Workspace& ws, int64_t t0, int64_t n) {
  constexpr int W = V::width;
  const int64_t cols = (n + W - 1) / W * W, ldd = pad_up(p.head_dim), d_cols = ItemShape<V>(p, it).d_cols;
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const bool edge = t0 < it.full_begin || t0 + n > it.full_end;
  const typename V::reg scale = V::set1(p.scale), softcap = V::set1(p.softcap),
                        inv_softcap = V::set1(1.f / p.softcap);
  for (int64_t r = 0; r < it.rows; ++r) {
    float* s = ws.p + r * kKvTile;
    for (int64_t c = 0; c < cols; c += W) {
      typename V::reg x = V::mul(V::load(s + c), scale);
      if (p.softcap > 0.f) x = V::mul(softcap, V::tanh(V::mul(x, inv_softcap)));
      V::store(s + c, x);
    }
    // Keys outside the mask, and the padding past n, get -inf, which exp() turns into an exact 0.
    if (edge) {
      const int64_t at = it.pos[r] + it.mask_offset;
      for (int64_t c = 0; c < n; ++c) {
        const int64_t j = t0 + c;
        if ((p.window_left >= 0 && j < at - p.window_left) || (p.window_right >= 0 && j > at + p.window_right))
          s[c] = neg_inf;
      }
    }
    std::fill(s + n, s + cols, neg_inf);
    typename V::reg tile_max = V::set1(-FLT_MAX);  // a finite floor keeps exp(m_old - m_new) defined
    for (int64_t c = 0; c < cols; c += W) tile_max = V::max(tile_max, V::load(s + c));
    const float m_old = ws.m[r], m_new = std::max(m_old, V::reduce_max(tile_max));
    const typename V::reg m = V::set1(m_new);
    for (int64_t c = 0; c < cols; c += W) V::store(s + c, V::exp(V::sub(V::load(s + c), m)));
    // exp(m_old - m_new) is exactly 0 when the row had no keys (m_old = -FLT_MAX) and now has some; libm reaches that
    // 0 by its slow underflow path, a fixed cost per row that showed in profiles of short decode calls.
    const float alpha = m_old == -FLT_MAX && m_new > m_old ? 0.f : std::exp(m_old - m_new);
    ws.m[r] = m_new;
    if (alpha == 1.f) continue;
    ws.l[r] *= alpha;
    float* o = ws.o + r * ldd;
    for (int64_t d = 0; d < d_cols; d += W) V::store(o + d, V::mul(V::load(o + d), V::set1(alpha)));
  }
}

// o[r][0, NV * W) += sum_c w[r * ldw + c] * v[c * ldv + 0, NV * W) for RB rows, keys c < n (at least one) in order,
// V rows of dtype T; WithSums also adds the same weights to sums[r] in the same order (in a vector of broadcast
// weights, on the adder, which the multiply-adds leave free).
template <class V, int RB, int NV, bool WithSums, DType T>
GQA_BLOCK_INLINE void output_block(int64_t n, const float* w, int64_t ldw, const Elem<T>* v, int64_t ldv, float* o,
                                   int64_t ldo, float* sums, PrefetchStream& ahead) {
  constexpr int W = V::width;
  typename V::reg acc[RB][NV], sum[RB];
  for (int r = 0; r < RB; ++r) {
    for (int k = 0; k < NV; ++k) acc[r][k] = V::load(o + r * ldo + k * W);
    if (WithSums) sum[r] = V::set1(sums[r]);
  }
  int64_t c = 0;
  do {
    typename V::reg vv[NV];
    for (int k = 0; k < NV; ++k) vv[k] = load_f32<V, T>(v + c * ldv + k * W);
    ahead.lines(NV);
    for (int r = 0; r < RB; ++r) {
      const typename V::reg b = V::set1(w[r * ldw + c]);
      for (int k = 0; k < NV; ++k) acc[r][k] = V::fma(b, vv[k], acc[r][k]);
      if (WithSums) sum[r] = V::add(sum[r], b);
    }
  } while (++c < n);
  for (int r = 0; r < RB; ++r) {
    for (int k = 0; k < NV; ++k) V::store(o + r * ldo + k * W, acc[r][k]);
    if (WithSums) sums[r] = V::first(sum[r]);
  }
}

template <class V, int RB, int NV, DType T>
inline void output_block(int64_t n, const float* w, const Elem<T>* v, int64_t ldv, float* o, int64_t ldo,
                         float* sums, PrefetchStream& ahead) {
  if (sums) output_block<V, RB, NV, true, T>(n, w, kKvTile, v, ldv, o, ldo, sums, ahead);
  else output_block<V, RB, NV, false, T>(n, w, kKvTile, v, ldv, o, ldo, sums, ahead);
}

template <class V, int RB, DType T>
void output_rows(int64_t n, int64_t d_cols, const float* w, const Elem<T>* v, int64_t ldv, float* o, int64_t ldo,
                 float* sums, PrefetchStream& ahead) {
  constexpr int W = V::width, NV = kOutputVectors<V>;
  for (int64_t d = 0; d < d_cols; d += NV * W) {
    float* chunk_sums = d == 0 ? sums : nullptr;  // the sums once, with the first output vectors
    switch (std::min<int64_t>(NV, (d_cols - d) / W)) {
      case 4: output_block<V, RB, 4, T>(n, w, v + d, ldv, o + d, ldo, chunk_sums, ahead); break;
      case 3: output_block<V, RB, 3, T>(n, w, v + d, ldv, o + d, ldo, chunk_sums, ahead); break;
      case 2: output_block<V, RB, 2, T>(n, w, v + d, ldv, o + d, ldo, chunk_sums, ahead); break;
      default: output_block<V, RB, 1, T>(n, w, v + d, ldv, o + d, ldo, chunk_sums, ahead); break;
    }
  }
}

// Step 3 for one item: its outputs and sums over the keys in tile columns [c0, c0 + n), whose V rows (of dtype T) are
// at v with row stride ldv, run by run (kOutputRun).
template <class V, DType T>
void output_pass(const AttentionParams& p, const WorkItem& it, const Workspace& ws, int64_t c0, int64_t n,
                 const Elem<T>* v, int64_t ldv, PrefetchStream& ahead) {
  const int64_t ldd = pad_up(p.head_dim), d_cols = ItemShape<V>(p, it).d_cols;
  for (int64_t c = 0; c < n; c += kOutputRun<V>) {
    const int64_t keys = std::min(kOutputRun<V>, n - c);
    const Elem<T>* run = v + c * ldv;
    for (int64_t r = 0; r < it.rows; r += kOutputRows) {
      const float* w = ws.p + r * kKvTile + c0 + c;
      float* o = ws.o + r * ldd;
      switch (std::min<int64_t>(kOutputRows, it.rows - r)) {
        case 4: output_rows<V, 4, T>(keys, d_cols, w, run, ldv, o, ldd, ws.l + r, ahead); break;
        case 3: output_rows<V, 3, T>(keys, d_cols, w, run, ldv, o, ldd, ws.l + r, ahead); break;
        case 2: output_rows<V, 2, T>(keys, d_cols, w, run, ldv, o, ldd, ws.l + r, ahead); break;
        default: output_rows<V, 1, T>(keys, d_cols, w, run, ldv, o, ldd, ws.l + r, ahead); break;
      }
    }
  }
}

// Keys [t0, t0 + kKvTile) of a set of few-row items sharing one key range, K and V rows read in place as dtype T
// (InPlace) or from the items' f32 tiles (T = F32).
template <class V, DType T, bool InPlace>
void few_rows_tile(const AttentionParams& p, const WorkItem* items, const Workspace* ws, int64_t count, int64_t t0,
                   const Lookahead& lookahead) {
  static_assert(InPlace || T == DType::F32, "the tiles hold f32");
  const TileKeys tile(items, count, t0, lookahead);
  const int64_t n = tile.n;
  score_pass<V, T, InPlace>(p, items, ws, tile, lookahead.prefetched);
  for (int64_t i = 0; i < count; ++i) softmax_rows<V>(p, items[i], ws[i], t0, n);
  for (int64_t c = 0, keys; c < n; c += keys) {
    keys = std::min({kOutputKeys, n - c, page_end(p, t0 + c) - (t0 + c)});  // V rows at one stride
    // Past the tile's last output block, the stream goes on to the K rows of the keys that follow the tile.
    const int64_t at = c + keys;
    PrefetchStream ahead = !InPlace ? PrefetchStream()
                           : at < n ? tile.stream(p, p.v, p.v_stride, at, kOutputKeys)
                                    : tile.stream(p, p.k, p.k_stride, at, kOutputKeys);
    for (int64_t i = 0; i < count; ++i) {
      if constexpr (InPlace)
        output_pass<V, T>(p, items[i], ws[i], c, keys, row_in_place<Elem<T>>(p, p.v, p.v_stride, items[i], t0 + c),
                          p.v_stride[1], ahead);
      else
        output_pass<V, T>(p, items[i], ws[i], c, keys, ws[i].v + c * pad_up(p.head_dim), pad_up(p.head_dim), ahead);
    }
  }
}

template <class V>
void attend_few_rows_tile(const AttentionParams& p, const WorkItem* items, const Workspace* ws, int64_t count,
                          int64_t t0, const Lookahead& ahead) {
  if (!rows_contiguous<V>(p)) return few_rows_tile<V, DType::F32, false>(p, items, ws, count, t0, ahead);
  switch (p.dtype) {
    case DType::F32: few_rows_tile<V, DType::F32, true>(p, items, ws, count, t0, ahead); break;
    case DType::BF16: few_rows_tile<V, DType::BF16, true>(p, items, ws, count, t0, ahead); break;
    case DType::F16: few_rows_tile<V, DType::F16, true>(p, items, ws, count, t0, ahead); break;
  }
}

}  // namespace cpu
}  // namespace gqa
