// The parity check of DESIGN.md (PyTorch's SDPA test method):
//   golden = the float64 reference on the same (low-precision) inputs, output kept in f32;
//   lp_ref = the reference in f32 math with its output rounded to the output dtype: the error a correct
//            low-precision implementation makes;
//   pass   = no NaN/Inf that golden lacks, max error <= max(floor, fudge * lp_ref max error), and
//            mean error <= max(mean floor, 2 * lp_ref mean error).
// Floors by output dtype: f32 1e-5, bf16 1e-2, f16 1e-3 (about one ulp at the outputs' magnitude, for cases
// where lp_ref happens to be exact); fudge 4. The mean floors (f32 1e-7, bf16 1e-5, f16 1e-6) only keep an
// lp_ref mean error of exactly 0 from failing a backend that is off by rounding noise; they are far below the
// bias that round-toward-zero of P produces. LSE (always f32) uses the same rule with floor 1e-4.
#pragma once
#include <string>
#include <vector>

#include "gqa/params.h"

namespace selftest {

struct Tolerance {
  double floor, fudge, mean_floor;
};
Tolerance tolerance_for(gqa::DType out_dtype);

struct Verdict {
  bool pass = true;
  double max_err = 0, mean_err = 0, lp_max_err = 0, lp_mean_err = 0, lse_max_err = 0;
  std::string why;  // first failure
};

// One run's outputs: out in its dtype and layout, lse in p's LSE layout.
struct Outputs {
  const void* out;  // in p.out_dtype with p.out_stride
  const float* lse;
};
// Compares the backend's outputs (p.out_dtype, p.out_stride) with golden (f32, golden_stride) and lp_ref
// (p.out_dtype, lp_stride) over every valid (b, i, h, d).
Verdict compare(const gqa::AttentionParams& p, Outputs backend, Outputs golden_f32, Outputs lp_ref,
                const int64_t* golden_stride, const int64_t* lp_stride);

}  // namespace selftest
