// Unpacking JS arguments into the core's request types. Everything read from JS is type-checked here; the values
// themselves (sizes, strides, offsets) are checked by gqa::prepare_attention against the buffers they index.
#pragma once
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "gqa/request.h"
#include "napi/device_memory.h"

namespace gqa_napi {

// Throws a JS Error carrying `code` (one of gqa::status_code) and the message.
[[noreturn]] void throw_error(Napi::Env env, gqa::Status status, const std::string& message);
Napi::Error make_error(Napi::Env env, gqa::Status status, const std::string& message);

// Which backend a call runs on.
// ReferenceF32 is the reference's loops in f32 math: the parity check's lp_ref (not a backend for users).
enum class Backend { Reference, ReferenceF32, Cpu, Cuda, Rocm };

struct RunOptions {
  Backend backend = Backend::Cpu;
  int threads = 0;  // 0: all cores
  Place place;      // where q, k, v and out are (all in one place)
};

// The JS values a call reads or writes, and shares of the device or pinned memory behind them: held until an
// async call settles, so neither garbage collection nor dispose() frees memory under a call in flight.
struct HeldValues {
  std::vector<Napi::Value> values;
  std::vector<std::shared_ptr<void>> memory;
};

// A persistent array of held.values, for an async worker to own until it settles.
Napi::Reference<Napi::Array> hold(Napi::Env env, const HeldValues& held);

// An argument's name for error messages ("q", "q.data", "q.shape[2]"), put together only when a message needs it:
// building the names of every argument on every call cost a short call a microsecond or more.
class ArgName {
 public:
  ArgName(const char* base) : base_(base) {}
  ArgName(const std::string& base) : base_(base.c_str()) {}  // for the call only: the string must outlive it
  ArgName(const char* base, const char* field, int index = -1) : base_(base), field_(field), index_(index) {}
  std::string str() const {
    std::string s = std::string(base_) + field_;
    return index_ < 0 ? s : s + "[" + std::to_string(index_) + "]";
  }

 private:
  const char* base_;
  const char* field_ = "";
  int index_ = -1;
};

// The bytes a TypedArray views, over an ArrayBuffer or a SharedArrayBuffer (data is null or any pointer when it views
// none). Throws ERR_GQA_DTYPE for a value that is not a TypedArray, ERR_GQA_BUFFER when its ArrayBuffer is detached.
struct HostBytes {
  void* data;
  size_t bytes;
  size_t element_size;
};
HostBytes typed_array_bytes(Napi::Env env, Napi::Value value, const ArgName& name);

// Fills req and run from (q, k, v, out, options). Collects every typed array and device buffer touched into held.
// A tensor's data is a TypedArray (host) or a DeviceBuffer with a byteOffset; q, k, v and out must share a place.
void unpack_attention_args(const Napi::CallbackInfo& info, gqa::AttentionRequest* req, RunOptions* run,
                           HeldValues* held);

}  // namespace gqa_napi
