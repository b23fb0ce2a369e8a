// The attention kernel on VecScalar: the portable kernel: no instruction-set flags.
#include "attend_kernel.h"
#include "vec_scalar.h"

namespace gqa {
namespace cpu {

void attend_scalar(const AttentionParams& p, const WorkItem& item, const Workspace& ws) { attend<VecScalar>(p, item, ws); }

}  // namespace cpu
}  // namespace gqa
