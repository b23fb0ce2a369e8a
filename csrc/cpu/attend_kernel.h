// The fast CPU kernel, written once over a vector type V (vec_scalar.h, vec_avx2.h, vec_avx512.h) and
// instantiated by each kernel_<isa>.cpp with that file's instruction-set flags. V lives in an anonymous namespace,
// so every instantiation here is local to its object file.
//
// One work item = R query rows sharing one KV head (the query heads of a group, times a run of positions) against a
// range of keys. Each KV tile is converted to f32 once and serves all R rows (K/V read once per group):
//   P^T[c][r] = K[c] . Q[r]              (Q transposed once per item, so scores of a key lie along a vector)
//   online softmax along c, vectorised over r: running max m, sum l, rescale of the output rows
//   O[r] += sum_c P^T[c][r] V[c]         (vectorised over the head dim)
// Both products run on one register-blocked micro-kernel: C[MR x NV vectors] += A(i, k) * B[k][:].
#pragma once
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "work_item.h"

namespace gqa {
namespace cpu {

// The micro-kernel's register block: MR rows of A by up to kMaxNv vectors of B.
constexpr int kMr = 4, kMaxNv = 4;

// C[i][n*W..] (+)= sum_k a[i*a_row + k*a_k] * b[k*ldb + n*W..] for i < MR, n < NV.
template <class V, int MR, int NV, bool Accumulate>
inline void micro_kernel(int64_t k_len, const float* a, int64_t a_row, int64_t a_k, const float* b, int64_t ldb,
                         float* c, int64_t ldc) {
  constexpr int W = V::width;
  typename V::reg acc[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int n = 0; n < NV; ++n) acc[i][n] = Accumulate ? V::load(c + i * ldc + n * W) : V::zero();
  for (int64_t k = 0; k < k_len; ++k) {
    typename V::reg bv[NV];
    for (int n = 0; n < NV; ++n) bv[n] = V::load(b + k * ldb + n * W);
    for (int i = 0; i < MR; ++i) {
      const typename V::reg av = V::set1(a[i * a_row + k * a_k]);
      for (int n = 0; n < NV; ++n) acc[i][n] = V::fma(av, bv[n], acc[i][n]);
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int n = 0; n < NV; ++n) V::store(c + i * ldc + n * W, acc[i][n]);
}

// MR rows of C, all n_cols columns (a multiple of V::width).
template <class V, int MR, bool Accumulate>
inline void gemm_rows(int64_t n_cols, int64_t k_len, const float* a, int64_t a_row, int64_t a_k, const float* b,
                      int64_t ldb, float* c, int64_t ldc) {
  constexpr int W = V::width;
  int64_t j = 0;
  for (; j + kMaxNv * W <= n_cols; j += kMaxNv * W)
    micro_kernel<V, MR, kMaxNv, Accumulate>(k_len, a, a_row, a_k, b + j, ldb, c + j, ldc);
  switch ((n_cols - j) / W) {
    case 3: micro_kernel<V, MR, 3, Accumulate>(k_len, a, a_row, a_k, b + j, ldb, c + j, ldc); break;
    case 2: micro_kernel<V, MR, 2, Accumulate>(k_len, a, a_row, a_k, b + j, ldb, c + j, ldc); break;
    case 1: micro_kernel<V, MR, 1, Accumulate>(k_len, a, a_row, a_k, b + j, ldb, c + j, ldc); break;
    default: break;
  }
}

// C[m x n_cols] (+)= A[m x k_len] * B[k_len x n_cols], A addressed by (row, k) strides.
template <class V, bool Accumulate>
void gemm(int64_t m, int64_t n_cols, int64_t k_len, const float* a, int64_t a_row, int64_t a_k, const float* b,
          int64_t ldb, float* c, int64_t ldc) {
  int64_t i = 0;
  for (; i + kMr <= m; i += kMr)
    gemm_rows<V, kMr, Accumulate>(n_cols, k_len, a + i * a_row, a_row, a_k, b, ldb, c + i * ldc, ldc);
  const float* a_rest = a + i * a_row;
  float* c_rest = c + i * ldc;
  switch (m - i) {
    case 3: gemm_rows<V, 3, Accumulate>(n_cols, k_len, a_rest, a_row, a_k, b, ldb, c_rest, ldc); break;
    case 2: gemm_rows<V, 2, Accumulate>(n_cols, k_len, a_rest, a_row, a_k, b, ldb, c_rest, ldc); break;
    case 1: gemm_rows<V, 1, Accumulate>(n_cols, k_len, a_rest, a_row, a_k, b, ldb, c_rest, ldc); break;
    default: break;
  }
}

// Row of head_dim elements at element offset `offset` of `base` with element stride `stride`, as f32.
template <class V>
inline void load_row(const void* base, DType t, int64_t offset, int64_t stride, int64_t n, float* dst) {
  if (stride == 1) {
    V::load_row(static_cast<const char*>(base) + offset * dtype_size(t), t, n, dst);
    return;
  }
  for (int64_t d = 0; d < n; ++d) {
    const int64_t at = d * stride;
    switch (t) {
      case DType::F32: dst[d] = static_cast<const float*>(base)[offset + at]; break;
      case DType::BF16: dst[d] = bf16_to_f32(static_cast<const uint16_t*>(base)[offset + at]); break;
      case DType::F16: dst[d] = f16_to_f32(static_cast<const uint16_t*>(base)[offset + at]); break;
    }
  }
}

template <class V>
void attend(const AttentionParams& p, const WorkItem& it, const Workspace& ws) {
  constexpr int W = V::width;
  const int64_t D = p.head_dim, R = it.rows;
  const int64_t ldr = pad_up(R), ldd = pad_up(D);
  const int64_t r_cols = (R + W - 1) / W * W;  // score columns computed: rows rounded up to whole vectors
  const int64_t d_cols = (D + W - 1) / W * W;

  // Queries, transposed; the padding columns stay 0 so their scores are finite.
  float* q_row = ws.k;  // the K tile is free until the first tile
  for (int64_t r = 0; r < R; ++r) {
    load_row<V>(p.q, p.dtype, it.q_offset[r], p.q_stride[3], D, q_row);
    for (int64_t d = 0; d < D; ++d) ws.q_t[d * ldr + r] = q_row[d];
  }
  for (int64_t d = 0; d < D; ++d)
    for (int64_t r = R; r < r_cols; ++r) ws.q_t[d * ldr + r] = 0.f;
  // A finite floor for the running max keeps exp(m_old - m_new) defined before a row has seen a key.
  for (int64_t r = 0; r < r_cols; ++r) {
    ws.m[r] = -FLT_MAX;
    ws.l[r] = 0.f;
  }
  std::fill(ws.o, ws.o + R * ldd, 0.f);
  // V tile columns past the head dim feed output columns that are never written back; keep them finite.
  for (int64_t c = 0; c < kKvTile; ++c) std::fill(ws.v + c * ldd + D, ws.v + c * ldd + d_cols, 0.f);

  const int64_t k_head = it.kv_head * p.k_stride[2], v_head = it.kv_head * p.v_stride[2];
  const float scale = p.scale, softcap = p.softcap;
  const float neg_inf = -std::numeric_limits<float>::infinity();
  for (int64_t t0 = it.key_begin; t0 < it.key_end; t0 += kKvTile) {
    const int64_t n = std::min(kKvTile, it.key_end - t0);
    const int64_t n_rows = (n + kMr - 1) / kMr * kMr;  // score rows computed: the micro-kernel's full blocks
    for (int64_t c = 0; c < n; ++c) {
      load_row<V>(p.k, p.dtype, p.kv_row(p.k_stride, it.batch, t0 + c) + k_head, p.k_stride[3], D, ws.k + c * ldd);
      load_row<V>(p.v, p.dtype, p.kv_row(p.v_stride, it.batch, t0 + c) + v_head, p.v_stride[3], D, ws.v + c * ldd);
    }
    for (int64_t c = n; c < n_rows; ++c) std::fill(ws.k + c * ldd, ws.k + c * ldd + D, 0.f);

    // Scores P^T[c][r] = scale * K[c] . Q[r], softcapped.
    gemm<V, false>(n_rows, r_cols, D, ws.k, ldd, 1, ws.q_t, ldr, ws.p, ldr);
    for (int64_t c = 0; c < n; ++c) {
      float* s = ws.p + c * ldr;
      for (int64_t r = 0; r < r_cols; r += W) V::store(s + r, V::mul(V::load(s + r), V::set1(scale)));
      if (softcap > 0.f)
        for (int64_t r = 0; r < r_cols; ++r) s[r] = softcap * std::tanh(s[r] / softcap);
    }
    // Tiles crossing the mask's edge: masked keys get -inf, which exp() turns into an exact 0.
    if (t0 < it.full_begin || t0 + n > it.full_end) {
      for (int64_t c = 0; c < n; ++c) {
        const int64_t j = t0 + c;
        float* s = ws.p + c * ldr;
        for (int64_t r = 0; r < R; ++r) {
          const int64_t at = it.pos[r] + it.mask_offset;
          const bool allowed = (p.window_left < 0 || j >= at - p.window_left) &&
                               (p.window_right < 0 || j <= at + p.window_right);
          if (!allowed) s[r] = neg_inf;
        }
      }
    }
    // Online softmax along the keys, W rows at a time.
    for (int64_t r = 0; r < r_cols; r += W) {
      const typename V::reg m_old = V::load(ws.m + r);
      typename V::reg m_new = m_old;
      for (int64_t c = 0; c < n; ++c) m_new = V::max(m_new, V::load(ws.p + c * ldr + r));
      typename V::reg sum = V::zero();
      for (int64_t c = 0; c < n; ++c) {
        const typename V::reg e = V::exp(V::sub(V::load(ws.p + c * ldr + r), m_new));
        V::store(ws.p + c * ldr + r, e);
        sum = V::add(sum, e);
      }
      const typename V::reg alpha = V::exp(V::sub(m_old, m_new));
      V::store(ws.l + r, V::fma(V::load(ws.l + r), alpha, sum));
      V::store(ws.m + r, m_new);
      V::store(ws.alpha + r, alpha);
    }
    for (int64_t r = 0; r < R; ++r) {
      if (ws.alpha[r] == 1.f) continue;
      const typename V::reg alpha = V::set1(ws.alpha[r]);
      float* o = ws.o + r * ldd;
      for (int64_t d = 0; d < d_cols; d += W) V::store(o + d, V::mul(V::load(o + d), alpha));
    }
    // O[r] += sum_c P^T[c][r] V[c].
    gemm<V, true>(R, d_cols, n, ws.p, 1, ldr, ws.v, ldd, ws.o, ldd);
  }
}

}  // namespace cpu
}  // namespace gqa
