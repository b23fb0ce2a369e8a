// The attention kernel on VecScalar: the portable kernel: no instruction-set flags.
#include "attend_kernel.h"
#include "vec_scalar.h"

namespace gqa {
namespace cpu {

bool attend_scalar(const AttentionParams& p, const WorkItem* items, const Workspace* ws, int64_t count,
                   const Lookahead& ahead) {
  return attend<VecScalar>(p, items, ws, count, ahead);
}

}  // namespace cpu
}  // namespace gqa
