#include "napi/device_memory.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace gqa_napi {

std::string place_name(const Place& place) {
  if (!place.on_device) return "the host";
  const char* kind = place.kind == DeviceKind::Cpu ? "cpu" : gpu_kind();
  return std::string(kind ? kind : "gpu") + ":" + std::to_string(place.device);
}

bool device_kind_of(const std::string& name, DeviceKind* kind) {
  if (name == "cpu") {
    *kind = DeviceKind::Cpu;
    return true;
  }
  if (gpu_kind() != nullptr && name == gpu_kind()) {
    *kind = DeviceKind::Gpu;
    return true;
  }
  return false;
}

gqa::Error DeviceMemory::allocate(DeviceKind kind, int device, size_t bytes, std::shared_ptr<DeviceMemory>* out) {
  void* data = nullptr;
  if (kind == DeviceKind::Gpu) {
    if (gqa::Error e = gpu_alloc(device, bytes, &data); !e.ok()) return e;
  } else if (bytes > 0) {
    // 64-byte aligned like the GPU allocators' (at least) 256, so vector loads of any dtype stay aligned.
    data = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (data == nullptr)
      return {gqa::Status::OutOfMemory, "cannot allocate " + std::to_string(bytes) + " bytes of host memory"};
    std::memset(data, 0, bytes);
  }
  out->reset(new DeviceMemory(kind, device, data, bytes));
  return {};
}

DeviceMemory::~DeviceMemory() {
  if (kind_ == DeviceKind::Gpu) gpu_release(device_, data_);
  else std::free(data_);
}

gqa::Error copy_regions(const Place& dst_place, void* dst, const Place& src_place, const void* src,
                        const std::vector<CopyRegion>& regions) {
  if (regions.empty()) return {};
  if (dst_place.on_gpu() && src_place.on_gpu() && dst_place.device != src_place.device)
    return {gqa::Status::Unsupported, "copy between two GPUs (" + place_name(dst_place) + " and " +
                                          place_name(src_place) + "): go through the host"};
  if (dst_place.on_gpu() || src_place.on_gpu()) {
    const int device = dst_place.on_gpu() ? dst_place.device : src_place.device;
    return gpu_copy(device, dst, dst_place.on_gpu(), src, src_place.on_gpu(), regions.data(), regions.size());
  }
  for (const CopyRegion& r : regions)
    std::memmove(static_cast<char*>(dst) + r.dst_offset, static_cast<const char*>(src) + r.src_offset, r.bytes);
  return {};
}

}  // namespace gqa_napi
