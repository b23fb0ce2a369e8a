// An attention request as a caller describes it (the Node binding, the native self-test): raw buffers with their
// sizes, shapes and strides, and the options. prepare_attention() checks every field against the buffers it points
// into and produces the AttentionParams the backends run on. Nothing a caller passes can make a backend read or
// write outside these buffers once prepare_attention() has accepted it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "gqa/params.h"
#include "gqa/status.h"

namespace gqa {

struct TensorArg {
  const void* data = nullptr;
  size_t bytes = 0;        // bytes reachable from data
  DType dtype = DType::F32;
  int rank = 0;            // 4 (B, S, H, D), or 3 (total, H, D) for varlen batches
  int64_t shape[4] = {0, 0, 0, 0};
  int64_t stride[4] = {0, 0, 0, 0};  // in elements
  bool has_stride = false;           // false: contiguous (row-major) strides
};

template <typename T>
struct ArrayArg {
  const T* data = nullptr;  // null: not given
  int64_t length = 0;
};

struct AttentionRequest {
  TensorArg q, k, v, out;
  ArrayArg<float> lse;  // optional output, f32 [B, Hq, Sq] (varlen: [Hq, total_q]), contiguous
  ArrayArg<int32_t> head_map;
  ArrayArg<int32_t> cu_seqlens_q, cu_seqlens_kv;
  ArrayArg<float> sinks;
  // Paged K/V: k and v are [num_pages, page_size, Hkv, D]; page_table is [batch, pages_per_seq].
  ArrayArg<int32_t> page_table;
  int64_t pages_per_seq = 0;
  ArrayArg<int32_t> seqlens_kv;  // length batch, each <= pages_per_seq * page_size
  bool has_scale = false;
  float scale = 0.f;
  float softcap = 0.f;
  bool causal = false;
  int64_t window_left = -1, window_right = -1;
  Alignment alignment = Alignment::TopLeft;
  Fault fault = Fault::None;
};

// Validated parameters and the storage they point into (the default head map). Not copyable: params points
// into this object.
struct PreparedAttention {
  AttentionParams params;
  std::vector<int32_t> head_map;
  PreparedAttention() = default;
  PreparedAttention(const PreparedAttention&) = delete;
  PreparedAttention& operator=(const PreparedAttention&) = delete;
};

// Head dims every backend accepts: multiples of 8 from 8 to 256, and 512.
inline bool head_dim_supported(int64_t d) { return (d >= 8 && d <= 256 && d % 8 == 0) || d == 512; }

Error prepare_attention(const AttentionRequest& req, PreparedAttention* out);

}  // namespace gqa
