// The attention kernel on VecAvx2: compiled with -mavx2 -mfma -mf16c (see CMakeLists.txt).
#include "attend_kernel.h"
#include "vec_avx2.h"

namespace gqa {
namespace cpu {

bool attend_avx2(const AttentionParams& p, const WorkItem* items, const Workspace* ws, int64_t count,
                 const Lookahead& ahead) {
  return attend<VecAvx2>(p, items, ws, count, ahead);
}

}  // namespace cpu
}  // namespace gqa
