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
    if constexpr (RB == 4) V::reduce_add4(acc, s + c * lds);  // the group of four query heads of decode
    else
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

// Key rows of one head are strided (by Hkv * D, or scattered over pages), and in [B, S, Hkv, D] each key's rows
// start a new 4 KiB page, where the hardware prefetcher stops: rows are prefetched kPrefetchAhead keys ahead of
// their use, towards L2 (locality 2): eight keys of all KV heads would not stay in L1 until used.
constexpr int64_t kPrefetchAhead = 8;

// Prefetches key j's row of the item's KV head in the K or V tensor `base` (with its strides), if the item visits j.
template <int Locality = 2>
inline void prefetch_row(const AttentionParams& p, const void* base, const int64_t stride[4], const WorkItem& it,
                         int64_t j) {
  if (j >= it.key_end) return;
  const int64_t size = dtype_size(p.dtype);
  const char* row = static_cast<const char*>(base) + (p.kv_row(stride, it.batch, j) + it.kv_head * stride[2]) * size;
  const int64_t bytes = ((p.head_dim - 1) * stride[3] + 1) * size;
  for (int64_t at = 0; at < bytes; at += 64) __builtin_prefetch(row + at, 0, Locality);
}

// Scores of few-row items from the bf16 K rows in place, by the vector type's bf16 dot product (when it has one):
// bf16 inputs, contiguous head dim, a whole number of dot-product blocks long.
template <class V>
bool bf16_scores(const AttentionParams& p) {
  if constexpr (V::bf16_dot)
    return p.dtype == DType::BF16 && p.k_stride[3] == 1 && p.head_dim % V::bf16_dot_block == 0;
  return false;
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
      // bf16 inputs: the same rows as bf16 for the bf16 dot product (exact: they came from bf16).
      if (bf16_scores<V>(p))
        for (int64_t d = 0; d < D; ++d) ws.q_bf16[r * ldd + d] = f32_to_bf16(ws.q[r * ldd + d]);
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

// K/V rows are read in place when they already are f32 vectors at one fixed stride (no pages, contiguous head dim
// a whole number of vectors long); else they are converted into the workspace.
template <class V>
bool rows_in_place(const AttentionParams& p) {
  return p.dtype == DType::F32 && p.k_stride[3] == 1 && p.v_stride[3] == 1 && !p.page_table &&
         p.head_dim % V::width == 0;
}

// Address of key j's row of the item's KV head, when rows are read in place.
inline const float* row_in_place(const AttentionParams& p, const void* base, const int64_t stride[4],
                                 const WorkItem& it, int64_t j) {
  return static_cast<const float*>(base) + p.kv_row(stride, it.batch, j) + it.kv_head * stride[2];
}

// Converts key j's row of the item's KV head in the K or V tensor `base` (with its strides) to f32 at dst.
template <class V>
void convert_row(const AttentionParams& p, const void* base, const int64_t stride[4], const WorkItem& it, int64_t j,
                 float* dst) {
  load_row<V>(base, p.dtype, p.kv_row(stride, it.batch, j) + it.kv_head * stride[2], stride[3], p.head_dim, dst);
}

// Converts key j's K and V rows into slot c of the workspace's tile.
template <class V>
void convert_key(const AttentionParams& p, const WorkItem& it, const Workspace& ws, int64_t j, int64_t c) {
  const int64_t ldd = pad_up(p.head_dim);
  convert_row<V>(p, p.k, p.k_stride, it, j, ws.k + c * ldd);
  convert_row<V>(p, p.v, p.v_stride, it, j, ws.v + c * ldd);
}

// The raw scores of key j (K[j] . Q[r]) into slot c of a few-row item's score tile.
template <class V>
void key_scores(const AttentionParams& p, const WorkItem& it, const Workspace& ws, int64_t j, int64_t c,
                const float* k_row) {
  const ItemShape<V> sh(p, it);
  if constexpr (V::bf16_dot) {
    if (bf16_scores<V>(p)) {
      const uint16_t* k_bits = static_cast<const uint16_t*>(p.k) + p.kv_row(p.k_stride, it.batch, j) +
                               it.kv_head * p.k_stride[2];
      V::dot_bf16(sh.R, sh.D, k_bits, ws.q_bf16, sh.ldd, ws.p + c * sh.ldr, 1);
      return;
    }
  }
  scores_by_rows<V>(1, sh.R, sh.d_cols, k_row, sh.ldd, ws.q, sh.ldd, ws.p + c * sh.ldr, sh.ldr);
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

// Keys [t0, t0 + kKvTile) of one item: scores (by the transposed product, or by dot products for few rows), online
// softmax, output update by the register-blocked product, which adds the keys to each output in key order.
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
  if (sh.by_rows) scores_by_rows<V>(n, R, d_cols, k_tile, ldk, ws.q, ldd, ws.p, ldr);
  else gemm<V, false>(n, r_cols, D, k_tile, ldk, 1, ws.q, ldr, ws.p, ldr);
  softmax_tile<V>(p, it, ws, t0, n);
  gemm<V, true>(R, d_cols, n, ws.p, 1, ldr, v_tile, ldv, ws.o, ldd);
}

// o[r] += w[k * ldw + r] * v[k] for keys k < KB in order, each step one fma, for R rows: KB keys per pass over the
// output rows keeps their loads and stores few.
template <class V, int KB>
void add_weighted_keys(int64_t R, int64_t d_cols, const float* w, int64_t ldw, const float* const* v, float* o,
                       int64_t ldd) {
  constexpr int W = V::width;
  for (int64_t d = 0; d < d_cols; d += W) {
    typename V::reg vk[KB];
    for (int k = 0; k < KB; ++k) vk[k] = V::load(v[k] + d);
    for (int64_t r = 0; r < R; ++r) {
      typename V::reg acc = V::load(o + r * ldd + d);
      for (int k = 0; k < KB; ++k) acc = V::fma(V::set1(w[k * ldw + r]), vk[k], acc);
      V::store(o + r * ldd + d, acc);
    }
  }
}

// Keys [t0, t0 + kKvTile) of a set of items with few rows each (decode: the query heads of each KV head at one
// position), key by key across the set: in [B, S, Hkv, D] the rows of all KV heads of one key are one contiguous
// run, so K and V stream through memory in order, each byte read once. The score pass prefetches the V rows along
// with the K rows, so the output pass finds the whole tile's V in L2 (a tile of K and V for all KV heads fits it).
// Each output still adds its keys in key order, as attend_tile does.
template <class V>
void attend_tile_by_keys(const AttentionParams& p, const WorkItem* items, const Workspace* ws, int64_t count,
                         int64_t t0) {
  const WorkItem& first = items[0];
  const int64_t n = std::min(kKvTile, first.key_end - t0);
  const int64_t ldd = pad_up(p.head_dim);
  const bool in_place = rows_in_place<V>(p), k_bf16 = bf16_scores<V>(p);
  for (int64_t c = 0; c < n; ++c) {
    const int64_t j = t0 + c;
    for (int64_t i = 0; i < count; ++i) {
      const float* k_row = ws[i].k + c * ldd;
      prefetch_row(p, p.k, p.k_stride, items[i], j + kPrefetchAhead);
      prefetch_row(p, p.v, p.v_stride, items[i], j + kPrefetchAhead);
      prefetch_row<3>(p, p.k, p.k_stride, items[i], j + 1);  // from L2 into L1 for the next key
      if (in_place) k_row = row_in_place(p, p.k, p.k_stride, items[i], j);
      else {
        if (!k_bf16) convert_row<V>(p, p.k, p.k_stride, items[i], j, ws[i].k + c * ldd);
        convert_row<V>(p, p.v, p.v_stride, items[i], j, ws[i].v + c * ldd);
      }
      key_scores<V>(p, items[i], ws[i], j, c, k_row);
    }
  }
  for (int64_t i = 0; i < count; ++i) softmax_tile<V>(p, items[i], ws[i], t0, n);
  constexpr int kKeysPerPass = 4;
  for (int64_t c = 0; c < n; c += kKeysPerPass) {
    const int keys = int(std::min<int64_t>(kKeysPerPass, n - c));
    for (int64_t i = 0; i < count; ++i) {
      const ItemShape<V> sh(p, items[i]);
      const float* v[kKeysPerPass];
      for (int k = 0; k < keys; ++k) {
        v[k] = in_place ? row_in_place(p, p.v, p.v_stride, items[i], t0 + c + k) : ws[i].v + (c + k) * ldd;
        if (in_place) prefetch_row<3>(p, p.v, p.v_stride, items[i], t0 + c + k + kKeysPerPass);
      }
      const float* w = ws[i].p + c * sh.ldr;
      switch (keys) {
        case 4: add_weighted_keys<V, 4>(sh.R, sh.d_cols, w, sh.ldr, v, ws[i].o, ldd); break;
        case 3: add_weighted_keys<V, 3>(sh.R, sh.d_cols, w, sh.ldr, v, ws[i].o, ldd); break;
        case 2: add_weighted_keys<V, 2>(sh.R, sh.d_cols, w, sh.ldr, v, ws[i].o, ldd); break;
        default: add_weighted_keys<V, 1>(sh.R, sh.d_cols, w, sh.ldr, v, ws[i].o, ldd); break;
      }
    }
  }
}

// Runs items that share one key range tile by tile, every item on each tile before the next tile.
template <class V>
void attend(const AttentionParams& p, const WorkItem* items, const Workspace* ws, int64_t count) {
  bool few_rows = true;
  for (int64_t i = 0; i < count; ++i) {
    start_item<V>(p, items[i], ws[i]);
    few_rows = few_rows && ItemShape<V>(p, items[i]).by_rows;
  }
  for (int64_t t0 = items[0].key_begin; t0 < items[0].key_end; t0 += kKvTile) {
    if (few_rows) attend_tile_by_keys<V>(p, items, ws, count, t0);
    else
      for (int64_t i = 0; i < count; ++i) attend_tile<V>(p, items[i], ws[i], t0);
  }
}

}  // namespace cpu
}  // namespace gqa
