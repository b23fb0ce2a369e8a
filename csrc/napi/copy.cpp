#include "napi/copy.h"

#include <cmath>
#include <vector>

#include "napi/convert.h"
#include "napi/device_buffer.h"
#include "napi/pinned_buffer.h"
#include "napi/promise_worker.h"

namespace gqa_napi {
namespace {

using gqa::Status;

struct Endpoint {
  Place place;
  void* data = nullptr;
  size_t bytes = 0;
};

// A DeviceBuffer or a host TypedArray, with the shares and JS values that keep it alive.
Endpoint endpoint_arg(Napi::Env env, Napi::Value value, const std::string& name, HeldValues* held) {
  Endpoint end;
  held->values.push_back(value);
  if (DeviceBuffer* buffer = DeviceBuffer::Unwrap(value)) {
    std::shared_ptr<DeviceMemory> memory = buffer->memory(env, name);
    end.place = memory->place();
    end.data = memory->data();
    end.bytes = memory->bytes();
    held->memory.push_back(memory);
    return end;
  }
  if (!value.IsTypedArray()) throw_error(env, Status::InvalidDType, name + ": expected a DeviceBuffer or a TypedArray");
  const HostBytes host = typed_array_bytes(env, value, name);
  end.data = host.data;
  end.bytes = host.bytes;
  if (end.data != nullptr)
    if (std::shared_ptr<void> block = pinned_block_holding(end.data)) held->memory.push_back(block);
  return end;
}

struct CopyCall {
  Endpoint dst, src;
  std::vector<CopyRegion> regions;
  HeldValues held;

  void prepare(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    dst = endpoint_arg(env, info[0], "dst", &held);
    src = endpoint_arg(env, info[1], "src", &held);
    if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
      throw_error(env, Status::InvalidOption, "regions: expected a Float64Array of (dst offset, src offset, bytes) triples");
    Napi::Float64Array triples = info[2].As<Napi::Float64Array>();
    if (triples.ElementLength() % 3 != 0)
      throw_error(env, Status::InvalidOption, "regions: length " + std::to_string(triples.ElementLength()) +
                                                  " is not a multiple of 3");
    for (size_t i = 0; i < triples.ElementLength(); i += 3) {
      const std::string at = "regions[" + std::to_string(i / 3) + "]";
      for (size_t j = 0; j < 3; ++j) {
        const double x = triples[i + j];
        if (!(x >= 0) || x != std::floor(x) || x > 9007199254740991.0)
          throw_error(env, Status::InvalidOption, at + ": offsets and sizes must be integers >= 0");
      }
      const CopyRegion r{size_t(triples[i]), size_t(triples[i + 1]), size_t(triples[i + 2])};
      if (r.dst_offset > dst.bytes || r.bytes > dst.bytes - r.dst_offset)
        throw_error(env, Status::BufferTooSmall, at + ": " + std::to_string(r.bytes) + " bytes at " +
                                                     std::to_string(r.dst_offset) + " overrun dst (" +
                                                     std::to_string(dst.bytes) + " bytes)");
      if (r.src_offset > src.bytes || r.bytes > src.bytes - r.src_offset)
        throw_error(env, Status::BufferTooSmall, at + ": " + std::to_string(r.bytes) + " bytes at " +
                                                     std::to_string(r.src_offset) + " overrun src (" +
                                                     std::to_string(src.bytes) + " bytes)");
      if (r.bytes > 0) regions.push_back(r);
    }
  }

  gqa::Error run() const {
    gqa::Error e = copy_regions(dst.place, dst.data, src.place, src.data, regions);
    if (!e.ok()) e.message = "copy: " + e.message;
    return e;
  }
};

}  // namespace

Napi::Value Copy(const Napi::CallbackInfo& info) { return RunNow<CopyCall>(info); }

Napi::Value CopyAsync(const Napi::CallbackInfo& info) {
  return PromiseWorker<CopyCall>::Start(info, "copy");
}

}  // namespace gqa_napi
