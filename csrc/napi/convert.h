// Unpacking JS arguments into the core's request types. Everything read from JS is type-checked here; the values
// themselves (sizes, strides, offsets) are checked by gqa::prepare_attention against the buffers they index.
#pragma once
#include <napi.h>

#include <string>
#include <vector>

#include "gqa/request.h"

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
};

// The JS values a call reads or writes: they are held (persistent references) until an async call settles.
struct HeldValues {
  std::vector<Napi::Value> values;
};

// Fills req and run from (q, k, v, out, options). Collects every typed array touched into held.
void unpack_attention_args(const Napi::CallbackInfo& info, gqa::AttentionRequest* req, RunOptions* run,
                           HeldValues* held);

}  // namespace gqa_napi
