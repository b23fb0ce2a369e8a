// The self-test's case matrix and the host data of one case: random inputs (uniform [-1, 1], never zero, then
// rounded to the case's dtype), the validated parameters, and output buffers.
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gqa/request.h"

namespace selftest {

struct Case {
  std::string name;
  gqa::DType dtype = gqa::DType::BF16;
  gqa::DType out_dtype = gqa::DType::BF16;
  int64_t batch = 1, seqlen_q = 1, seqlen_kv = 1, heads_q = 1, heads_kv = 1, head_dim = 64;
  std::vector<int32_t> head_map;  // empty: the default grouping
  bool causal = false;
  gqa::Alignment alignment = gqa::Alignment::TopLeft;
  int64_t window_left = -1, window_right = -1;
  float softcap = 0.f;
  bool sinks = false;
  std::vector<int32_t> varlen_q, varlen_kv;  // per-sequence lengths: a varlen (packed) batch when set
  int64_t page_size = 0;                     // > 0: paged K/V, per-sequence key counts in paged_kv
  std::vector<int32_t> paged_kv;
  bool strided = false;  // q and k with head dim not innermost, v head-major, out rows padded
};

// Every case, each for f32, bf16 and f16.
std::vector<Case> test_cases();

// Host buffers of one case and the request pointing into them.
class CaseData {
 public:
  CaseData(const Case& c, std::mt19937& rng);
  const gqa::AttentionRequest& request() const { return req_; }
  // Output and LSE buffers of a run; `poison` fills them with NaN first.
  void reset_outputs(bool poison);
  std::vector<uint8_t>& out() { return out_; }
  std::vector<float>& lse() { return lse_; }

 private:
  gqa::AttentionRequest req_;
  std::vector<uint8_t> q_, k_, v_, out_;
  std::vector<float> lse_, sinks_;
  std::vector<int32_t> cu_q_, cu_kv_, page_table_, seqlens_kv_;
};

// Value of element `index` of a buffer of dtype t, as f32.
float load_as_float(const void* base, gqa::DType t, int64_t index);

}  // namespace selftest
