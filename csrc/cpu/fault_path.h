// The fault-injection path (test-only): a plain scalar tiled online softmax that reproduces, on request, each known
// numerical bug of the GQA bf16 failure family (params.h, Fault), so the parity check can prove it catches them.
// The fast path never looks at p.fault: faults cost nothing when off.
#pragma once
#include "gqa/params.h"

namespace gqa {
namespace cpu {

// Computes the attention with p.fault injected. May throw std::bad_alloc before starting any thread.
void attention_with_fault(const AttentionParams& p, int num_threads);

}  // namespace cpu
}  // namespace gqa
