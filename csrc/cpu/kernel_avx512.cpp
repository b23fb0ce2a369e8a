// The attention kernel on VecAvx512: compiled with AVX-512 F/BW/DQ/VL flags (see CMakeLists.txt).
#include "attend_kernel.h"
#include "vec_avx512.h"

namespace gqa {
namespace cpu {

bool attend_avx512(const AttentionParams& p, const WorkItem* items, const Workspace* ws, int64_t count,
                   const Lookahead& ahead) {
  return attend<VecAvx512>(p, items, ws, count, ahead);
}

}  // namespace cpu
}  // namespace gqa
