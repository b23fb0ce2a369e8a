#include "selftest/cases.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

namespace selftest {
namespace {

using gqa::Alignment;
using gqa::DType;

// Uniform [-1, 1], never zero (in the stored dtype too), stored as dtype t.
void fill_random(std::vector<uint8_t>& buf, int64_t count, DType t, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  buf.assign(size_t(count) * size_t(gqa::dtype_size(t)), 0);
  for (int64_t i = 0; i < count; ++i) {
    float x = dist(rng);
    if (std::fabs(x) < 1.f / 256) x = x < 0 ? -1.f / 256 : 1.f / 256;
    switch (t) {
      case DType::F32: reinterpret_cast<float*>(buf.data())[i] = x; break;
      case DType::BF16: reinterpret_cast<uint16_t*>(buf.data())[i] = gqa::f32_to_bf16(x); break;
      case DType::F16: reinterpret_cast<uint16_t*>(buf.data())[i] = gqa::f32_to_f16(x); break;
    }
  }
}

// A tensor argument over `buf` with the given logical shape and a memory layout: `order` lists the logical
// dimensions from outermost to innermost, `pad` adds elements after each row of the outermost-but-one dim.
gqa::TensorArg tensor(const std::vector<uint8_t>& buf, DType t, int rank, const int64_t* shape, const int* order,
                      int64_t pad) {
  gqa::TensorArg a;
  a.data = buf.data();
  a.bytes = buf.size();
  a.dtype = t;
  a.rank = rank;
  a.has_stride = true;
  int64_t s = 1;
  for (int k = rank - 1; k >= 0; --k) {
    a.shape[order[k]] = shape[order[k]];
    a.stride[order[k]] = s;
    s *= shape[order[k]];
    if (k == rank - 1) s += pad;
  }
  return a;
}

int64_t elements(int rank, const int64_t* shape, const int* order, int64_t pad) {
  int64_t s = 1;
  for (int k = rank - 1; k >= 0; --k) {
    s *= shape[order[k]];
    if (k == rank - 1) s += pad;
  }
  return s;
}

}  // namespace

float load_as_float(const void* base, DType t, int64_t index) {
  switch (t) {
    case DType::F32: return static_cast<const float*>(base)[index];
    case DType::BF16: return gqa::bf16_to_f32(static_cast<const uint16_t*>(base)[index]);
    case DType::F16: return gqa::f16_to_f32(static_cast<const uint16_t*>(base)[index]);
  }
  return NAN;
}

CaseData::CaseData(const Case& c, std::mt19937& rng) {
  const bool varlen = !c.varlen_q.empty();
  const bool paged = c.page_size > 0;
  const int rank = varlen ? 3 : 4;
  int64_t rows_q = c.seqlen_q, rows_kv = c.seqlen_kv, batch_kv = c.batch;
  if (varlen) {
    cu_q_.assign(1, 0);
    cu_kv_.assign(1, 0);
    for (size_t b = 0; b < c.varlen_q.size(); ++b) {
      cu_q_.push_back(cu_q_.back() + c.varlen_q[b]);
      cu_kv_.push_back(cu_kv_.back() + c.varlen_kv[b]);
    }
    rows_q = cu_q_.back();
    rows_kv = cu_kv_.back();
  }
  if (paged) {  // pages of all sequences, shuffled so the page table is not the identity
    const int64_t pages_per_seq = (c.seqlen_kv + c.page_size - 1) / c.page_size;
    batch_kv = c.batch * pages_per_seq;
    rows_kv = c.page_size;
    page_table_.resize(size_t(batch_kv));
    std::iota(page_table_.begin(), page_table_.end(), 0);
    std::shuffle(page_table_.begin(), page_table_.end(), rng);
    seqlens_kv_ = c.paged_kv;
    req_.page_table = {page_table_.data(), int64_t(page_table_.size())};
    req_.pages_per_seq = pages_per_seq;
    req_.seqlens_kv = {seqlens_kv_.data(), int64_t(seqlens_kv_.size())};
  }
  const int64_t q_shape4[4] = {c.batch, rows_q, c.heads_q, c.head_dim};
  const int64_t kv_shape4[4] = {batch_kv, rows_kv, c.heads_kv, c.head_dim};
  const int64_t* q_shape = varlen ? q_shape4 + 1 : q_shape4;
  const int64_t* kv_shape = varlen ? kv_shape4 + 1 : kv_shape4;
  // Layouts (outermost first). Strided: q and k [.., S, D, H] (head dim not innermost: the generic loads), v
  // head-major [B, H, S, D], out rows padded.
  const int contiguous4[4] = {0, 1, 2, 3}, dim_outer4[4] = {0, 1, 3, 2}, head_major4[4] = {0, 2, 1, 3};
  const int contiguous3[3] = {0, 1, 2}, dim_outer3[3] = {0, 2, 1}, head_major3[3] = {1, 0, 2};
  const int* plain = varlen ? contiguous3 : contiguous4;
  const int* qk_order = c.strided ? (varlen ? dim_outer3 : dim_outer4) : plain;
  const int* v_order = c.strided ? (varlen ? head_major3 : head_major4) : plain;
  const int64_t out_pad = c.strided ? 16 : 0;

  fill_random(q_, elements(rank, q_shape, qk_order, 0), c.dtype, rng);
  fill_random(k_, elements(rank, kv_shape, qk_order, 0), c.dtype, rng);
  fill_random(v_, elements(rank, kv_shape, v_order, 0), c.dtype, rng);
  out_.assign(size_t(elements(rank, q_shape, plain, out_pad)) * size_t(gqa::dtype_size(c.out_dtype)), 0);
  req_.q = tensor(q_, c.dtype, rank, q_shape, qk_order, 0);
  req_.k = tensor(k_, c.dtype, rank, kv_shape, qk_order, 0);
  req_.v = tensor(v_, c.dtype, rank, kv_shape, v_order, 0);
  req_.out = tensor(out_, c.out_dtype, rank, q_shape, plain, out_pad);

  lse_.assign(size_t(c.heads_q * (varlen ? rows_q : c.batch * c.seqlen_q)), 0.f);
  req_.lse = {lse_.data(), int64_t(lse_.size())};
  if (!c.head_map.empty()) req_.head_map = {c.head_map.data(), int64_t(c.head_map.size())};
  if (varlen) {
    req_.cu_seqlens_q = {cu_q_.data(), int64_t(cu_q_.size())};
    req_.cu_seqlens_kv = {cu_kv_.data(), int64_t(cu_kv_.size())};
  }
  if (c.sinks) {
    std::uniform_real_distribution<float> dist(-1.f, 2.f);
    for (int64_t h = 0; h < c.heads_q; ++h) sinks_.push_back(dist(rng));
    sinks_[0] = -INFINITY;  // a head without a sink
    req_.sinks = {sinks_.data(), int64_t(sinks_.size())};
  }
  req_.softcap = c.softcap;
  req_.causal = c.causal;
  req_.window_left = c.window_left;
  req_.window_right = c.window_right;
  req_.alignment = c.alignment;
}

void CaseData::reset_outputs(bool poison) {
  const float nan = std::nanf("");
  std::fill(lse_.begin(), lse_.end(), poison ? nan : 0.f);
  const DType t = req_.out.dtype;
  const size_t n = out_.size() / size_t(gqa::dtype_size(t));
  for (size_t i = 0; i < n; ++i) {
    if (t == DType::F32) {
      reinterpret_cast<float*>(out_.data())[i] = poison ? nan : 0.f;
    } else {
      const uint16_t bits = t == DType::BF16 ? gqa::f32_to_bf16(nan) : gqa::f32_to_f16(nan);
      reinterpret_cast<uint16_t*>(out_.data())[i] = poison ? bits : 0;
    }
  }
}

std::vector<Case> test_cases() {
  auto named = [](const char* name) {
    Case c;
    c.name = name;
    return c;
  };
  std::vector<Case> shapes;
  auto add = [&](Case c) { shapes.push_back(std::move(c)); };
  {
    Case c = named("mha-d64-causal-topleft");
    c.batch = 2, c.seqlen_q = 67, c.seqlen_kv = 67, c.heads_q = 2, c.heads_kv = 2, c.head_dim = 64, c.causal = true;
    add(c);
  }
  {
    Case c = named("gqa4-d128-causal-bottomright");
    c.seqlen_q = 80, c.seqlen_kv = 96, c.heads_q = 8, c.heads_kv = 2, c.head_dim = 128, c.causal = true;
    c.alignment = Alignment::BottomRight;
    add(c);
  }
  {
    Case c = named("gqa7-d80-nomask-out-f32");
    c.seqlen_q = 33, c.seqlen_kv = 50, c.heads_q = 14, c.heads_kv = 2, c.head_dim = 80;
    c.out_dtype = gqa::DType::F32;
    add(c);
  }
  {
    // f32 output: only here does the rounding of P before P V (16-bit inputs) stand out against lp_ref's error.
    Case c = named("gqa4-d128-causal-out-f32");
    c.seqlen_q = 190, c.seqlen_kv = 190, c.heads_q = 8, c.heads_kv = 2, c.head_dim = 128, c.causal = true;
    c.out_dtype = gqa::DType::F32;
    add(c);
  }
  {
    Case c = named("gqa8-d256-window-bottomright");
    c.seqlen_q = 20, c.seqlen_kv = 70, c.heads_q = 16, c.heads_kv = 2, c.head_dim = 256;
    c.window_left = 8, c.window_right = 2, c.alignment = Alignment::BottomRight;
    add(c);
  }
  {
    Case c = named("mqa-d64-softcap");
    c.seqlen_q = 45, c.seqlen_kv = 45, c.heads_q = 6, c.heads_kv = 1, c.head_dim = 64, c.softcap = 0.5f;
    add(c);
  }
  {
    Case c = named("uneven-headmap-sinks-causal");
    c.seqlen_q = 30, c.seqlen_kv = 70, c.heads_q = 7, c.heads_kv = 3, c.head_dim = 64;
    c.head_map = {2, 0, 0, 1, 0, 2, 0};
    c.sinks = true, c.causal = true, c.alignment = Alignment::BottomRight;
    add(c);
  }
  {
    Case c = named("varlen-gqa4-d128-masked-rows");  // third sequence: more queries than keys, bottom-right: empty rows
    c.batch = 3, c.seqlen_q = 60, c.seqlen_kv = 52, c.heads_q = 8, c.heads_kv = 2, c.head_dim = 128;
    c.varlen_q = {5, 0, 60}, c.varlen_kv = {17, 9, 52};
    c.causal = true, c.alignment = Alignment::BottomRight;
    add(c);
  }
  {
    Case c = named("paged-decode-gqa4-d128");
    c.batch = 2, c.seqlen_q = 1, c.seqlen_kv = 1333, c.heads_q = 32, c.heads_kv = 8, c.head_dim = 128;
    c.page_size = 16, c.paged_kv = {700, 1333};
    add(c);
  }
  {
    // Paged K/V with enough query rows for the matrix-core prefill (paged-decode above takes the decode kernel).
    Case c = named("paged-prefill-gqa4-d64-causal");
    c.batch = 2, c.seqlen_q = 40, c.seqlen_kv = 100, c.heads_q = 8, c.heads_kv = 2, c.head_dim = 64;
    c.page_size = 16, c.paged_kv = {70, 100};
    c.causal = true, c.alignment = Alignment::BottomRight;
    add(c);
  }
  {
    Case c = named("decode-mqa8-d128-sinks");
    c.batch = 3, c.seqlen_q = 1, c.seqlen_kv = 2000, c.heads_q = 8, c.heads_kv = 1, c.head_dim = 128, c.sinks = true;
    add(c);
  }
  {
    Case c = named("decode-sq4-gqa7-d64-causal");
    c.batch = 2, c.seqlen_q = 4, c.seqlen_kv = 900, c.heads_q = 28, c.heads_kv = 4, c.head_dim = 64;
    c.causal = true, c.alignment = Alignment::BottomRight;
    add(c);
  }
  {
    Case c = named("decode-d512");
    c.batch = 1, c.seqlen_q = 2, c.seqlen_kv = 300, c.heads_q = 4, c.heads_kv = 4, c.head_dim = 512;
    add(c);
  }
  {
    Case c = named("strided-gqa4-d64-causal");
    c.batch = 2, c.seqlen_q = 40, c.seqlen_kv = 50, c.heads_q = 8, c.heads_kv = 2, c.head_dim = 64;
    c.causal = true, c.strided = true;
    add(c);
  }
  {
    Case c = named("varlen-strided-window-sinks");
    c.batch = 2, c.seqlen_q = 24, c.seqlen_kv = 31, c.heads_q = 4, c.heads_kv = 2, c.head_dim = 96;
    c.varlen_q = {24, 11}, c.varlen_kv = {31, 11};
    c.window_left = 0, c.window_right = 0, c.sinks = true, c.strided = true;
    add(c);
  }

  std::vector<Case> all;
  for (DType t : {DType::F32, DType::BF16, DType::F16}) {
    for (Case c : shapes) {
      c.dtype = t;
      if (c.out_dtype != DType::F32) c.out_dtype = t;
      c.name = std::string(gqa::dtype_name(t)) + "/" + c.name;
      all.push_back(std::move(c));
    }
  }
  return all;
}

}  // namespace selftest
