#include "napi/attention.h"

#include <exception>

#include "gqa/backends.h"
#include "napi/convert.h"

namespace gqa_napi {
namespace {

// Runs validated parameters on the chosen backend. Called on the main thread (sync) or a worker thread (async).
gqa::Error run_backend(const RunOptions& run, const gqa::AttentionParams& p) {
  switch (run.backend) {
    case Backend::Reference: return gqa::reference_attention(p);
    case Backend::ReferenceF32: return gqa::reference_attention(p, gqa::ReferenceMath::F32);
    case Backend::Cpu: return gqa::cpu_attention(p, run.threads);
    case Backend::Cuda:
      return {gqa::Status::BackendUnavailable, "backend 'cuda': this build has no CUDA backend"};
    case Backend::Rocm:
      return {gqa::Status::BackendUnavailable, "backend 'rocm': this build has no ROCm backend"};
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

// Holds the call's typed arrays alive (a persistent reference owned by the worker) until the Promise settles.
class AttentionWorker : public Napi::AsyncWorker {
 public:
  AttentionWorker(Napi::Env env, Napi::Promise::Deferred deferred)
      : Napi::AsyncWorker(env, "node-gqa:attention"), deferred_(deferred) {}

  AttentionCall& call() { return call_; }

  void hold_values() {
    Napi::Array held = Napi::Array::New(Env(), call_.held.values.size());
    for (size_t i = 0; i < call_.held.values.size(); ++i) held.Set(uint32_t(i), call_.held.values[i]);
    held_ = Napi::Persistent(held);
  }

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
