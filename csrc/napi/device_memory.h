// Memory on a device: a GPU's memory, or host memory standing in for the 'cpu' device (so that device tensors,
// their copies and their lifetimes work, and are tested, the same way on every machine). Shared ownership: the JS
// object holds one share, every call in flight holds another, so dispose() or garbage collection during an async
// call frees the memory only once the call has settled.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "gqa/status.h"
#include "napi/gpu_runtime.h"

namespace gqa_napi {

enum class DeviceKind { Cpu, Gpu };

// Where memory lives: the host (typed arrays), or a device.
struct Place {
  bool on_device = false;
  DeviceKind kind = DeviceKind::Cpu;
  int device = 0;
  bool on_gpu() const { return on_device && kind == DeviceKind::Gpu; }
  bool operator==(const Place& o) const {
    return on_device == o.on_device && (!on_device || (kind == o.kind && device == o.device));
  }
  bool operator!=(const Place& o) const { return !(*this == o); }
};

// "the host", "cpu:0", "cuda:1"...
std::string place_name(const Place& place);

// Parses 'cpu' or the GPU kind this addon was built for ('cuda' / 'rocm'); throws nothing, returns false if unknown.
bool device_kind_of(const std::string& name, DeviceKind* kind);

class DeviceMemory {
 public:
  // Allocates `bytes` on the device (zero-filled on the 'cpu' device; uninitialized on a GPU).
  static gqa::Error allocate(DeviceKind kind, int device, size_t bytes, std::shared_ptr<DeviceMemory>* out);
  ~DeviceMemory();
  DeviceMemory(const DeviceMemory&) = delete;
  DeviceMemory& operator=(const DeviceMemory&) = delete;

  Place place() const { return Place{true, kind_, device_}; }
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }

 private:
  DeviceMemory(DeviceKind kind, int device, void* data, size_t bytes)
      : kind_(kind), device_(device), data_(data), bytes_(bytes) {}
  DeviceKind kind_;
  int device_;
  void* data_;
  size_t bytes_;
};

// Copies regions from src to dst, each either host memory or device memory at its place, and waits for them.
gqa::Error copy_regions(const Place& dst_place, void* dst, const Place& src_place, const void* src,
                        const std::vector<CopyRegion>& regions);

}  // namespace gqa_napi
