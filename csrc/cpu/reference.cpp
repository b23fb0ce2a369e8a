// The float64 reference: the definition of what every backend computes (DESIGN.md, Semantics). Deliberately
// naive: one query row at a time, every key, no tiling, and no code shared with the fast paths.
#include <cmath>
#include <limits>
#include <vector>

#include "gqa/backends.h"

namespace gqa {
namespace {

template <typename T>
T load(const void* base, DType t, int64_t index) {
  switch (t) {
    case DType::F32: return T(static_cast<const float*>(base)[index]);
    case DType::BF16: return T(bf16_to_f32(static_cast<const uint16_t*>(base)[index]));
    case DType::F16: return T(f16_to_f32(static_cast<const uint16_t*>(base)[index]));
  }
  return T(0);
}

void store(void* base, DType t, int64_t index, float x) {
  switch (t) {
    case DType::F32: static_cast<float*>(base)[index] = x; break;
    case DType::BF16: static_cast<uint16_t*>(base)[index] = f32_to_bf16(x); break;
    case DType::F16: static_cast<uint16_t*>(base)[index] = f32_to_f16(x); break;
  }
}

template <typename T>
void run(const AttentionParams& p) {
  const int64_t D = p.head_dim;
  std::vector<T> score;  // one row of scores, then of exp(score - max)
  std::vector<T> acc(static_cast<size_t>(D));
  for (int64_t b = 0; b < p.batch; ++b) {
    const int64_t sq = p.seq_len_q(b), skv = p.seq_len_kv(b);
    const int64_t off = p.alignment == Alignment::BottomRight ? skv - sq : 0;
    score.assign(size_t(skv), T(0));
    for (int64_t h = 0; h < p.heads_q; ++h) {
      const int64_t kvh = p.head_map[h];
      for (int64_t i = 0; i < sq; ++i) {
        const int64_t qrow = b * p.q_stride[0] + (p.seq_start_q(b) + i) * p.q_stride[1] + h * p.q_stride[2];
        // Scores of allowed keys; max over them and the sink.
        T m = -std::numeric_limits<T>::infinity();
        std::vector<bool> allowed(static_cast<size_t>(skv));
        for (int64_t j = 0; j < skv; ++j) {
          const bool ok = (p.window_left < 0 || j >= i + off - p.window_left) &&
                          (p.window_right < 0 || j <= i + off + p.window_right);
          allowed[size_t(j)] = ok;
          if (!ok) continue;
          const int64_t krow = p.kv_row(p.k_stride, b, j) + kvh * p.k_stride[2];
          T dot = 0;
          for (int64_t d = 0; d < D; ++d)
            dot += load<T>(p.q, p.dtype, qrow + d * p.q_stride[3]) * load<T>(p.k, p.dtype, krow + d * p.k_stride[3]);
          T s = T(p.scale) * dot;
          if (p.softcap > 0.f) s = T(p.softcap) * std::tanh(s / T(p.softcap));
          score[size_t(j)] = s;
          if (s > m) m = s;
        }
        const T sink = p.sinks ? T(p.sinks[h]) : -std::numeric_limits<T>::infinity();
        if (sink > m) m = sink;

        T denom = 0;
        for (int64_t d = 0; d < D; ++d) acc[size_t(d)] = 0;
        if (m != -std::numeric_limits<T>::infinity()) {
          denom = std::exp(sink - m);  // 0 without a sink
          for (int64_t j = 0; j < skv; ++j) {
            if (!allowed[size_t(j)]) continue;
            const T e = std::exp(score[size_t(j)] - m);
            denom += e;
            const int64_t vrow = p.kv_row(p.v_stride, b, j) + kvh * p.v_stride[2];
            for (int64_t d = 0; d < D; ++d) acc[size_t(d)] += e * load<T>(p.v, p.dtype, vrow + d * p.v_stride[3]);
          }
        }
        // A row with no allowed key and no sink: output 0, LSE -inf.
        const int64_t orow = b * p.out_stride[0] + (p.seq_start_q(b) + i) * p.out_stride[1] + h * p.out_stride[2];
        for (int64_t d = 0; d < D; ++d)
          store(p.out, p.out_dtype, orow + d * p.out_stride[3], denom > 0 ? float(acc[size_t(d)] / denom) : 0.f);
        if (p.lse) {
          const float lse = denom > 0 ? float(m + std::log(denom)) : -std::numeric_limits<float>::infinity();
          p.lse[b * p.lse_stride[0] + h * p.lse_stride[1] + (p.seq_start_q(b) + i) * p.lse_stride[2]] = lse;
        }
      }
    }
  }
}

}  // namespace

Error reference_attention(const AttentionParams& p, ReferenceMath math) {
  if (math == ReferenceMath::F64) run<double>(p);
  else run<float>(p);
  return {};
}

}  // namespace gqa
