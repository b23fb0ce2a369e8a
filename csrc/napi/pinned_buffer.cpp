#include "napi/pinned_buffer.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "napi/convert.h"
#include "napi/device_buffer.h"

namespace gqa_napi {

using gqa::Status;

// One block of host memory: page-locked through the GPU runtime, or plain on the 'cpu' device. Registered by
// address while it lives, for pinned_block_holding().
struct PinnedMemory {
  char* data = nullptr;
  size_t bytes = 0;
  bool page_locked = false;
  ~PinnedMemory();
};

namespace {

std::mutex registry_mutex;
std::map<const char*, std::weak_ptr<PinnedMemory>> registry;  // by start address

}  // namespace

PinnedMemory::~PinnedMemory() {
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    registry.erase(data);
  }
  if (page_locked) gpu_pinned_release(data);
  else std::free(data);
}

std::shared_ptr<void> pinned_block_holding(const void* address) {
  const char* p = static_cast<const char*>(address);
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto it = registry.upper_bound(p);
  if (it == registry.begin()) return nullptr;
  --it;
  std::shared_ptr<PinnedMemory> block = it->second.lock();
  return block && p < block->data + block->bytes ? block : nullptr;
}

Napi::Function PinnedBuffer::Define(Napi::Env env) {
  return DefineClass(env, "PinnedBuffer",
                     {InstanceAccessor<&PinnedBuffer::Buffer>("buffer"),
                      InstanceAccessor<&PinnedBuffer::ByteLength>("byteLength"),
                      InstanceAccessor<&PinnedBuffer::Pinned>("pinned"),
                      InstanceAccessor<&PinnedBuffer::External>("external"),
                      InstanceAccessor<&PinnedBuffer::Disposed>("disposed"),
                      InstanceMethod<&PinnedBuffer::Dispose>("dispose")});
}

PinnedBuffer::PinnedBuffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PinnedBuffer>(info) {
  Napi::Env env = info.Env();
  std::string kind;
  const Place place = device_place_arg(info, 0, &kind);
  bytes_ = byte_count_arg(env, info[2], "bytes");
  if (bytes_ == 0) throw_error(env, Status::InvalidOption, "bytes: expected at least 1");

  auto memory = std::make_shared<PinnedMemory>();
  memory->bytes = bytes_;
  if (place.kind == DeviceKind::Gpu) {
    void* data = nullptr;
    gqa::Error e = gpu_pinned_alloc(bytes_, &data);
    if (!e.ok()) throw_error(env, e.status, "cannot allocate " + std::to_string(bytes_) + " pinned bytes (" + e.message + ")");
    memory->data = static_cast<char*>(data);
    memory->page_locked = true;
  } else {
    memory->data = static_cast<char*>(std::aligned_alloc(64, (bytes_ + 63) / 64 * 64));
    if (memory->data == nullptr)
      throw_error(env, Status::OutOfMemory, "cannot allocate " + std::to_string(bytes_) + " bytes of host memory");
    std::memset(memory->data, 0, bytes_);
  }
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    registry[memory->data] = memory;
  }

  // The ArrayBuffer holds its own share: the memory outlives this object while JS still reaches the buffer.
  auto* share = new std::shared_ptr<PinnedMemory>(memory);
  napi_value buffer = nullptr;
  const napi_status status = napi_create_external_arraybuffer(
      env, memory->data, bytes_, [](napi_env, void*, void* hint) { delete static_cast<std::shared_ptr<PinnedMemory>*>(hint); },
      share, &buffer);
  if (status == napi_ok) {
    memory_ = memory;
    pinned_ = memory->page_locked;
    external_ = true;
    buffer_ = Napi::Persistent(Napi::ArrayBuffer(env, buffer));
  } else if (status == napi_no_external_buffers_allowed) {
    delete share;  // the block goes with `memory`: an ordinary ArrayBuffer replaces it
    buffer_ = Napi::Persistent(Napi::ArrayBuffer::New(env, bytes_));
  } else {
    delete share;
    throw_error(env, Status::Internal, "cannot create an ArrayBuffer over pinned memory (napi status " +
                                           std::to_string(int(status)) + ")");
  }
}

Napi::Value PinnedBuffer::Buffer(const Napi::CallbackInfo& info) {
  if (disposed_) throw_error(info.Env(), Status::BufferTooSmall, "pinned buffer: disposed");
  return buffer_.Value();
}
Napi::Value PinnedBuffer::ByteLength(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), double(bytes_));
}
Napi::Value PinnedBuffer::Pinned(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), pinned_); }
Napi::Value PinnedBuffer::External(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), external_); }
Napi::Value PinnedBuffer::Disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), disposed_); }

Napi::Value PinnedBuffer::Dispose(const Napi::CallbackInfo& info) {
  if (!disposed_) {
    disposed_ = true;
    Napi::ArrayBuffer buffer = buffer_.Value();
    if (external_ && !buffer.IsDetached()) buffer.Detach();
    buffer_.Reset();
    memory_.reset();
  }
  return info.Env().Undefined();
}

}  // namespace gqa_napi
