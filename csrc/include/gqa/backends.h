// The CPU backends. Each takes validated parameters (prepare_attention) and writes out (and lse when set).
#pragma once
#include "gqa/params.h"
#include "gqa/status.h"

namespace gqa {

enum class ReferenceMath { F64, F32 };

// The oracle: naive loops, float64 accumulation, no tiling, no code shared with the fast paths.
// ReferenceMath::F32 runs the same loops in f32: the parity check's lp_ref, the error a correct low-precision
// implementation is allowed.
Error reference_attention(const AttentionParams& p, ReferenceMath math = ReferenceMath::F64);

// The fast CPU backend: tiled online softmax, threads, SIMD chosen at run time. num_threads <= 0: all cores.
Error cpu_attention(const AttentionParams& p, int num_threads);

// Runs job(context) on a thread of the fast CPU backend's pool and returns at once; false (nothing run) when no
// thread could be started. A job there that calls cpu_attention shares the pool's warm threads with it. `threads`
// is what the job will run on (<= 0: every core): jobs start in order, as many at a time as fit on the cores.
bool run_on_cpu_pool(void (*job)(void*), void* context, int threads);

// The SIMD level the fast CPU backend picked on this machine: "avx512bf16", "avx512", "avx2" or "scalar".
const char* cpu_simd_level();

}  // namespace gqa
