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

#include "attend_few_rows.h"
#include "kernel_rows.h"
#include "work_item.h"

namespace gqa {
namespace cpu {

// The micro-kernel's register block: kMr rows of A by up to kMaxNv vectors of B, as many accumulators as the
// registers hold with room for the operands (32 vector registers with AVX-512, 16 otherwise).
template <class V>
constexpr int kMr = V::registers >= 32 ? 6 : 4;
template <class V>
constexpr int kMaxNv = V::registers >= 32 ? 4 : 2;

// C[i][n*W..] (+)= sum_k a[i*a_row + k*a_k] * b[k*ldb + n*W..] for i < MR, n < NV, k < k_len (at least one: the
// do-while keeps the accumulators in registers, see score_block in attend_few_rows.h).
template <class V, int MR, int NV, bool Accumulate>
inline void micro_kernel(int64_t k_len, const float* a, int64_t a_row, int64_t a_k, const float* b, int64_t ldb,
                         float* c, int64_t ldc) {
  constexpr int W = V::width;
  typename V::reg acc[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int n = 0; n < NV; ++n) acc[i][n] = Accumulate ? V::load(c + i * ldc + n * W) : V::zero();
  int64_t k = 0;
  do {
    typename V::reg bv[NV];
    for (int n = 0; n < NV; ++n) bv[n] = V::load(b + k * ldb + n * W);
    for (int i = 0; i < MR; ++i) {
      const typename V::reg av = V::set1(a[i * a_row + k * a_k]);
      for (int n = 0; n < NV; ++n) acc[i][n] = V::fma(av, bv[n], acc[i][n]);
    }
  } while (++k < k_len);
  for (int i = 0; i < MR; ++i)
    for (int n = 0; n < NV; ++n) V::store(c + i * ldc + n * W, acc[i][n]);
}

// MR rows of C, all n_cols columns (a multiple of V::width).
template <class V, int MR, bool Accumulate>
inline void gemm_rows(int64_t n_cols, int64_t k_len, const float* a, int64_t a_row, int64_t a_k, const float* b,
                      int64_t ldb, float* c, int64_t ldc) {
  constexpr int W = V::width;
  int64_t j = 0;
  constexpr int NV = kMaxNv<V>;
  for (; j + NV * W <= n_cols; j += NV * W)
    micro_kernel<V, MR, NV, Accumulate>(k_len, a, a_row, a_k, b + j, ldb, c + j, ldc);
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
  constexpr int MR = kMr<V>;
  int64_t i = 0;
  for (; i + MR <= m; i += MR)
    gemm_rows<V, MR, Accumulate>(n_cols, k_len, a + i * a_row, a_row, a_k, b, ldb, c + i * ldc, ldc);
  const float* a_rest = a + i * a_row;
  float* c_rest = c + i * ldc;
  switch (m - i) {
    case 5: gemm_rows<V, 5, Accumulate>(n_cols, k_len, a_rest, a_row, a_k, b, ldb, c_rest, ldc); break;
    case 4: gemm_rows<V, 4, Accumulate>(n_cols, k_len, a_rest, a_row, a_k, b, ldb, c_rest, ldc); break;
    case 3: gemm_rows<V, 3, Accumulate>(n_cols, k_len, a_rest, a_row, a_k, b, ldb, c_rest, ldc); break;
    case 2: gemm_rows<V, 2, Accumulate>(n_cols, k_len, a_rest, a_row, a_k, b, ldb, c_rest, ldc); break;
    case 1: gemm_rows<V, 1, Accumulate>(n_cols, k_len, a_rest, a_row, a_k, b, ldb, c_rest, ldc); break;
    default: break;
  }
}

// Loads the item's queries and clears its running state.
template <class V>
void start_item(const AttentionParams& p, const WorkItem& it, const Workspace& ws) {
  const ItemShape<V> sh(p, it);
  const int64_t D = sh.D, R = sh.R, ldr = sh.ldr, ldd = sh.ldd, r_cols = sh.r_cols, d_cols = sh.d_cols;
  // Queries: row-major for scores by dot products, else transposed. Padding stays 0 so every score is finite.
  if (sh.by_rows) {
    for (int64_t r = 0; r < R; ++r) {
      load_row<V>(p.q, p.dtype, it.q_offset[r], p.q_stride[3], D, ws.q + r * ldd);
      std::fill(ws.q + r * ldd + D, ws.q + r * ldd + d_cols, 0.f);
      // bf16 inputs: the same rows as bf16 for the bf16 dot product (exact: they came from bf16).
      if (bf16_scores<V>(p))
        for (int64_t d = 0; d < D; ++d) ws.q_bf16[r * ldd + d] = f32_to_bf16(ws.q[r * ldd + d]);
    }
  } else {
    // Rows first into the K tile (free until the first tile; R <= kKvTile rows of ldd), then transposed a whole
    // column at a time, so that the stores run along ws.q.
    float* rows = ws.k;
    for (int64_t r = 0; r < R; ++r) load_row<V>(p.q, p.dtype, it.q_offset[r], p.q_stride[3], D, rows + r * ldd);
    for (int64_t d = 0; d < D; ++d) {
      float* column = ws.q + d * ldr;
      for (int64_t r = 0; r < R; ++r) column[r] = rows[r * ldd + d];
      std::fill(column + R, column + r_cols, 0.f);
    }
  }
  // A finite floor for the running max keeps exp(m_old - m_new) defined before a row has seen a key.
  for (int64_t r = 0; r < r_cols; ++r) {
    ws.m[r] = -FLT_MAX;
    ws.l[r] = 0.f;
  }
  std::fill(ws.o, ws.o + R * ldd, 0.f);
  // K/V tile columns past the head dim enter dot products and output columns that are never written back: keep
  // them 0. (A head dim of whole vectors has none.)
  if (d_cols > D)
    for (int64_t c = 0; c < kKvTile; ++c) {
      std::fill(ws.k + c * ldd + D, ws.k + c * ldd + d_cols, 0.f);
      std::fill(ws.v + c * ldd + D, ws.v + c * ldd + d_cols, 0.f);
    }
}

// Converts key j's K and V rows into slot c of the workspace's tile.
template <class V>
void convert_key(const AttentionParams& p, const WorkItem& it, const Workspace& ws, int64_t j, int64_t c) {
  const int64_t ldd = pad_up(p.head_dim);
  convert_row<V>(p, p.k, p.k_stride, it, j, ws.k + c * ldd);
  convert_row<V>(p, p.v, p.v_stride, it, j, ws.v + c * ldd);
}

// Turns the raw dot products of keys [t0, t0 + n) in ws.p into probabilities: scale, softcap, mask, then the online
// softmax step (running max and sum, output rows rescaled). ws.alpha keeps each row's rescale factor.
template <class V>
void softmax_tile(const AttentionParams& p, const WorkItem& it, const Workspace& ws, int64_t t0, int64_t n) {
  constexpr int W = V::width;
  const ItemShape<V> sh(p, it);
  const int64_t R = sh.R, ldr = sh.ldr, ldd = sh.ldd, r_cols = sh.r_cols, d_cols = sh.d_cols;
  const float scale = p.scale, softcap = p.softcap;
  const float neg_inf = -std::numeric_limits<float>::infinity();
  for (int64_t c = 0; c < n; ++c) {
    float* s = ws.p + c * ldr;
    for (int64_t r = 0; r < r_cols; r += W) V::store(s + r, V::mul(V::load(s + r), V::set1(scale)));
    if (softcap > 0.f)
      for (int64_t r = 0; r < r_cols; r += W)
        V::store(s + r, V::mul(V::set1(softcap), V::tanh(V::mul(V::load(s + r), V::set1(1.f / softcap)))));
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
  // Online softmax along the keys, W rows at a time. The sum l is the output column that V all ones would give,
  // rounding for rounding: rescaled by the same multiply as the output rows, then each key's weight added in key
  // order, as the P @ V accumulation's fma(p, 1, acc) adds it. So V = 1 gives exactly l / l = 1.
  for (int64_t r = 0; r < r_cols; r += W) {
    const typename V::reg m_old = V::load(ws.m + r);
    typename V::reg m_new = m_old;
    for (int64_t c = 0; c < n; ++c) m_new = V::max(m_new, V::load(ws.p + c * ldr + r));
    const typename V::reg alpha = V::exp(V::sub(m_old, m_new));
    typename V::reg l = V::mul(V::load(ws.l + r), alpha);
    for (int64_t c = 0; c < n; ++c) {
      const typename V::reg e = V::exp(V::sub(V::load(ws.p + c * ldr + r), m_new));
      V::store(ws.p + c * ldr + r, e);
      l = V::add(l, e);
    }
    V::store(ws.l + r, l);
    V::store(ws.m + r, m_new);
    V::store(ws.alpha + r, alpha);
  }
  for (int64_t r = 0; r < R; ++r) {
    if (ws.alpha[r] == 1.f) continue;
    const typename V::reg alpha = V::set1(ws.alpha[r]);
    float* o = ws.o + r * ldd;
    for (int64_t d = 0; d < d_cols; d += W) V::store(o + d, V::mul(V::load(o + d), alpha));
  }
}

// Keys [t0, t0 + kKvTile) of one item with many rows: scores by the transposed product, online softmax, output
// update by the register-blocked product, which adds the keys to each output in key order.
template <class V>
void attend_tile(const AttentionParams& p, const WorkItem& it, const Workspace& ws, int64_t t0) {
  const ItemShape<V> sh(p, it);
  const int64_t D = sh.D, R = sh.R, ldr = sh.ldr, ldd = sh.ldd, r_cols = sh.r_cols, d_cols = sh.d_cols;
  const int64_t n = std::min(kKvTile, it.key_end - t0);
  const float* k_tile = ws.k;
  const float* v_tile = ws.v;
  int64_t ldk = ldd, ldv = ldd;
  if (rows_in_place<V>(p)) {
    k_tile = row_in_place(p, p.k, p.k_stride, it, t0);
    v_tile = row_in_place(p, p.v, p.v_stride, it, t0);
    ldk = p.k_stride[1];
    ldv = p.v_stride[1];
  } else {
    for (int64_t c = 0; c < n; ++c) {
      prefetch_row(p, p.k, p.k_stride, it, t0 + c + kPrefetchAhead);
      prefetch_row(p, p.v, p.v_stride, it, t0 + c + kPrefetchAhead);
      convert_key<V>(p, it, ws, t0 + c, c);
    }
  }
  gemm<V, false>(n, r_cols, D, k_tile, ldk, 1, ws.q, ldr, ws.p, ldr);
  softmax_tile<V>(p, it, ws, t0, n);
  gemm<V, true>(R, d_cols, n, ws.p, 1, ldr, v_tile, ldv, ws.o, ldd);
}

// Runs items that share one key range tile by tile, every item on each tile before the next tile. A set of few-row
// items goes through each tile together (attend_few_rows.h), and prefetches into what the thread runs next; a set
// mixing both kinds (uneven head maps) runs item by item, and does not. Returns whether it prefetched (AttendFn).
template <class V>
bool attend(const AttentionParams& p, const WorkItem* items, const Workspace* ws, int64_t count,
            const Lookahead& ahead) {
  bool all_few_rows = true;
  for (int64_t i = 0; i < count; ++i) {
    start_item<V>(p, items[i], ws[i]);
    all_few_rows = all_few_rows && ItemShape<V>(p, items[i]).by_rows;
  }
  for (int64_t t0 = items[0].key_begin; t0 < items[0].key_end; t0 += kKvTile) {
    if (all_few_rows) {
      attend_few_rows_tile<V>(p, items, ws, count, t0, ahead);
      continue;
    }
    for (int64_t i = 0; i < count; ++i) {
      if (ItemShape<V>(p, items[i]).by_rows) attend_few_rows_tile<V>(p, items + i, ws + i, 1, t0, Lookahead());
      else attend_tile<V>(p, items[i], ws[i], t0);
    }
  }
  return all_few_rows && ahead.next_count > 0;
}

}  // namespace cpu
}  // namespace gqa
