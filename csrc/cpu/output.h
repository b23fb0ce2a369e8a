// The last step of every CPU path: normalise one output row, fold in the sink, round to the output dtype and
// write it with the LSE. The rounding is dtype.h's round-to-nearest-even on every ISA (output_rounding.h).
#pragma once
#include <cstdint>

#include "gqa/params.h"

namespace gqa {
namespace cpu {

// o: unnormalised row sum_j exp(s_j - m) v_j (head_dim floats); l = sum_j exp(s_j - m). l == 0 means no key was
// allowed: the output is 0 and the LSE -inf unless a sink joins the denominator.
void write_row(const AttentionParams& p, int64_t b, int64_t h, int64_t i, const float* o, float m, float l);

}  // namespace cpu
}  // namespace gqa
