// The device runtime API of gpu.h: device discovery and properties, memory, copies, streams.
#include "gpu/device_error.h"
#include "gpu/gpu.h"

namespace gqa {

using gpu::device_error;

const char* gpu_backend_name() {
#if GQA_GPU_HIP
  return "rocm";
#else
  return "cuda";
#endif
}

int gpu_device_count(std::string* why_unavailable) {
  int count = 0;
  const gpuError_t e = gpuGetDeviceCount(&count);
  if (e != gpuSuccess || count == 0) {
    if (why_unavailable) {
      const Error err = device_error(e == gpuSuccess ? gpuErrorNoDevice : e, "device count");
      *why_unavailable = err.message.substr(err.message.find(": ") + 2);
    }
    return 0;
  }
  return count;
}

Error gpu_device_info(int device, GpuDeviceInfo* info) {
  gpuDeviceProp prop;
  if (Error e = device_error(gpuGetDeviceProperties(&prop, device), "device properties"); !e.ok()) return e;
  info->name = prop.name;
#if GQA_GPU_HIP
  const std::string arch = prop.gcnArchName;  // e.g. "gfx90a:sramecc+:xnack-": keep the processor name
  info->arch = arch.substr(0, arch.find(':'));
#else
  info->arch = "sm_" + std::to_string(prop.major * 10 + prop.minor);
#endif
  info->total_memory = prop.totalGlobalMem;
  info->multiprocessors = prop.multiProcessorCount;
  return {};
}

Error gpu_set_device(int device) { return device_error(gpuSetDevice(device), "set device"); }

Error gpu_malloc(size_t bytes, void** ptr) {
  *ptr = nullptr;
  if (bytes == 0) return {};
  return device_error(gpuMalloc(ptr, bytes), "device malloc");
}

Error gpu_free(void* ptr) { return ptr ? device_error(gpuFree(ptr), "device free") : Error{}; }

Error gpu_host_alloc(size_t bytes, void** ptr) {
  *ptr = nullptr;
  if (bytes == 0) return {};
  return device_error(gpuHostAlloc(ptr, bytes), "pinned host alloc");
}

Error gpu_host_free(void* ptr) { return ptr ? device_error(gpuFreeHost(ptr), "pinned host free") : Error{}; }

Error gpu_memcpy_h2d(void* dst_device, const void* src_host, size_t bytes, void* stream) {
  if (bytes == 0) return {};
  return device_error(gpuMemcpyAsync(dst_device, src_host, bytes, gpuMemcpyHostToDevice, gpuStream_t(stream)),
                      "copy host to device");
}

Error gpu_memcpy_d2h(void* dst_host, const void* src_device, size_t bytes, void* stream) {
  if (bytes == 0) return {};
  return device_error(gpuMemcpyAsync(dst_host, src_device, bytes, gpuMemcpyDeviceToHost, gpuStream_t(stream)),
                      "copy device to host");
}

Error gpu_memcpy_d2d(void* dst_device, const void* src_device, size_t bytes, void* stream) {
  if (bytes == 0) return {};
  return device_error(gpuMemcpyAsync(dst_device, src_device, bytes, gpuMemcpyDeviceToDevice, gpuStream_t(stream)),
                      "copy device to device");
}

Error gpu_stream_create(void** stream) {
  gpuStream_t s = nullptr;
  const Error e = device_error(gpuStreamCreateWithFlags(&s, gpuStreamNonBlocking), "stream create");
  *stream = s;
  return e;
}

Error gpu_stream_destroy(void* stream) {
  return stream ? device_error(gpuStreamDestroy(gpuStream_t(stream)), "stream destroy") : Error{};
}

Error gpu_stream_synchronize(void* stream) {
  return device_error(gpuStreamSynchronize(gpuStream_t(stream)), "stream synchronize");
}

}  // namespace gqa
