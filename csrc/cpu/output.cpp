#include "output.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace gqa {
namespace cpu {

void write_row(const AttentionParams& p, int64_t b, int64_t h, int64_t i, const float* o, float m, float l) {
  float top = m, factor = 1.f, denom = l;
  if (p.sinks) {
    const float sink = p.sinks[h];
    top = std::max(m, sink);
    factor = std::exp(m - top);
    denom = l * factor + std::exp(sink - top);
  }
  const int64_t D = p.head_dim, stride = p.out_stride[3];
  const int64_t row = b * p.out_stride[0] + (p.seq_start_q(b) + i) * p.out_stride[1] + h * p.out_stride[2];
  const bool any = denom > 0.f;
  auto value = [&](int64_t d) { return any ? o[d] * factor / denom : 0.f; };
  switch (p.out_dtype) {
    case DType::F32: {
      float* out = static_cast<float*>(p.out) + row;
      if (stride == 1) {  // a loop the compiler vectorises, divisions and all
        for (int64_t d = 0; d < D; ++d) out[d] = value(d);
        break;
      }
      for (int64_t d = 0; d < D; ++d) out[d * stride] = value(d);
      break;
    }
    case DType::BF16: {
      uint16_t* out = static_cast<uint16_t*>(p.out) + row;
      for (int64_t d = 0; d < D; ++d) out[d * stride] = f32_to_bf16(value(d));
      break;
    }
    case DType::F16: {
      uint16_t* out = static_cast<uint16_t*>(p.out) + row;
      for (int64_t d = 0; d < D; ++d) out[d * stride] = f32_to_f16(value(d));
      break;
    }
  }
  if (p.lse) {
    p.lse[b * p.lse_stride[0] + h * p.lse_stride[1] + (p.seq_start_q(b) + i) * p.lse_stride[2]] =
        any ? top + std::log(denom) : -std::numeric_limits<float>::infinity();
  }
}

}  // namespace cpu
}  // namespace gqa
