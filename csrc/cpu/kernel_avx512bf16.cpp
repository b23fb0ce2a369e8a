// The attention kernel on VecAvx512Bf16: compiled with the AVX-512 flags plus -mavx512bf16 (see CMakeLists.txt).
#include "attend_kernel.h"
#include "vec_avx512bf16.h"

namespace gqa {
namespace cpu {

bool attend_avx512bf16(const AttentionParams& p, const WorkItem* items, const Workspace* ws, int64_t count,
                       const Lookahead& ahead) {
  return attend<VecAvx512Bf16>(p, items, ws, count, ahead);
}

}  // namespace cpu
}  // namespace gqa
