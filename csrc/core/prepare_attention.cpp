// Validation of an AttentionRequest: every size, stride and offset is checked against the buffer it indexes,
// with overflow-safe arithmetic, before any backend runs.
#include <cmath>
#include <string>

#include "gqa/request.h"

namespace gqa {
namespace {

constexpr int64_t kMaxDim = int64_t(1) << 31;  // per-dimension bound; keeps every product below 2^62

Error fail(Status s, std::string msg) { return Error{s, std::move(msg)}; }

std::string shape_str(const TensorArg& t) {
  std::string s = "[";
  for (int i = 0; i < t.rank; ++i) s += (i ? ", " : "") + std::to_string(t.shape[i]);
  return s + "]";
}

// Checks a tensor's dtype, shape and strides against its buffer. Fills contiguous strides when none were given.
Error check_tensor(const char* name, TensorArg t, int rank, int64_t strides_out[4]) {
  if (t.rank != rank)
    return fail(Status::InvalidShape, std::string(name) + ": expected rank " + std::to_string(rank) + ", got " +
                                          std::to_string(t.rank));
  if (int(t.dtype) < 0 || int(t.dtype) > 2) return fail(Status::InvalidDType, std::string(name) + ": unknown dtype");
  for (int i = 0; i < rank; ++i)
    if (t.shape[i] < 0 || t.shape[i] >= kMaxDim)
      return fail(Status::InvalidShape, std::string(name) + ": dimension " + std::to_string(i) + " is " +
                                            std::to_string(t.shape[i]) + ", expected 0 <= size < 2^31");
  if (!t.has_stride) {
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; --i) {
      t.stride[i] = s;
      s *= t.shape[i] ? t.shape[i] : 1;
      if (s >= (int64_t(1) << 62)) return fail(Status::InvalidShape, std::string(name) + ": too many elements");
    }
  }
  int64_t last = 0;  // largest element offset reached
  bool empty = false;
  for (int i = 0; i < rank; ++i) {
    if (t.stride[i] < 0 || t.stride[i] >= (int64_t(1) << 40))
      return fail(Status::InvalidStride, std::string(name) + ": stride " + std::to_string(i) + " is " +
                                             std::to_string(t.stride[i]) + ", expected 0 <= stride < 2^40");
    if (t.shape[i] == 0) empty = true;
    else last += (t.shape[i] - 1) * t.stride[i];
  }
  if (!empty) {
    if (t.data == nullptr)
      return fail(Status::BufferTooSmall, std::string(name) + ": no buffer (detached or null)");
    size_t elem = size_t(dtype_size(t.dtype));
    if (reinterpret_cast<uintptr_t>(t.data) % elem != 0)
      return fail(Status::InvalidStride, std::string(name) + ": data is not aligned to its " +
                                             std::to_string(elem) + "-byte elements");
    if (size_t(last) >= t.bytes / elem)
      return fail(Status::BufferTooSmall, std::string(name) + ": shape " + shape_str(t) +
                                              " with its strides reaches element " + std::to_string(last) +
                                              " but the buffer holds " + std::to_string(t.bytes / elem));
  }
  for (int i = 0; i < rank; ++i) strides_out[4 - rank + i] = t.stride[i];
  if (rank == 3) strides_out[0] = 0;
  return {};
}

Error check_offsets(const char* name, ArrayArg<int32_t> cu, int64_t batch, int64_t total, int64_t* max_len) {
  if (cu.data == nullptr) return fail(Status::InvalidOffsets, std::string(name) + ": missing");
  if (cu.length != batch + 1)
    return fail(Status::InvalidOffsets, std::string(name) + ": expected length " + std::to_string(batch + 1) +
                                            ", got " + std::to_string(cu.length));
  if (cu.data[0] < 0) return fail(Status::InvalidOffsets, std::string(name) + "[0] is negative");
  *max_len = 0;
  for (int64_t b = 0; b < batch; ++b) {
    if (cu.data[b + 1] < cu.data[b])
      return fail(Status::InvalidOffsets, std::string(name) + " is not monotonic at index " + std::to_string(b + 1));
    if (cu.data[b + 1] - cu.data[b] > *max_len) *max_len = cu.data[b + 1] - cu.data[b];
  }
  if (cu.data[batch] > total)
    return fail(Status::InvalidOffsets, std::string(name) + "[" + std::to_string(batch) + "] = " +
                                            std::to_string(cu.data[batch]) + " exceeds the packed length " +
                                            std::to_string(total));
  return {};
}

// Paged K/V: every page index in range and every sequence within its pages.
Error check_pages(const AttentionRequest& req, int64_t batch, int64_t num_pages, int64_t page_size, int64_t* max_len) {
  if (req.cu_seqlens_q.data != nullptr) return fail(Status::InvalidOffsets, "pageTable: not supported with varlen q");
  if (req.pages_per_seq < 0 || req.pages_per_seq >= kMaxDim)
    return fail(Status::InvalidShape, "pageTable: pages per sequence must be in [0, 2^31)");
  if (req.page_table.length != batch * req.pages_per_seq)
    return fail(Status::InvalidShape, "pageTable: expected " + std::to_string(batch * req.pages_per_seq) +
                                          " entries (batch x pages per sequence), got " +
                                          std::to_string(req.page_table.length));
  if (req.seqlens_kv.data == nullptr || req.seqlens_kv.length != batch)
    return fail(Status::InvalidOffsets, "seqlensKv: expected " + std::to_string(batch) + " entries with a pageTable");
  *max_len = 0;
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t len = req.seqlens_kv.data[b];
    if (len < 0 || len > req.pages_per_seq * page_size)
      return fail(Status::InvalidOffsets, "seqlensKv[" + std::to_string(b) + "] = " + std::to_string(len) +
                                              " is outside [0, pages per sequence x page size]");
    if (len > *max_len) *max_len = len;
    for (int64_t i = 0; i < (len + page_size - 1) / (page_size ? page_size : 1); ++i) {
      const int32_t page = req.page_table.data[b * req.pages_per_seq + i];
      if (page < 0 || page >= num_pages)
        return fail(Status::InvalidOffsets, "pageTable[" + std::to_string(b) + "][" + std::to_string(i) + "] = " +
                                                std::to_string(page) + " is outside [0, " + std::to_string(num_pages) + ")");
    }
  }
  return {};
}

}  // namespace

Error prepare_attention(const AttentionRequest& req, PreparedAttention* out) {
  AttentionParams& p = out->params;
  p = AttentionParams{};
  const bool varlen = req.cu_seqlens_q.data != nullptr || req.cu_seqlens_kv.data != nullptr;
  const int rank = varlen ? 3 : 4;

  if (req.k.dtype != req.q.dtype || req.v.dtype != req.q.dtype)
    return fail(Status::InvalidDType, std::string("q, k and v must share one dtype, got ") + dtype_name(req.q.dtype) +
                                          ", " + dtype_name(req.k.dtype) + ", " + dtype_name(req.v.dtype));
  Error e;
  if (!(e = check_tensor("q", req.q, rank, p.q_stride)).ok()) return e;
  if (!(e = check_tensor("k", req.k, rank, p.k_stride)).ok()) return e;
  if (!(e = check_tensor("v", req.v, rank, p.v_stride)).ok()) return e;
  if (!(e = check_tensor("out", req.out, rank, p.out_stride)).ok()) return e;

  const int64_t* qs = req.q.shape;
  const int64_t* ks = req.k.shape;
  const int o = varlen ? -1 : 0;  // index shift: varlen tensors have no batch dimension
  p.heads_q = qs[2 + o];
  p.heads_kv = ks[2 + o];
  p.head_dim = qs[3 + o];
  for (int i = 0; i < rank; ++i) {
    if (req.v.shape[i] != ks[i])
      return fail(Status::InvalidShape, "v: shape " + shape_str(req.v) + " differs from k's " + shape_str(req.k));
    if (req.out.shape[i] != qs[i])
      return fail(Status::InvalidShape, "out: shape " + shape_str(req.out) + " differs from q's " + shape_str(req.q));
  }
  const bool paged = req.page_table.data != nullptr;
  if (!varlen && !paged && ks[0] != qs[0])
    return fail(Status::InvalidShape, "k: batch " + std::to_string(ks[0]) + " differs from q's " + std::to_string(qs[0]));
  if (ks[3 + o] != p.head_dim)
    return fail(Status::InvalidShape, "k: head dim " + std::to_string(ks[3 + o]) + " differs from q's " +
                                          std::to_string(p.head_dim));
  if (p.heads_q < 1 || p.heads_kv < 1)
    return fail(Status::InvalidShape, "q/k: head counts must be at least 1, got " + std::to_string(p.heads_q) + " and " +
                                          std::to_string(p.heads_kv));
  if (!head_dim_supported(p.head_dim))
    return fail(Status::Unsupported, "q: head dim " + std::to_string(p.head_dim) +
                                         " is not supported (multiples of 8 from 8 to 256, and 512)");

  if (varlen) {
    if (req.cu_seqlens_q.data == nullptr || req.cu_seqlens_kv.data == nullptr)
      return fail(Status::InvalidOffsets, "cuSeqlensQ and cuSeqlensKv must be given together");
    p.batch = req.cu_seqlens_q.length - 1;
    if (p.batch < 0) return fail(Status::InvalidOffsets, "cuSeqlensQ: expected at least one entry");
    if (!(e = check_offsets("cuSeqlensQ", req.cu_seqlens_q, p.batch, qs[0], &p.seqlen_q)).ok()) return e;
    if (!(e = check_offsets("cuSeqlensKv", req.cu_seqlens_kv, p.batch, ks[0], &p.seqlen_kv)).ok()) return e;
    p.cu_seqlens_q = req.cu_seqlens_q.data;
    p.cu_seqlens_kv = req.cu_seqlens_kv.data;
  } else {
    p.batch = qs[0];
    p.seqlen_q = qs[1];
    p.seqlen_kv = ks[1];
  }
  if (paged && !(e = check_pages(req, p.batch, ks[0], ks[1], &p.seqlen_kv)).ok()) return e;
  if (paged) {
    p.page_table = req.page_table.data;
    p.page_table_stride = req.pages_per_seq;
    p.page_size = ks[1];
    p.seqlens_kv = req.seqlens_kv.data;
  }

  if (req.head_map.data != nullptr) {
    if (req.head_map.length != p.heads_q)
      return fail(Status::InvalidHeadMap, "headMap: expected length " + std::to_string(p.heads_q) + " (heads of q), got " +
                                              std::to_string(req.head_map.length));
    for (int64_t h = 0; h < p.heads_q; ++h)
      if (req.head_map.data[h] < 0 || req.head_map.data[h] >= p.heads_kv)
        return fail(Status::InvalidHeadMap, "headMap[" + std::to_string(h) + "] = " + std::to_string(req.head_map.data[h]) +
                                                " is outside [0, " + std::to_string(p.heads_kv) + ")");
    p.head_map = req.head_map.data;
  } else {
    if (p.heads_q % p.heads_kv != 0)
      return fail(Status::InvalidHeadMap, "q has " + std::to_string(p.heads_q) + " heads, not a multiple of k's " +
                                              std::to_string(p.heads_kv) + ": pass a headMap to choose the grouping");
    const int64_t group = p.heads_q / p.heads_kv;
    out->head_map.resize(size_t(p.heads_q));
    for (int64_t h = 0; h < p.heads_q; ++h) out->head_map[size_t(h)] = int32_t(h / group);
    p.head_map = out->head_map.data();
  }

  if (req.sinks.data != nullptr) {
    if (req.sinks.length != p.heads_q)
      return fail(Status::InvalidOption, "sinks: expected length " + std::to_string(p.heads_q) + ", got " +
                                             std::to_string(req.sinks.length));
    for (int64_t h = 0; h < p.heads_q; ++h)
      if (std::isnan(req.sinks.data[h]) || req.sinks.data[h] == INFINITY)
        return fail(Status::InvalidOption, "sinks[" + std::to_string(h) + "] must be finite or -Infinity");
    p.sinks = req.sinks.data;
  }

  if (req.lse.data != nullptr) {
    const int64_t rows = varlen ? qs[0] : p.batch * p.seqlen_q;
    if (req.lse.length < rows * p.heads_q)
      return fail(Status::BufferTooSmall, "lse: needs " + std::to_string(rows * p.heads_q) + " floats, got " +
                                              std::to_string(req.lse.length));
    p.lse = const_cast<float*>(req.lse.data);
    p.lse_stride[0] = varlen ? 0 : p.heads_q * p.seqlen_q;
    p.lse_stride[1] = varlen ? qs[0] : p.seqlen_q;
    p.lse_stride[2] = 1;
  }

  p.scale = req.has_scale ? req.scale : float(1.0 / std::sqrt(double(p.head_dim)));
  if (!std::isfinite(p.scale)) return fail(Status::InvalidOption, "scale must be finite");
  if (!(req.softcap >= 0.f) || !std::isfinite(req.softcap))
    return fail(Status::InvalidOption, "softcap must be a finite number >= 0 (0 turns it off)");
  p.softcap = req.softcap;
  if (req.window_left < -1 || req.window_right < -1)
    return fail(Status::InvalidOption, "window: each side must be >= 0, or -1 for unbounded");
  p.window_left = req.window_left;
  p.window_right = req.window_right;
  if (req.causal && (p.window_right < 0 || p.window_right > 0)) p.window_right = 0;
  if (req.alignment != Alignment::TopLeft && req.alignment != Alignment::BottomRight)
    return fail(Status::InvalidOption, "alignment must be 'top-left' or 'bottom-right'");
  p.alignment = req.alignment;
  if (int(req.fault) < 0 || int(req.fault) > int(Fault::MaxBeforeFma))
    return fail(Status::InvalidOption, "fault: unknown fault");
  p.fault = req.fault;

  p.dtype = req.q.dtype;
  p.out_dtype = req.out.dtype;
  p.q = req.q.data;
  p.k = req.k.data;
  p.v = req.v.data;
  p.out = const_cast<void*>(req.out.data);
  return {};
}

}  // namespace gqa
