// The GPU backend's host API (CUDA or HIP, whichever this library was built for). No Node, no vendor header:
// streams and device pointers travel as void*. Every call returns a gqa::Error; nothing here throws or exits.
//
// Availability: gpu_device_count() says how many devices there are and, when none, why (no driver, driver too
// old, no device). Every other call on a machine without a usable device returns Status::BackendUnavailable
// with the same reason.
#pragma once
#include <cstddef>
#include <string>

#include "gqa/params.h"
#include "gqa/status.h"

namespace gqa {

// "cuda" or "rocm": the runtime this library was built against.
const char* gpu_backend_name();

struct GpuDeviceInfo {
  std::string name;        // e.g. "NVIDIA H100 80GB HBM3", "AMD Instinct MI250X"
  std::string arch;        // e.g. "sm_90", "gfx90a"
  size_t total_memory = 0; // bytes
  int multiprocessors = 0; // SMs or CUs
};

// Number of usable devices; 0 with *why_unavailable set (when given) if there are none.
int gpu_device_count(std::string* why_unavailable);
Error gpu_device_info(int device, GpuDeviceInfo* info);
// Selects the device that later calls from this host thread use.
Error gpu_set_device(int device);

// Device memory on the current device.
Error gpu_malloc(size_t bytes, void** ptr);
Error gpu_free(void* ptr);
// Pinned (page-locked) host memory: faster and truly asynchronous copies.
Error gpu_host_alloc(size_t bytes, void** ptr);
Error gpu_host_free(void* ptr);

// Copies ordered on `stream` (null: the default stream); call gpu_stream_synchronize before reading the result
// on the host or reusing a pageable source buffer's contents.
Error gpu_memcpy_h2d(void* dst_device, const void* src_host, size_t bytes, void* stream);
Error gpu_memcpy_d2h(void* dst_host, const void* src_device, size_t bytes, void* stream);
Error gpu_memcpy_d2d(void* dst_device, const void* src_device, size_t bytes, void* stream);

Error gpu_stream_create(void** stream);
Error gpu_stream_destroy(void* stream);
Error gpu_stream_synchronize(void* stream);

// Attention on validated parameters (prepare_attention) whose data pointers (q, k, v, out, lse, head_map,
// cu_seqlens_q/kv, sinks, page_table, seqlens_kv) are all device pointers. Enqueued on `stream` (null: the
// default stream). It reads the head map back to the host (a small synchronous copy) to plan the GQA packing;
// pass the host copy as host_head_map (length heads_q) to skip that copy.
Error gpu_attention(const AttentionParams& p, void* stream, const int32_t* host_head_map = nullptr);

// The same with q, k, v and out on the current device and the small arrays (lse, head_map, cu_seqlens_q/kv, sinks,
// page_table, seqlens_kv) in host memory: they are copied over for the call, lse is copied back, and it waits.
Error gpu_attention_host_arrays(const AttentionParams& p, void* stream);

// The same with every pointer in host memory: copies the inputs to the current device, runs, copies out (and
// lse) back and waits. Elements of out that the strides skip keep their contents.
Error gpu_attention_host(const AttentionParams& host_params);

}  // namespace gqa
