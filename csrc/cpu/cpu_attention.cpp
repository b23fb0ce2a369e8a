// The fast CPU backend's entry point: plans work items (query rows grouped by KV head, keys split when there are
// too few items to occupy the threads), runs them on the selected SIMD kernel, combines split partials and writes
// the outputs. Results depend only on the shapes, never on the thread count or on scheduling: the key splits are
// fixed by the shapes, each item is computed the same way whichever thread runs it and whichever blocks share its
// set, and splits combine along a fixed tree.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "fault_path.h"
#include "gqa/backends.h"
#include "gqa/request.h"
#include "output.h"
#include "parallel.h"
#include "simd_dispatch.h"
#include "work_item.h"

namespace gqa {
namespace cpu {
namespace {

// Query rows per item: enough that converting a KV tile is cheap next to multiplying it with the rows.
constexpr int64_t kTargetRows = 64;
static_assert(kTargetRows <= kKvTile, "the kernel stages an item's query rows in its K tile");
// Fewer items than this (decode: one query row per head) and the keys are split so every thread has work.
constexpr int64_t kMinItems = 64;
// Smallest key range worth a split of its own.
constexpr int64_t kMinSplitKeys = 128;

// Query rows of one KV head (some of its query heads at a run of positions of one sequence), with the band of keys
// the mask lets any of them see.
struct Block {
  int64_t batch = 0, kv_head = 0;
  int64_t first_row = 0, rows = 0;  // into Plan's per-row arrays
  int64_t mask_offset = 0;
  int64_t band_begin = 0, band_end = 0;  // keys any row may see
  int64_t full_begin = 0, full_end = 0;  // keys every row may see
};

// Blocks are run in sets: blocks of one sequence at the same positions (one per KV head), which share their key band
// and go through it together, tile by tile. Sets have more than one block only when each sequence's rows fit one
// block per KV head (decode, short prefills) and a key's K and V rows of all KV heads are adjacent in memory; an item
// is one key range (split) of one set.
struct Plan {
  std::vector<int64_t> q_offset, pos, head;  // per row
  std::vector<Block> blocks;
  std::vector<int64_t> set_first;  // set s is blocks [set_first[s], set_first[s + 1])
  int64_t splits = 1;              // key ranges per set
  int64_t max_rows = 0, max_set = 0;
};

void add_block(const AttentionParams& p, int64_t b, int64_t g, const int32_t* heads, int64_t num_heads, int64_t i0,
               int64_t i1, Plan* plan) {
  const int64_t skv = p.seq_len_kv(b), off = p.mask_offset(b);
  Block blk;
  blk.batch = b;
  blk.kv_head = g;
  blk.first_row = int64_t(plan->pos.size());
  blk.rows = num_heads * (i1 - i0);
  blk.mask_offset = off;
  for (int64_t hi = 0; hi < num_heads; ++hi) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t h = heads[hi];
      plan->q_offset.push_back(b * p.q_stride[0] + (p.seq_start_q(b) + i) * p.q_stride[1] + h * p.q_stride[2]);
      plan->pos.push_back(i);
      plan->head.push_back(h);
    }
  }
  // Row i may see keys [i + off - left, i + off + right] (a side is unbounded when negative).
  const int64_t left = p.window_left, right = p.window_right;
  blk.band_begin = left >= 0 ? std::max<int64_t>(0, i0 + off - left) : 0;
  blk.band_end = right >= 0 ? std::min(skv, i1 - 1 + off + right + 1) : skv;
  blk.band_end = std::max(blk.band_end, blk.band_begin);
  blk.full_begin = left >= 0 ? i1 - 1 + off - left : 0;
  blk.full_end = right >= 0 ? i0 + off + right + 1 : skv;
  plan->max_rows = std::max(plan->max_rows, blk.rows);
  plan->blocks.push_back(blk);
}

// Whether one key's rows of all KV heads fill one run of heads_kv * head_dim elements, in K and in V, as in
// [B, S, Hkv, D]: a set then reads each key's rows in one pass through memory, nearly in address order.
bool kv_heads_adjacent(const AttentionParams& p) {
  auto adjacent = [&](const int64_t s[4]) {
    return (p.heads_kv - 1) * s[2] + (p.head_dim - 1) * s[3] + 1 == p.heads_kv * p.head_dim;
  };
  return adjacent(p.k_stride) && adjacent(p.v_stride);
}

// Where a key's rows of the KV heads are not adjacent (head-major views, [B, Hkv, S, D], as many KV caches are laid
// out), a set that went through its heads' keys together would read them as Hkv interleaved streams, with no
// prefetch stream over them (key_rows_stream). Each block then runs as a set of its own, its head's rows in address
// order: f32 decode over head-major K and V (B=1, Hq=32, Hkv=8, D=128, 2048 keys, 2 threads) took 1.26-1.32 ms as
// one set and 0.62-0.68 ms so. Like split_sets_by_heads, it leaves the key splits and every block's arithmetic as
// they were, so the layout does not change the bits.
void one_block_per_set(Plan* plan) {
  plan->set_first.resize(plan->blocks.size() + 1);
  for (size_t i = 0; i < plan->set_first.size(); ++i) plan->set_first[i] = int64_t(i);
}

// When the items (sets times key splits) are fewer than the threads, as in a short decode, each set is split by KV
// heads into parts of at least kMinSplitKeys keys of one head, until there is an item per thread. Unlike key splits
// this may follow the thread count: which blocks go through the tiles together never changes a block's arithmetic.
// (64 keys over 8 KV heads on 2 threads: 2 parts of 4 heads.)
void split_sets_by_heads(Plan* plan, int threads) {
  const int64_t num_sets = int64_t(plan->set_first.size()) - 1;
  if (num_sets == 0 || num_sets * plan->splits >= threads) return;
  const int64_t parts_wanted = (threads + num_sets * plan->splits - 1) / (num_sets * plan->splits);
  std::vector<int64_t> parts_first;
  for (int64_t s = 0; s < num_sets; ++s) {
    const int64_t first = plan->set_first[size_t(s)], n = plan->set_first[size_t(s) + 1] - first;
    int64_t key_heads = 0;  // of one split
    for (int64_t i = first; i < first + n; ++i)
      key_heads += plan->blocks[size_t(i)].band_end - plan->blocks[size_t(i)].band_begin;
    key_heads /= plan->splits;
    const int64_t parts = std::max<int64_t>(1, std::min({n, parts_wanted, key_heads / kMinSplitKeys}));
    for (int64_t k = 0; k < parts; ++k) parts_first.push_back(first + n * k / parts);
  }
  parts_first.push_back(int64_t(plan->blocks.size()));
  plan->set_first = std::move(parts_first);
}

Plan make_plan(const AttentionParams& p, int threads) {
  Plan plan;
  // Query heads of each KV head, in head order, for any head map, even or not: KV head g's are
  // by_group[group_first[g], group_first[g + 1]) (two allocations, where a vector per KV head took dozens).
  std::vector<int32_t> by_group(size_t(p.heads_q)), group_first(size_t(p.heads_kv) + 1, 0);
  for (int64_t h = 0; h < p.heads_q; ++h) ++group_first[size_t(p.head_map[h]) + 1];
  for (int64_t g = 0; g < p.heads_kv; ++g) group_first[size_t(g) + 1] += group_first[size_t(g)];
  {
    std::vector<int32_t> at(group_first.begin(), group_first.end() - 1);
    for (int64_t h = 0; h < p.heads_q; ++h) by_group[size_t(at[size_t(p.head_map[h])]++)] = int32_t(h);
  }
  auto group_size = [&](int64_t g) { return int64_t(group_first[size_t(g) + 1] - group_first[size_t(g)]); };
  int64_t rows = 0;  // every query row once: reserved, the per-row arrays grow without reallocating
  for (int64_t b = 0; b < p.batch; ++b) rows += p.seq_len_q(b) * p.heads_q;
  for (std::vector<int64_t>* per_row : {&plan.q_offset, &plan.pos, &plan.head}) per_row->reserve(size_t(rows));
  for (int64_t b = 0; b < p.batch; ++b) {
    const int64_t sq = p.seq_len_q(b);
    for (int64_t g = 0; g < p.heads_kv; ++g) {
      const int64_t G = group_size(g);
      if (G == 0) continue;
      const int64_t heads_per_block = std::min(G, kTargetRows);
      const int64_t positions_per_block = std::max<int64_t>(1, kTargetRows / G);
      // Later positions see more keys under a causal mask: queue them first so the long items start early.
      for (int64_t i1 = sq; i1 > 0; i1 -= positions_per_block)
        for (int64_t h0 = 0; h0 < G; h0 += heads_per_block)
          add_block(p, b, g, by_group.data() + group_first[size_t(g)] + h0, std::min(heads_per_block, G - h0),
                    std::max<int64_t>(0, i1 - positions_per_block), i1, &plan);
    }
  }
  int64_t largest_group = 0;
  for (int64_t g = 0; g < p.heads_kv; ++g) largest_group = std::max(largest_group, group_size(g));
  const bool one_block_per_head = largest_group * p.seqlen_q <= kTargetRows;
  for (size_t i = 0; i < plan.blocks.size(); ++i) {
    if (i == 0 || !one_block_per_head || plan.blocks[i].batch != plan.blocks[i - 1].batch)
      plan.set_first.push_back(int64_t(i));
  }
  plan.set_first.push_back(int64_t(plan.blocks.size()));
  const int64_t num_sets = int64_t(plan.set_first.size()) - 1;
  if (num_sets > 0 && num_sets < kMinItems) {
    int64_t longest = 0;
    for (const Block& blk : plan.blocks) longest = std::max(longest, blk.band_end - blk.band_begin);
    plan.splits = std::max<int64_t>(1, std::min((kMinItems + num_sets - 1) / num_sets,
                                                (longest + kMinSplitKeys - 1) / kMinSplitKeys));
  }
  if (!kv_heads_adjacent(p)) one_block_per_set(&plan);
  split_sets_by_heads(&plan, threads);
  for (size_t s = 0; s + 1 < plan.set_first.size(); ++s)
    plan.max_set = std::max(plan.max_set, plan.set_first[s + 1] - plan.set_first[s]);
  return plan;
}

// Keys of split s of a block: whole tiles, so a split never changes how keys are grouped into tiles.
void split_range(const Block& blk, int64_t splits, int64_t s, int64_t* begin, int64_t* end) {
  const int64_t len = blk.band_end - blk.band_begin;
  const int64_t chunk = ((len + splits - 1) / splits + kKvTile - 1) / kKvTile * kKvTile;
  *begin = std::min(blk.band_end, blk.band_begin + s * chunk);
  *end = std::min(blk.band_end, *begin + chunk);
}

constexpr int64_t kCacheLineFloats = 64 / sizeof(float);
static_assert(kPad % kCacheLineFloats == 0, "scratch rows must keep cache-line alignment");

// Per-thread scratch: a workspace per block of a set, for blocks of up to max_rows rows.
struct Scratch {
  // Left uninitialised: the kernel sets everything it reads. Every buffer starts on a cache line (the sizes are
  // multiples of kPad floats), so no vector load or store of the scratch rows straddles two lines.
  std::unique_ptr<float[]> storage;
  std::unique_ptr<uint16_t[]> q_bf16;
  std::vector<float> partials;       // the calling thread's: storage for a call's Partials
  std::vector<Workspace> ws;
  std::vector<WorkItem> items, next_items;  // the set being run, and the one the thread expects to run next
  int64_t set_size, max_rows, head_dim;  // what it was sized for
  Scratch(int64_t set_size, int64_t max_rows, int64_t head_dim)
      : ws(size_t(set_size)), items(size_t(set_size)), next_items(size_t(set_size)), set_size(set_size),
        max_rows(max_rows), head_dim(head_dim) {
    const int64_t ldr = pad_up(max_rows), ldd = pad_up(head_dim);
    const int64_t sizes[8] = {std::max(head_dim * ldr, max_rows * ldd), kKvTile * ldd, kKvTile * ldd, kKvTile * ldr,
                              max_rows * ldd, ldr, ldr, ldr};
    int64_t total = 0;
    for (int64_t n : sizes) total += n;
    storage.reset(new float[size_t(total * set_size + kCacheLineFloats)]);
    q_bf16.reset(new uint16_t[size_t(max_rows * ldd * set_size)]);
    float* at = storage.get();
    at += (kCacheLineFloats - reinterpret_cast<uintptr_t>(at) / sizeof(float) % kCacheLineFloats) % kCacheLineFloats;
    uint16_t* q_bf16_at = q_bf16.get();
    for (Workspace& w : ws) {
      w.q_bf16 = q_bf16_at;
      q_bf16_at += max_rows * ldd;
      float** slots[8] = {&w.q, &w.k, &w.v, &w.p, &w.o, &w.m, &w.l, &w.alpha};
      for (int i = 0; i < 8; ++i) {
        *slots[i] = at;
        at += sizes[i];
      }
    }
  }
};

// Scratch kept from call to call: a fresh one is hundreds of KiB of pages the system hands out untouched, and
// faulting them in took a good share of a decode call. Any thread may take one, so concurrent calls never share one.
class ScratchCache {
 public:
  std::unique_ptr<Scratch> take(int64_t set_size, int64_t max_rows, int64_t head_dim) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto it = kept_.begin(); it != kept_.end(); ++it) {
        const Scratch& s = **it;
        if (s.set_size == set_size && s.max_rows == max_rows && s.head_dim == head_dim) {
          std::unique_ptr<Scratch> found = std::move(*it);
          kept_.erase(it);
          return found;
        }
      }
    }
    return std::unique_ptr<Scratch>(new Scratch(set_size, max_rows, head_dim));
  }
  // Keeps the most recently used shapes: the oldest goes when the cache is full.
  void give(std::unique_ptr<Scratch> s) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (kept_.size() == kMaxKept) kept_.pop_front();
    kept_.push_back(std::move(s));
  }

 private:
  static constexpr size_t kMaxKept = 16;
  std::mutex mutex_;
  std::deque<std::unique_ptr<Scratch>> kept_;
};

ScratchCache& scratch_cache() {
  static ScratchCache* cache = new ScratchCache;  // never destroyed: pool threads may outlive static destructors
  return *cache;
}

// Results of the splits of every block, combined along a fixed binary tree over the block's splits: node [lo, hi)
// combines its halves [lo, mid) and [mid, hi), mid = (lo + hi) / 2, into the slot of split lo, and whichever thread
// completes a node's second half combines it. The tree never depends on which thread ran which split, so neither do
// the bits. A thread runs a run of consecutive splits (ItemRuns), so most nodes combine on one thread, from results
// it has just written, and the last split leaves one combination to do rather than a merge of every split.
// A slot row holds the head_dim unnormalised outputs followed by the row's sum l, so that l combines with the very
// operations that combine each output (V all ones then still gives exactly 1). The slots live in `storage`, kept
// with the calling thread's scratch: with storage fresh from every call, a batch-1 decode split took 4.5-5 us to file
// its rows, against about 3 us with storage already touched.
struct Partials {
  int64_t splits = 0, row_stride = 0, rows_per_item = 0;  // floats per row (head_dim + 1), rows per item
  // Not cleared: a slot is written before any node reads it.
  float* o = nullptr;
  float* m = nullptr;
  std::unique_ptr<std::atomic<int>[]> arrivals;  // halves done, per block and node (indexed by its mid)

  Partials(const Plan& plan, int64_t head_dim, std::vector<float>& storage)
      : splits(plan.splits), row_stride(head_dim + 1), rows_per_item(plan.max_rows) {
    const size_t items = plan.blocks.size() * size_t(splits);
    const size_t o_size = items * size_t(rows_per_item * row_stride);
    storage.resize(std::max(storage.size(), o_size + items * size_t(rows_per_item)));
    o = storage.data();
    m = o + o_size;
    arrivals.reset(new std::atomic<int>[items]);
    for (size_t i = 0; i < items; ++i) arrivals[i].store(0, std::memory_order_relaxed);
  }
  float* o_of(int64_t block, int64_t split) { return o + (block * splits + split) * rows_per_item * row_stride; }
  float* m_of(int64_t block, int64_t split) { return m + (block * splits + split) * rows_per_item; }
  // True for the second of a node's two halves to arrive.
  bool second_half(int64_t block, int64_t mid) {
    return arrivals[size_t(block * splits + mid)].fetch_add(1, std::memory_order_acq_rel) == 1;
  }
  // Whether one half of the node has arrived already, so that the caller, holding the other, is its second.
  bool other_half_done(int64_t block, int64_t mid) {
    return arrivals[size_t(block * splits + mid)].load(std::memory_order_acquire) == 1;
  }

  // A half's rows where they are: in its slot, or in the workspace of the split that has just computed them.
  struct Half {
    const float* o;  // row r's outputs at o + r * o_stride
    int64_t o_stride;
    const float* l;  // row r's sum at l[r * l_stride]
    int64_t l_stride;
    const float* m;  // row r's running max at m[r]
  };
  Half slot(int64_t block, int64_t split) {
    const float* at = o_of(block, split);
    return {at, row_stride, at + row_stride - 1, row_stride, m_of(block, split)};
  }

  // Slot lo <- the combination of a node's halves x (the lower) and y, row by row: weights relative to the larger
  // running max, whose own weight is exp(0), exactly 1, so only the other takes an exp. x may be slot lo itself.
  void combine(int64_t block, int64_t rows, int64_t lo, const Half& x, const Half& y) {
    const int64_t D = row_stride - 1;
    float* m = m_of(block, lo);
    for (int64_t r = 0; r < rows; ++r) {
      const float mx = x.m[r], my = y.m[r], top = std::max(mx, my);
      const float wx = mx == top ? 1.f : std::exp(mx - top), wy = my == top ? 1.f : std::exp(my - top);
      const float* a = x.o + r * x.o_stride;
      const float* b = y.o + r * y.o_stride;
      float* out = o_of(block, lo) + r * row_stride;
      for (int64_t d = 0; d < D; ++d) out[d] = wx * a[d] + wy * b[d];
      out[D] = wx * x.l[r * x.l_stride] + wy * y.l[r * y.l_stride];
      m[r] = top;
    }
  }
};

// Writes a block's rows, or files them as one split's result and combines up the tree while it completes nodes,
// writing the rows once it completes the root.
void finish_block(const AttentionParams& p, const Plan& plan, int64_t block_index, int64_t split,
                  const Workspace& ws, Partials* partials) {
  const Block& blk = plan.blocks[size_t(block_index)];
  const int64_t* heads = plan.head.data() + blk.first_row;
  const int64_t* pos = plan.pos.data() + blk.first_row;
  const int64_t D = p.head_dim, ldd = pad_up(D), splits = plan.splits;
  if (splits == 1) {
    for (int64_t r = 0; r < blk.rows; ++r) write_row(p, blk.batch, heads[r], pos[r], ws.o + r * ldd, ws.m[r], ws.l[r]);
    return;
  }
  // The nodes from the root down to this split's leaf node, where the split is one half on its own.
  int64_t lo[64], hi[64];
  int depth = 0;
  for (int64_t a = 0, b = splits; b - a > 1; ++depth) {
    lo[depth] = a;
    hi[depth] = b;
    const int64_t mid = (a + b) / 2;
    if (split < mid) b = mid;
    else a = mid;
  }
  // When the leaf node's other half is complete already, the split's rows combine with it straight from the
  // workspace; else they are filed in the split's slot for the other half to find.
  const Partials::Half own{ws.o, ldd, ws.l, 1, ws.m};
  const int64_t leaf_lo = lo[depth - 1], leaf_mid = (lo[depth - 1] + hi[depth - 1]) / 2;
  if (partials->other_half_done(block_index, leaf_mid)) {
    if (split < leaf_mid) partials->combine(block_index, blk.rows, leaf_lo, own, partials->slot(block_index, leaf_mid));
    else partials->combine(block_index, blk.rows, leaf_lo, partials->slot(block_index, leaf_lo), own);
    --depth;
  } else {
    const int64_t row_stride = partials->row_stride;
    float* filed = partials->o_of(block_index, split);
    for (int64_t r = 0; r < blk.rows; ++r) {
      std::copy(ws.o + r * ldd, ws.o + r * ldd + D, filed + r * row_stride);
      filed[r * row_stride + D] = ws.l[r];
    }
    std::copy(ws.m, ws.m + blk.rows, partials->m_of(block_index, split));
  }
  // Up the tree while this split completes nodes.
  while (depth-- > 0) {
    const int64_t mid = (lo[depth] + hi[depth]) / 2;
    if (!partials->second_half(block_index, mid)) return;
    partials->combine(block_index, blk.rows, lo[depth], partials->slot(block_index, lo[depth]),
                      partials->slot(block_index, mid));
  }
  const Partials::Half root = partials->slot(block_index, 0);
  for (int64_t r = 0; r < blk.rows; ++r)
    write_row(p, blk.batch, heads[r], pos[r], root.o + r * root.o_stride, root.m[r], root.l[r * root.l_stride]);
}

// The items dealt out as one contiguous run per thread, in item order, each run with its own counter: a thread takes
// the items of its own run, then helps the other runs in turn. A thread's next item is then nearly always the one
// after its current item, so the current one can prefetch the next one's first keys (Lookahead). Which thread runs
// an item still never changes its result.
class ItemRuns {
 public:
  ItemRuns(int64_t items, int threads) : items_(items), threads_(threads), next_(new Counter[size_t(threads)]) {
    for (int t = 0; t < threads; ++t) next_[size_t(t)].value.store(begin(t), std::memory_order_relaxed);
  }
  struct Claim {
    int64_t item = -1;  // -1 when every run is done
    int64_t likely_next = -1;  // the item the thread most likely claims next: the next of the same run (-1: none)
  };
  // The next item for thread t.
  Claim claim(int t) {
    for (int i = 0; i < threads_; ++i) {
      const int run = (t + i) % threads_;
      const int64_t end = begin(run + 1);
      std::atomic<int64_t>& next = next_[size_t(run)].value;
      if (next.load(std::memory_order_relaxed) >= end) continue;
      const int64_t item = next.fetch_add(1, std::memory_order_relaxed);
      if (item < end) return {item, item + 1 < end ? item + 1 : -1};
    }
    return {};
  }

 private:
  int64_t begin(int run) const { return items_ * run / threads_; }
  struct alignas(64) Counter {  // a cache line each, so threads on their own runs do not share one
    std::atomic<int64_t> value;
  };
  int64_t items_;
  int threads_;
  std::unique_ptr<Counter[]> next_;
};

// The work items of item idx (set idx / splits, split idx % splits), one per block of the set, into items.
int64_t fill_items(const Plan& plan, int64_t idx, std::vector<WorkItem>& items) {
  const int64_t set = idx / plan.splits, split = idx % plan.splits;
  const int64_t first = plan.set_first[size_t(set)], count = plan.set_first[size_t(set) + 1] - first;
  for (int64_t i = 0; i < count; ++i) {
    const Block& blk = plan.blocks[size_t(first + i)];
    WorkItem& item = items[size_t(i)];
    item.batch = blk.batch;
    item.kv_head = blk.kv_head;
    item.rows = blk.rows;
    item.q_offset = plan.q_offset.data() + blk.first_row;
    item.pos = plan.pos.data() + blk.first_row;
    item.mask_offset = blk.mask_offset;
    split_range(blk, plan.splits, split, &item.key_begin, &item.key_end);
    item.full_begin = blk.full_begin;
    item.full_end = blk.full_end;
  }
  return count;
}

void run_plan(const AttentionParams& p, const Plan& plan, int num_threads) {
  const AttendFn attend = selected_kernel();
  const int64_t splits = plan.splits;
  const int64_t num_items = (int64_t(plan.set_first.size()) - 1) * splits;
  // Everything is allocated here, before any thread starts, so running out of memory is an error to return.
  const int threads = resolve_threads(num_threads, num_items);
  std::vector<std::unique_ptr<Scratch>> scratch;
  for (int t = 0; t < threads; ++t) scratch.push_back(scratch_cache().take(plan.max_set, plan.max_rows, p.head_dim));
  std::unique_ptr<Partials> partials;
  if (splits > 1) partials.reset(new Partials(plan, p.head_dim, scratch[0]->partials));
  ItemRuns runs(num_items, threads);

  run_on_threads(threads, [&](int thread_index) {
    Scratch& sc = *scratch[size_t(thread_index)];
    ItemRuns::Claim now = runs.claim(thread_index);
    int64_t count = now.item >= 0 ? fill_items(plan, now.item, sc.items) : 0;
    bool prefetched = false;
    while (now.item >= 0) {
      Lookahead ahead;
      ahead.prefetched = prefetched;
      if (now.likely_next >= 0) {
        ahead.next = sc.next_items.data();
        ahead.next_count = fill_items(plan, now.likely_next, sc.next_items);
      }
      const bool prefetched_next = attend(p, sc.items.data(), sc.ws.data(), count, ahead);
      const int64_t first = plan.set_first[size_t(now.item / splits)];
      for (int64_t i = 0; i < count; ++i)
        finish_block(p, plan, first + i, now.item % splits, sc.ws[size_t(i)], partials.get());
      const ItemRuns::Claim next = runs.claim(thread_index);
      const bool as_expected = next.item >= 0 && next.item == now.likely_next;
      prefetched = as_expected && prefetched_next;
      if (as_expected) {
        sc.items.swap(sc.next_items);
        count = ahead.next_count;
      } else if (next.item >= 0) {
        count = fill_items(plan, next.item, sc.items);
      }
      now = next;
    }
  });
  for (auto& sc : scratch) scratch_cache().give(std::move(sc));
}

}  // namespace
}  // namespace cpu

bool run_on_cpu_pool(void (*job)(void*), void* context, int threads) {
  return cpu::run_detached(job, context, threads);
}

Error cpu_attention(const AttentionParams& p, int num_threads) {
  if (!head_dim_supported(p.head_dim))
    return Error{Status::Unsupported, "head_dim " + std::to_string(p.head_dim) +
                                          " is not supported by the CPU backend: expected a multiple of 8 from 8 "
                                          "to 256, or 512"};
  try {
    if (p.fault != Fault::None) {
      cpu::attention_with_fault(p, num_threads);
    } else {
      const int threads = cpu::requested_threads(num_threads);
      cpu::run_plan(p, cpu::make_plan(p, threads), threads);
    }
  } catch (const std::bad_alloc&) {
    return Error{Status::OutOfMemory, "CPU backend: out of memory for scratch buffers"};
  }
  return {};
}

}  // namespace gqa
