#include "fault_path.h"

#include <algorithm>
#include <atomic>
#include <cfloat>
#include <cmath>
#include <limits>
#include <vector>

#include "output.h"
#include "parallel.h"
#include "work_item.h"

namespace gqa {
namespace cpu {
namespace {

float load(const void* base, DType t, int64_t index) {
  switch (t) {
    case DType::F32: return static_cast<const float*>(base)[index];
    case DType::BF16: return bf16_to_f32(static_cast<const uint16_t*>(base)[index]);
    case DType::F16: return f16_to_f32(static_cast<const uint16_t*>(base)[index]);
  }
  return 0.f;
}

float bf16_nearest(float x) { return bf16_to_f32(f32_to_bf16(x)); }
float bf16_toward_zero(float x) { return f32_from_bits(f32_bits(x) & 0xffff0000u); }

struct RowScratch {
  std::vector<float> q, dot, s, o;
  explicit RowScratch(int64_t head_dim)
      : q(size_t(head_dim)), dot(size_t(kKvTile)), s(size_t(kKvTile)), o(size_t(head_dim)) {}
};

// One query row, one KV tile at a time, as the fast kernel does, with the fault applied where it would strike.
void attend_row(const AttentionParams& p, int64_t b, int64_t h, int64_t i, RowScratch& sc) {
  const Fault fault = p.fault;
  const int64_t D = p.head_dim, skv = p.seq_len_kv(b);
  const int64_t kv_head = fault == Fault::HeadMapModulo ? h % p.heads_kv : p.head_map[h];
  const int64_t at = i + p.mask_offset(b) + (fault == Fault::CausalOffByOne ? 1 : 0);
  const int64_t q_row = b * p.q_stride[0] + (p.seq_start_q(b) + i) * p.q_stride[1] + h * p.q_stride[2];
  for (int64_t d = 0; d < D; ++d) sc.q[size_t(d)] = load(p.q, p.dtype, q_row + d * p.q_stride[3]);
  std::fill(sc.o.begin(), sc.o.end(), 0.f);
  const float neg_inf = -std::numeric_limits<float>::infinity();
  float m = -FLT_MAX, l = 0.f;

  for (int64_t t0 = 0; t0 < skv; t0 += kKvTile) {
    const int64_t n = std::min(kKvTile, skv - t0);
    if (fault == Fault::DropLastKvTile && n < kKvTile) break;  // a loop written for whole tiles only
    float tile_max = neg_inf;
    for (int64_t c = 0; c < n; ++c) {
      const int64_t j = t0 + c;
      const bool allowed =
          (p.window_left < 0 || j >= at - p.window_left) && (p.window_right < 0 || j <= at + p.window_right);
      if (!allowed) {
        sc.s[size_t(c)] = neg_inf;
        continue;
      }
      const int64_t k_row = p.kv_row(p.k_stride, b, j) + kv_head * p.k_stride[2];
      float dot = 0.f;
      for (int64_t d = 0; d < D; ++d) dot += sc.q[size_t(d)] * load(p.k, p.dtype, k_row + d * p.k_stride[3]);
      float s = p.scale * dot;
      if (p.softcap > 0.f) s = p.softcap * std::tanh(s / p.softcap);
      if (fault == Fault::ScoresBf16) s = bf16_nearest(s);
      sc.dot[size_t(c)] = dot;
      sc.s[size_t(c)] = s;
      // MaxBeforeFma: the max comes from scores rounded toward zero to bf16, not from the ones exponentiated.
      tile_max = std::max(tile_max, fault == Fault::MaxBeforeFma ? bf16_toward_zero(s) : s);
    }
    const float m_new = std::max(m, tile_max);
    const float alpha = std::exp(m - m_new);
    l *= alpha;
    for (float& o : sc.o) o *= alpha;
    for (int64_t c = 0; c < n; ++c) {
      const float s = sc.s[size_t(c)];
      if (s == neg_inf) continue;
      float e = std::exp(s - m_new);  // joins the denominator
      float weight = e;               // multiplies V
      if (fault == Fault::MaxBeforeFma) {
        // The sum stays consistent with the max; P @ V takes exp(fma(scale, dot, -m)) from the unrounded scores.
        // With large inputs the difference is many units in the exponent: wrong weights, or inf.
        e = std::exp(bf16_toward_zero(s) - m_new);
        weight = p.softcap > 0.f ? std::exp(s - m_new) : std::exp(std::fma(p.scale, sc.dot[size_t(c)], -m_new));
      }
      if (fault == Fault::PBf16) weight = bf16_nearest(weight);
      if (fault == Fault::PRoundTowardZero) weight = bf16_toward_zero(weight);
      l += e;
      const int64_t v_row = p.kv_row(p.v_stride, b, t0 + c) + kv_head * p.v_stride[2];
      for (int64_t d = 0; d < D; ++d) sc.o[size_t(d)] += weight * load(p.v, p.dtype, v_row + d * p.v_stride[3]);
    }
    m = m_new;
  }
  write_row(p, b, h, i, sc.o.data(), m, l);
}

}  // namespace

void attention_with_fault(const AttentionParams& p, int num_threads) {
  const int64_t items = p.batch * p.heads_q;  // one (sequence, query head) per item
  const int threads = resolve_threads(num_threads, items);
  std::vector<RowScratch> scratch(size_t(threads), RowScratch(p.head_dim));
  std::atomic<int64_t> next{0};
  run_on_threads(threads, [&](int thread_index) {
    for (int64_t idx = next.fetch_add(1); idx < items; idx = next.fetch_add(1)) {
      const int64_t b = idx / p.heads_q, h = idx % p.heads_q;
      for (int64_t i = 0; i < p.seq_len_q(b); ++i) attend_row(p, b, h, i, scratch[size_t(thread_index)]);
    }
  });
}

}  // namespace cpu
}  // namespace gqa
