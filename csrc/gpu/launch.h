// Kernel launchers, one per kernel family, each instantiated in its own translation unit (so the two build in
// parallel) and called only by attention.cu's dispatch. Each returns the launch's error, never exits.
#pragma once
#include "gpu/kernel_params.h"

namespace gqa {
namespace gpu {

// Packed query rows (see kernel_params.h) one decode block handles at this head dim.
int decode_rows_per_block(int head_dim);

// Split-KV CUDA-core kernel (every dtype, head dims up to 512, both vendors) plus, when p.num_splits > 1, the
// combine kernel. max_group is the largest number of query heads sharing one KV head.
gpuError_t launch_decode(const KernelParams& p, DType dtype, int max_group, gpuStream_t stream);

// Matrix-core prefill for bf16/f16 and head dims up to 256; p.num_splits must be 1. One per vendor, same
// contract: prefill_mma.cu (CUDA: mma.sync, sm_80+) and prefill_mfma.cu (HIP: MFMA, CDNA gfx90a/gfx94x).
gpuError_t launch_prefill_matrix(const KernelParams& p, DType dtype, int max_group, gpuStream_t stream);

}  // namespace gpu
}  // namespace gqa
