#include "selftest/check.h"

#include <algorithm>
#include <cmath>

#include "selftest/cases.h"

namespace selftest {

Tolerance tolerance_for(gqa::DType out_dtype) {
  switch (out_dtype) {
    case gqa::DType::F32: return {1e-5, 4, 1e-7};
    case gqa::DType::BF16: return {1e-2, 4, 1e-5};
    case gqa::DType::F16: return {1e-3, 4, 1e-6};
  }
  return {0, 0, 0};
}

namespace {

struct ErrorStats {
  double max = 0, sum = 0;
  int64_t count = 0;
  bool non_finite = false;  // a NaN/Inf where golden is finite, or a mismatched infinity
  void add(double x, double golden) {
    if (std::isinf(golden) && x == golden) {
      ++count;
      return;
    }
    if (!std::isfinite(x) || !std::isfinite(golden)) {
      non_finite = non_finite || std::isfinite(golden) || x != golden;
      ++count;
      return;
    }
    const double e = std::fabs(x - golden);
    max = std::max(max, e);
    sum += e;
    ++count;
  }
  double mean() const { return count ? sum / double(count) : 0; }
};

}  // namespace

Verdict compare(const gqa::AttentionParams& p, Outputs backend, Outputs golden, Outputs lp_ref,
                const int64_t* golden_stride, const int64_t* lp_stride) {
  ErrorStats be, lp, be_lse, lp_lse;
  for (int64_t b = 0; b < p.batch; ++b) {
    for (int64_t i = 0; i < p.seq_len_q(b); ++i) {
      const int64_t row = p.seq_start_q(b) + i;
      for (int64_t h = 0; h < p.heads_q; ++h) {
        auto at = [&](const int64_t* s, int64_t d) { return b * s[0] + row * s[1] + h * s[2] + d * s[3]; };
        for (int64_t d = 0; d < p.head_dim; ++d) {
          const double g = static_cast<const float*>(golden.out)[at(golden_stride, d)];
          be.add(load_as_float(backend.out, p.out_dtype, at(p.out_stride, d)), g);
          lp.add(load_as_float(lp_ref.out, p.out_dtype, at(lp_stride, d)), g);
        }
        const int64_t li = b * p.lse_stride[0] + h * p.lse_stride[1] + row * p.lse_stride[2];
        be_lse.add(backend.lse[li], golden.lse[li]);
        lp_lse.add(lp_ref.lse[li], golden.lse[li]);
      }
    }
  }
  const Tolerance tol = tolerance_for(p.out_dtype);
  Verdict v;
  v.max_err = be.max;
  v.mean_err = be.mean();
  v.lp_max_err = lp.max;
  v.lp_mean_err = lp.mean();
  v.lse_max_err = be_lse.max;
  char buf[200];
  const double max_allowed = std::max(tol.floor, tol.fudge * lp.max);
  const double mean_allowed = std::max(tol.mean_floor, 2 * lp.mean());
  const double lse_allowed = std::max(1e-4, tol.fudge * lp_lse.max);
  if (be.non_finite) {
    v.pass = false, v.why = "NaN/Inf in out where the reference is finite (or a poisoned element left)";
  } else if (be_lse.non_finite) {
    v.pass = false, v.why = "NaN/Inf in lse where the reference is finite (or a poisoned element left)";
  } else if (be.max > max_allowed) {
    snprintf(buf, sizeof buf, "max error %.3g > allowed %.3g", be.max, max_allowed);
    v.pass = false, v.why = buf;
  } else if (be.mean() > mean_allowed) {
    snprintf(buf, sizeof buf, "mean error %.3g > allowed %.3g", be.mean(), mean_allowed);
    v.pass = false, v.why = buf;
  } else if (be_lse.max > lse_allowed) {
    snprintf(buf, sizeof buf, "lse max error %.3g > allowed %.3g", be_lse.max, lse_allowed);
    v.pass = false, v.why = buf;
  }
  return v;
}

}  // namespace selftest
