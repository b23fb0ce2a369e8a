// The attention kernel on VecAvx2: compiled with -mavx2 -mfma -mf16c (see CMakeLists.txt).
#include "attend_kernel.h"
#include "vec_avx2.h"

namespace gqa {
namespace cpu {

void attend_avx2(const AttentionParams& p, const WorkItem& item, const Workspace& ws) { attend<VecAvx2>(p, item, ws); }

}  // namespace cpu
}  // namespace gqa
