// Run-time choice of the fast CPU kernel's instruction set.
#pragma once
#include "work_item.h"

namespace gqa {
namespace cpu {

// The kernel for this machine's best instruction set, lowered by NODE_GQA_CPU_SIMD when set.
AttendFn selected_kernel();

}  // namespace cpu
}  // namespace gqa
