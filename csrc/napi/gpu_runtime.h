// The GPU runtime as the binding sees it, in every build: the functions of csrc/gpu/gpu.h when this addon links a
// GPU backend (GQA_WITH_CUDA or GQA_WITH_HIP), and BackendUnavailable answers naming the missing backend when it
// does not. The only file of the binding that knows which GPU backend, if any, was compiled in.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "gqa/params.h"
#include "gqa/status.h"

namespace gqa_napi {

// "cuda", "rocm", or nullptr in a CPU-only build.
const char* gpu_kind();

// Usable devices of gpu_kind(); 0 with *why set when none (no GPU backend built in, no driver, driver too old,
// no device).
int gpu_count(std::string* why);

struct GpuDescription {
  std::string name, arch;
  size_t memory = 0;
};
gqa::Error gpu_describe(int device, GpuDescription* out);

gqa::Error gpu_alloc(int device, size_t bytes, void** ptr);
void gpu_release(int device, void* ptr);
// Page-locked host memory.
gqa::Error gpu_pinned_alloc(size_t bytes, void** ptr);
void gpu_pinned_release(void* ptr);

// One copy of a batch: `bytes` bytes from src + src_offset to dst + dst_offset.
struct CopyRegion {
  size_t dst_offset, src_offset, bytes;
};
// Copies every region on one stream of `device` and waits for them. dst_on_gpu / src_on_gpu say which side is
// device memory (host memory otherwise).
gqa::Error gpu_copy(int device, void* dst, bool dst_on_gpu, const void* src, bool src_on_gpu, const CopyRegion* regions,
                    size_t count);

// Attention on `device` with q, k, v and out in its memory and every other array (head map, offsets, page table,
// sequence lengths, sinks, lse) in host memory: those are copied to the device for the call (lse back).
gqa::Error gpu_attention_device_tensors(int device, const gqa::AttentionParams& p);
// Attention with every pointer in host memory (copied to device 0 and back).
gqa::Error gpu_attention_host_tensors(const gqa::AttentionParams& p);

}  // namespace gqa_napi
