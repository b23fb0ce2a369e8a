// The contract between the fast CPU backend's planner (cpu_attention.cpp, portable code) and its per-ISA kernels
// (kernel_<isa>.cpp, each compiled with its own instruction-set flags). Plain data and one constexpr helper only:
// nothing here becomes an out-of-line function that the linker could take from an AVX-512 object for a portable
// caller.
#pragma once
#include <cstdint>

#include "gqa/params.h"

namespace gqa {
namespace cpu {

// Keys per KV tile. Every tile is converted to f32 once and used by all the query rows of its work item. 128 rather
// than 64 halves the softmax steps and pass changes per key: f32 prefill (Hq=32, Hkv=8, D=128, 512 tokens, 2 threads)
// took 13.0 ms against 13.6 at batch 1.
constexpr int64_t kKvTile = 128;

// Rows and head dims are padded to this many floats in the scratch buffers: a whole number of vectors on every ISA.
constexpr int64_t kPad = 16;
constexpr int64_t pad_up(int64_t n) { return (n + kPad - 1) / kPad * kPad; }

// One work item: the query rows of one KV head (all or some of the query heads mapped to it, at a run of query
// positions of one sequence) against a range of that sequence's keys.
struct WorkItem {
  int64_t batch = 0;
  int64_t kv_head = 0;
  int64_t rows = 0;                // R
  const int64_t* q_offset = nullptr;  // per row: element offset of its query vector (d = 0) in p.q
  const int64_t* pos = nullptr;       // per row: its query position i in the sequence
  int64_t mask_offset = 0;         // alignment offset of the sequence (p.mask_offset(batch))
  int64_t key_begin = 0, key_end = 0;    // keys visited, in tiles of kKvTile from key_begin
  int64_t full_begin = 0, full_end = 0;  // keys allowed for every row: tiles inside need no per-key mask
};

// Per-thread f32 scratch, sized by the planner for its largest item. With ldr = pad_up(R), ldd = pad_up(D):
//   q [D][ldr] or [R][ldd]  the item's query rows, transposed, or row-major when R is under half a vector
//   k, v [kKvTile][ldd]     one KV tile, converted to f32
//   p [kKvTile][ldr]        scores, then probabilities, transposed (key-major)
//   o [R][ldd]              unnormalised output rows (the kernel's result)
//   m, l, alpha [ldr]       running max, running sum, rescale factor per row (m and l are results too)
//   q_bf16 [R][ldd]         the query rows as bf16 (bf16 inputs, for kernels with a bf16 dot product)
struct Workspace {
  float* q = nullptr;
  float* k = nullptr;
  float* v = nullptr;
  float* p = nullptr;
  float* o = nullptr;
  float* m = nullptr;
  float* l = nullptr;
  float* alpha = nullptr;
  uint16_t* q_bf16 = nullptr;
};

// What a thread runs around a kernel call, so that the call's last blocks can prefetch the first keys of the next
// one: the items it expects to run next (next_count of them, 0 when none), and whether the call before prefetched the
// current items' first keys (it was given them as its next ones and returned true).
struct Lookahead {
  const WorkItem* next = nullptr;
  int64_t next_count = 0;
  bool prefetched = false;
};

// A kernel runs the tiled online softmax of `count` items sharing one key range (each with its own workspace),
// leaving in each workspace, for each row r < R, o[r] = sum_j exp(s_j - m[r]) v_j and l[r] = sum_j exp(s_j - m[r])
// over the item's allowed keys (m[r] = -FLT_MAX and l[r] = 0 when it saw none). It returns whether it prefetched
// the first keys of ahead.next (only sets of few-row items do), which the thread tells the call that runs them.
using AttendFn = bool (*)(const AttentionParams& p, const WorkItem* items, const Workspace* ws, int64_t count,
                          const Lookahead& ahead);

bool attend_scalar(const AttentionParams& p, const WorkItem* items, const Workspace* ws, int64_t count,
                   const Lookahead& ahead);
bool attend_avx2(const AttentionParams& p, const WorkItem* items, const Workspace* ws, int64_t count,
                 const Lookahead& ahead);
bool attend_avx512(const AttentionParams& p, const WorkItem* items, const Workspace* ws, int64_t count,
                   const Lookahead& ahead);
bool attend_avx512bf16(const AttentionParams& p, const WorkItem* items, const Workspace* ws, int64_t count,
                       const Lookahead& ahead);

}  // namespace cpu
}  // namespace gqa
