#include "output.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "output_rounding.h"

// Functions compiled in clones for AVX-512 and AVX2 machines besides the portable one, the loader picking one for
// this CPU (an ifunc): the same code and the same bits on each, with 16 or 8 lanes to a vector rather than SSE2's 4.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11 && defined(__x86_64__) && defined(__ELF__)
#define GQA_X86_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define GQA_X86_CLONES
#endif

namespace gqa {
namespace cpu {
namespace {

// Element d of a normalised output row, in f32.
struct RowValue {
  const float* o;
  float factor, denom;
  __attribute__((always_inline)) float operator()(int64_t d) const {
    return denom > 0.f ? o[d] * factor / denom : 0.f;
  }
};

// out[d * stride] = round(value(d)) for d < D; a contiguous row gets a loop of its own, which the compiler vectorises,
// divisions, rounding and all. Always inlined, so that each clone of its caller vectorises it for its own ISA.
template <class T, class Round>
__attribute__((always_inline)) inline void store_row(T* out, int64_t stride, int64_t D, RowValue value,
                                                     const Round& round) {
  if (stride == 1) {
    for (int64_t d = 0; d < D; ++d) out[d] = round(value(d));
    return;
  }
  for (int64_t d = 0; d < D; ++d) out[d * stride] = round(value(d));
}

// A bf16 or f16 row, in clones: in f16 prefill (Hq=32, Hkv=8, D=128, 512 tokens, 2 threads, 2-core Zen 5 VM), writing
// the rows took 22% of the time with dtype.h's branches, 14% with output_rounding.h's selects in SSE2 and 3.7% in the
// AVX-512 clone. f32 rows stay in write_row: clones made f32 prefill about 1% slower there.
GQA_X86_CLONES void store_row_16(DType t, uint16_t* out, int64_t stride, int64_t D, RowValue value) {
  if (t == DType::BF16) store_row(out, stride, D, value, [](float x) { return round_to_bf16(x); });
  else store_row(out, stride, D, value, [](float x) { return round_to_f16(x); });
}

}  // namespace

void write_row(const AttentionParams& p, int64_t b, int64_t h, int64_t i, const float* o, float m, float l) {
  float top = m, factor = 1.f, denom = l;
  if (p.sinks) {
    const float sink = p.sinks[h];
    top = std::max(m, sink);
    factor = std::exp(m - top);
    denom = l * factor + std::exp(sink - top);
  }
  const int64_t row = b * p.out_stride[0] + (p.seq_start_q(b) + i) * p.out_stride[1] + h * p.out_stride[2];
  const RowValue value{o, factor, denom};
  if (p.out_dtype == DType::F32)
    store_row(static_cast<float*>(p.out) + row, p.out_stride[3], p.head_dim, value, [](float x) { return x; });
  else
    store_row_16(p.out_dtype, static_cast<uint16_t*>(p.out) + row, p.out_stride[3], p.head_dim, value);
  if (p.lse) {
    p.lse[b * p.lse_stride[0] + h * p.lse_stride[1] + (p.seq_start_q(b) + i) * p.lse_stride[2]] =
        denom > 0.f ? top + std::log(denom) : -std::numeric_limits<float>::infinity();
  }
}

}  // namespace cpu
}  // namespace gqa
