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

// Scores by dot products along the head dim, for items with fewer rows than half a vector (decode: the query heads
// of one group at one position), where the transposed product would leave most lanes idle:
//   s[c*lds + r] = K[c] . Q[r] for c < n, RB rows r.
template <class V, int RB>
inline void dot_rows(int64_t n, int64_t d_cols, const float* k, int64_t ldk, const float* q, int64_t ldq, float* s,
                     int64_t lds) {
  constexpr int W = V::width;
  for (int64_t c = 0; c < n; ++c) {
    typename V::reg acc[RB];
    for (int i = 0; i < RB; ++i) acc[i] = V::zero();
    for (int64_t d = 0; d < d_cols; d += W) {
      const typename V::reg kv = V::load(k + c * ldk + d);
      for (int i = 0; i < RB; ++i) acc[i] = V::fma(V::load(q + i * ldq + d), kv, acc[i]);
    }
    for (int i = 0; i < RB; ++i) s[c * lds + i] = V::reduce_add(acc[i]);
  }
}

template <class V>
void scores_by_rows(int64_t n, int64_t rows, int64_t d_cols, const float* k, int64_t ldk, const float* q,
                    int64_t ldq, float* s, int64_t lds) {
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4) dot_rows<V, 4>(n, d_cols, k, ldk, q + r * ldq, ldq, s + r, lds);
  switch (rows - r) {
    case 3: dot_rows<V, 3>(n, d_cols, k, ldk, q + r * ldq, ldq, s + r, lds); break;
    case 2: dot_rows<V, 2>(n, d_cols, k, ldk, q + r * ldq, ldq, s + r, lds); break;
    case 1: dot_rows<V, 1>(n, d_cols, k, ldk, q + r * ldq, ldq, s + r, lds); break;
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

// Key rows of one head are strided (by Hkv * D, or scattered over pages), which the hardware prefetcher follows
// poorly. Converted rows are prefetched kPrefetchAhead keys ahead; rows read in place (decode) one step ahead (the
// next item's tile), in groups of kPrefetchGroup keys spread over the current tile's work rather than in one burst. Into L2: a tile
// of K and V rows (64 KiB at D = 128) does not fit L1.
constexpr int64_t kPrefetchAhead = 8, kPrefetchGroup = 8;

// Prefetches the K and V rows of keys [begin, end) of the item's KV head, clipped to the item's keys.
inline void prefetch_keys(const AttentionParams& p, const WorkItem& it, int64_t begin, int64_t end) {
  const int64_t size = dtype_size(p.dtype);
  const int64_t k_bytes = ((p.head_dim - 1) * p.k_stride[3] + 1) * size;
  const int64_t v_bytes = ((p.head_dim - 1) * p.v_stride[3] + 1) * size;
  for (int64_t j = begin; j < std::min(end, it.key_end); ++j) {
    const char* k = static_cast<const char*>(p.k) + (p.kv_row(p.k_stride, it.batch, j) + it.kv_head * p.k_stride[2]) * size;
    const char* v = static_cast<const char*>(p.v) + (p.kv_row(p.v_stride, it.batch, j) + it.kv_head * p.v_stride[2]) * size;
    for (int64_t at = 0; at < k_bytes; at += 64) __builtin_prefetch(k + at, 0, 2);
    for (int64_t at = 0; at < v_bytes; at += 64) __builtin_prefetch(v + at, 0, 2);
  }
}

// Sizes of one item's scratch layout (work_item.h).
template <class V>
struct ItemShape {
  int64_t D, R, ldr, ldd;
  int64_t r_cols, d_cols;  // score columns and output columns computed: rows and head dim in whole vectors
  bool by_rows;            // scores by dot products (few rows) rather than by the transposed product
  ItemShape(const AttentionParams& p, const WorkItem& it)
      : D(p.head_dim), R(it.rows), ldr(pad_up(R)), ldd(pad_up(D)),
        r_cols((R + V::width - 1) / V::width * V::width), d_cols((D + V::width - 1) / V::width * V::width),
        by_rows(2 * R <= V::width) {}
};

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
    }
  } else {
    float* q_row = ws.k;  // the K tile is free until the first tile
    for (int64_t r = 0; r < R; ++r) {
      load_row<V>(p.q, p.dtype, it.q_offset[r], p.q_stride[3], D, q_row);
      for (int64_t d = 0; d < D; ++d) ws.q[d * ldr + r] = q_row[d];
    }
    for (int64_t d = 0; d < D; ++d)
      for (int64_t r = R; r < r_cols; ++r) ws.q[d * ldr + r] = 0.f;
  }
  std::fill(ws.p, ws.p + kKvTile * ldr, 0.f);  // score columns past R, which scores_by_rows leaves alone
  // A finite floor for the running max keeps exp(m_old - m_new) defined before a row has seen a key.
  for (int64_t r = 0; r < r_cols; ++r) {
    ws.m[r] = -FLT_MAX;
    ws.l[r] = 0.f;
  }
  std::fill(ws.o, ws.o + R * ldd, 0.f);
  // K/V tile columns past the head dim enter dot products and output columns that are never written back: keep
  // them 0.
  for (int64_t c = 0; c < kKvTile; ++c) {
    std::fill(ws.k + c * ldd + D, ws.k + c * ldd + d_cols, 0.f);
    std::fill(ws.v + c * ldd + D, ws.v + c * ldd + d_cols, 0.f);
  }
}

// Keys [t0, t0 + kKvTile) of the item's range: scores, online softmax, output update. Rows read in place are
// prefetched for the step that follows: keys [next_t0, next_t0 + kKvTile) of item `next`.
template <class V>
void attend_tile(const AttentionParams& p, const WorkItem& it, const Workspace& ws, int64_t t0,
                 const WorkItem& next, int64_t next_t0) {
  constexpr int W = V::width;
  const ItemShape<V> sh(p, it);
  const int64_t D = sh.D, R = sh.R, ldr = sh.ldr, ldd = sh.ldd, r_cols = sh.r_cols, d_cols = sh.d_cols;
  const bool by_rows = sh.by_rows;
  const int64_t k_head = it.kv_head * p.k_stride[2], v_head = it.kv_head * p.v_stride[2];
  // f32 rows, contiguous, at one stride (no pages), a whole number of vectors long: no conversion needed.
  const bool direct = p.dtype == DType::F32 && p.k_stride[3] == 1 && p.v_stride[3] == 1 && !p.page_table &&
                      D % W == 0;
  const float scale = p.scale, softcap = p.softcap;
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const int64_t n = std::min(kKvTile, it.key_end - t0);
  // Rows of this tile: straight from the caller's memory when they already are f32 vectors at a fixed stride,
  // else converted into the workspace.
  const float* k_tile = ws.k;
  const float* v_tile = ws.v;
  int64_t ldk = ldd, ldv = ldd;
  if (direct) {
    k_tile = static_cast<const float*>(p.k) + p.kv_row(p.k_stride, it.batch, t0) + k_head;
    v_tile = static_cast<const float*>(p.v) + p.kv_row(p.v_stride, it.batch, t0) + v_head;
    ldk = p.k_stride[1];
    ldv = p.v_stride[1];
  } else {
    for (int64_t c = 0; c < n; ++c) {
      prefetch_keys(p, it, t0 + c + kPrefetchAhead, t0 + c + kPrefetchAhead + 1);
      load_row<V>(p.k, p.dtype, p.kv_row(p.k_stride, it.batch, t0 + c) + k_head, p.k_stride[3], D, ws.k + c * ldd);
      load_row<V>(p.v, p.dtype, p.kv_row(p.v_stride, it.batch, t0 + c) + v_head, p.v_stride[3], D, ws.v + c * ldd);
    }
  }

  // Scores P^T[c][r] = scale * K[c] . Q[r], softcapped.
  if (by_rows) {
    for (int64_t c = 0; c < n; c += kPrefetchGroup) {
      if (direct) prefetch_keys(p, next, next_t0 + c, next_t0 + c + kPrefetchGroup);
      scores_by_rows<V>(std::min(kPrefetchGroup, n - c), R, d_cols, k_tile + c * ldk, ldk, ws.q, ldd, ws.p + c * ldr,
                        ldr);
    }
  } else gemm<V, false>(n, r_cols, D, k_tile, ldk, 1, ws.q, ldr, ws.p, ldr);
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
  // Online softmax along the keys, W rows at a time. The sum l is the output column that V all ones would give,
  // rounding for rounding: rescaled by the same multiply as the output rows, then each key's weight added in key
  // order, as the P @ V product's fma(p, 1, acc) adds it. So V = 1 gives exactly l / l = 1.
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
  // O[r] += sum_c P^T[c][r] V[c].
  gemm<V, true>(R, d_cols, n, ws.p, 1, ldr, v_tile, ldv, ws.o, ldd);
}

// Runs items that share one key range tile by tile, every item on each tile before the next tile: items of
// different KV heads at the same keys then read neighbouring memory (one page per key in [B, S, Hkv, D]) together.
template <class V>
void attend(const AttentionParams& p, const WorkItem* items, const Workspace* ws, int64_t count) {
  for (int64_t i = 0; i < count; ++i) start_item<V>(p, items[i], ws[i]);
  for (int64_t t0 = items[0].key_begin; t0 < items[0].key_end; t0 += kKvTile) {
    for (int64_t i = 0; i < count; ++i) {
      const bool last = i + 1 == count;
      attend_tile<V>(p, items[i], ws[i], t0, items[last ? 0 : i + 1], last ? t0 + kKvTile : t0);
    }
  }
}

}  // namespace cpu
}  // namespace gqa
