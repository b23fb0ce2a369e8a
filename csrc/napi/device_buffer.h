// DeviceBuffer: a JS object owning one allocation of device memory.
//   new DeviceBuffer(kind: 'cpu' | 'cuda' | 'rocm', device: number, bytes: number)
//   .kind, .device, .byteLength, .disposed, .dispose()
// dispose() is idempotent; afterwards every use throws "disposed". The memory goes back when the object is
// disposed or collected, or later if a call in flight still uses it.
#pragma once
#include <napi.h>

#include <memory>
#include <string>

#include "napi/device_memory.h"

namespace gqa_napi {

class DeviceBuffer : public Napi::ObjectWrap<DeviceBuffer> {
 public:
  static Napi::Function Define(Napi::Env env);
  // The DeviceBuffer behind a JS value, or nullptr when it is not one.
  static DeviceBuffer* Unwrap(Napi::Value value);

  explicit DeviceBuffer(const Napi::CallbackInfo& info);

  // The memory, for a call that uses it (the caller keeps the share until it settles). Throws if disposed.
  std::shared_ptr<DeviceMemory> memory(Napi::Env env, const std::string& name) const;

 private:
  Napi::Value Kind(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value ByteLength(const Napi::CallbackInfo& info);
  Napi::Value Disposed(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  std::shared_ptr<DeviceMemory> memory_;
  std::string kind_;
  int device_ = 0;
  size_t bytes_ = 0;
};

// Reads (kind, device) arguments at info[first], info[first + 1]: a kind this addon can allocate on and a device
// index that exists. Throws BackendUnavailable naming the reason when the GPU kind cannot be used here.
Place device_place_arg(const Napi::CallbackInfo& info, size_t first, std::string* kind_name);
// A byte count argument: an integer in [0, 2^53).
size_t byte_count_arg(Napi::Env env, Napi::Value value, const std::string& name);

}  // namespace gqa_napi
