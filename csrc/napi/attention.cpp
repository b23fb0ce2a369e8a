#include "napi/attention.h"

#include <cstring>
#include <exception>

#include "gqa/backends.h"
#include "napi/convert.h"
#include "napi/gpu_runtime.h"

namespace gqa_napi {
namespace {

// The GPU backends: host tensors are copied to the device and back; device tensors are used in place.
gqa::Error run_gpu(const RunOptions& run, const gqa::AttentionParams& p) {
  const bool cuda = run.backend == Backend::Cuda;
  const std::string backend = cuda ? "backend 'cuda'" : "backend 'rocm'";
  if (gpu_kind() == nullptr || std::strcmp(gpu_kind(), cuda ? "cuda" : "rocm") != 0)
    return {gqa::Status::BackendUnavailable, backend + ": this build has no " + (cuda ? "CUDA" : "ROCm") + " backend"};
  std::string why;
  if (gpu_count(&why) == 0) return {gqa::Status::BackendUnavailable, backend + ": " + why};
  if (run.place.on_device && !run.place.on_gpu())
    return {gqa::Status::Unsupported, backend + " cannot read tensors on " + place_name(run.place)};
  return run.place.on_gpu() ? gpu_attention_device_tensors(run.place.device, p) : gpu_attention_host_tensors(p);
}

// Runs validated parameters on the chosen backend. Called on the main thread (sync) or a worker thread (async).
gqa::Error run_backend(const RunOptions& run, const gqa::AttentionParams& p) {
  if (run.backend == Backend::Cuda || run.backend == Backend::Rocm) return run_gpu(run, p);
  // The CPU backends read host memory: typed arrays, or buffers on the 'cpu' device.
  if (run.place.on_gpu())
    return {gqa::Status::Unsupported, "the CPU backends cannot read tensors on " + place_name(run.place) +
                                          ": pass backend '" + gpu_kind() + "' (or 'auto')"};
  switch (run.backend) {
    case Backend::Reference: return gqa::reference_attention(p);
    case Backend::ReferenceF32: return gqa::reference_attention(p, gqa::ReferenceMath::F32);
    case Backend::Cpu: return gqa::cpu_attention(p, run.threads);
    default: break;
  }
  return {gqa::Status::Internal, "unknown backend"};
}

// The work of one call: the request, its validated parameters and the JS values it reads and writes.
struct AttentionCall {
  gqa::AttentionRequest request;
  gqa::PreparedAttention prepared;
  RunOptions run;
  HeldValues held;

  void prepare(const Napi::CallbackInfo& info) {
    unpack_attention_args(info, &request, &run, &held);
    gqa::Error e = gqa::prepare_attention(request, &prepared);
    if (!e.ok()) throw_error(info.Env(), e.status, e.message);
  }
};

// Holds the call's typed arrays and device buffers alive (a persistent reference owned by the worker, and shares of
// their memory in call_.held) until the Promise settles.
class AttentionWorker : public Napi::AsyncWorker {
 public:
  AttentionWorker(Napi::Env env, Napi::Promise::Deferred deferred)
      : Napi::AsyncWorker(env, "node-gqa:attention"), deferred_(deferred) {}

  AttentionCall& call() { return call_; }

  void hold_values() { held_ = hold(Env(), call_.held); }

  void Execute() override {
    try {
      error_ = run_backend(call_.run, call_.prepared.params);
    } catch (const std::exception& e) {
      error_ = {gqa::Status::Internal, std::string("attention: ") + e.what()};
    } catch (...) {
      error_ = {gqa::Status::Internal, "attention: unknown native exception"};
    }
  }

  void OnOK() override {
    if (error_.ok()) deferred_.Resolve(Env().Undefined());
    else deferred_.Reject(make_error(Env(), error_.status, error_.message).Value());
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::Reference<Napi::Array> held_;
  AttentionCall call_;
  gqa::Error error_;
};

}  // namespace

Napi::Value Attention(const Napi::CallbackInfo& info) {
  AttentionCall call;
  call.prepare(info);
  gqa::Error e = run_backend(call.run, call.prepared.params);
  if (!e.ok()) throw_error(info.Env(), e.status, e.message);
  return info.Env().Undefined();
}

Napi::Value AttentionAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
  auto* worker = new AttentionWorker(env, deferred);
  try {
    worker->call().prepare(info);
  } catch (const Napi::Error& e) {
    delete worker;
    deferred.Reject(e.Value());
    return deferred.Promise();
  }
  worker->hold_values();
  worker->Queue();
  return deferred.Promise();
}

}  // namespace gqa_napi
