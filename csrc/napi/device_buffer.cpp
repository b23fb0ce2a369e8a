#include "napi/device_buffer.h"

#include <cmath>

#include "napi/addon_data.h"
#include "napi/convert.h"

namespace gqa_napi {

using gqa::Status;

Place device_place_arg(const Napi::CallbackInfo& info, size_t first, std::string* kind_name) {
  Napi::Env env = info.Env();
  if (!info[first].IsString()) throw_error(env, Status::InvalidOption, "kind: expected 'cpu', 'cuda' or 'rocm'");
  *kind_name = info[first].As<Napi::String>().Utf8Value();
  Place place;
  place.on_device = true;
  if (!device_kind_of(*kind_name, &place.kind)) {
    if (*kind_name == "cuda" || *kind_name == "rocm")
      throw_error(env, Status::BackendUnavailable, *kind_name + ": this build has no " +
                                                       (*kind_name == "cuda" ? "CUDA" : "ROCm") + " backend");
    throw_error(env, Status::InvalidOption, "kind: expected 'cpu', 'cuda' or 'rocm', got '" + *kind_name + "'");
  }
  const Napi::Value index = info[first + 1];
  const double d = index.IsNumber() ? index.As<Napi::Number>().DoubleValue() : -1;
  if (!(d >= 0) || d != std::floor(d) || d > 1e6) throw_error(env, Status::InvalidOption, "device: expected an index >= 0");
  place.device = int(d);
  int count = 1;  // the 'cpu' device
  if (place.kind == DeviceKind::Gpu) {
    std::string why;
    count = gpu_count(&why);
    if (count == 0) throw_error(env, Status::BackendUnavailable, *kind_name + ": " + why);
  }
  if (place.device >= count)
    throw_error(env, Status::InvalidOption, "device: " + *kind_name + ":" + std::to_string(place.device) +
                                                " does not exist (" + std::to_string(count) + " device(s))");
  return place;
}

size_t byte_count_arg(Napi::Env env, Napi::Value value, const std::string& name) {
  const double d = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : -1;
  if (!(d >= 0) || d != std::floor(d) || d > 9007199254740991.0)
    throw_error(env, Status::InvalidOption, name + ": expected an integer byte count >= 0");
  return size_t(d);
}

Napi::Function DeviceBuffer::Define(Napi::Env env) {
  return DefineClass(env, "DeviceBuffer",
                     {InstanceAccessor<&DeviceBuffer::Kind>("kind"), InstanceAccessor<&DeviceBuffer::Device>("device"),
                      InstanceAccessor<&DeviceBuffer::ByteLength>("byteLength"),
                      InstanceAccessor<&DeviceBuffer::Disposed>("disposed"),
                      InstanceMethod<&DeviceBuffer::Dispose>("dispose")});
}

DeviceBuffer* DeviceBuffer::Unwrap(Napi::Value value) {
  if (!value.IsObject()) return nullptr;
  Napi::Object obj = value.As<Napi::Object>();
  if (!obj.InstanceOf(addon_data(value.Env()).device_buffer.Value())) return nullptr;
  return Napi::ObjectWrap<DeviceBuffer>::Unwrap(obj);
}

DeviceBuffer::DeviceBuffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DeviceBuffer>(info) {
  Napi::Env env = info.Env();
  const Place place = device_place_arg(info, 0, &kind_);
  device_ = place.device;
  bytes_ = byte_count_arg(env, info[2], "bytes");
  gqa::Error e = DeviceMemory::allocate(place.kind, place.device, bytes_, &memory_);
  if (!e.ok())
    throw_error(env, e.status, place_name(place) + ": cannot allocate " + std::to_string(bytes_) + " bytes (" +
                                   e.message + ")");
}

std::shared_ptr<DeviceMemory> DeviceBuffer::memory(Napi::Env env, const std::string& name) const {
  if (!memory_) throw_error(env, Status::BufferTooSmall, name + ": the device buffer is disposed");
  return memory_;
}

Napi::Value DeviceBuffer::Kind(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), kind_); }
Napi::Value DeviceBuffer::Device(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), device_); }
Napi::Value DeviceBuffer::ByteLength(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), double(bytes_));
}
Napi::Value DeviceBuffer::Disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), memory_ == nullptr);
}

Napi::Value DeviceBuffer::Dispose(const Napi::CallbackInfo& info) {
  memory_.reset();
  return info.Env().Undefined();
}

}  // namespace gqa_napi
