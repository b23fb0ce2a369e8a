// PinnedBuffer: host memory a device copies from and to directly, exposed to JS as an ArrayBuffer without a copy.
//   new PinnedBuffer(kind: 'cpu' | 'cuda' | 'rocm', device: number, bytes: number)
//   .buffer (ArrayBuffer), .byteLength, .pinned (page-locked: true for a GPU kind), .external (the ArrayBuffer is
//   the memory itself), .disposed, .dispose()
// Where the runtime forbids external ArrayBuffers (napi_no_external_buffers_allowed, e.g. Electron with the V8
// sandbox) the buffer is an ordinary ArrayBuffer instead (.external and .pinned false): transfers then copy
// through the runtime's own staging. dispose() detaches the ArrayBuffer, so JS can no longer reach the memory, and
// frees it unless a call in flight still reads it (then it goes when that call settles).
#pragma once
#include <napi.h>

#include <memory>

namespace gqa_napi {

struct PinnedMemory;

class PinnedBuffer : public Napi::ObjectWrap<PinnedBuffer> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit PinnedBuffer(const Napi::CallbackInfo& info);

 private:
  Napi::Value Buffer(const Napi::CallbackInfo& info);
  Napi::Value ByteLength(const Napi::CallbackInfo& info);
  Napi::Value Pinned(const Napi::CallbackInfo& info);
  Napi::Value External(const Napi::CallbackInfo& info);
  Napi::Value Disposed(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  std::shared_ptr<PinnedMemory> memory_;  // null after dispose, and in the copying fall-back
  Napi::Reference<Napi::ArrayBuffer> buffer_;
  size_t bytes_ = 0;
  bool pinned_ = false;
  bool external_ = false;
  bool disposed_ = false;
};

// The pinned block holding `address`, if any: a call reading a typed array over one keeps this share until it
// settles, so dispose() cannot free memory under it.
std::shared_ptr<void> pinned_block_holding(const void* address);

}  // namespace gqa_napi
