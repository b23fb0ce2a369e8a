#include "napi/attention.h"

#include <cstring>
#include <memory>

#include "gqa/backends.h"
#include "napi/convert.h"
#include "napi/gpu_runtime.h"
#include "napi/promise_worker.h"

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
  RunOptions options;
  HeldValues held;

  void prepare(const Napi::CallbackInfo& info) {
    unpack_attention_args(info, &request, &options, &held);
    gqa::Error e = gqa::prepare_attention(request, &prepared);
    if (!e.ok()) throw_error(info.Env(), e.status, e.message);
  }

  gqa::Error run() const { return run_backend(options, prepared.params); }

  bool on_cpu() const { return options.backend != Backend::Cuda && options.backend != Backend::Rocm; }
  // The threads a CPU backend computes on: the reference runs on the calling thread only.
  int threads() const { return options.backend == Backend::Cpu ? options.threads : 1; }
};

}  // namespace

Napi::Value Attention(const Napi::CallbackInfo& info) { return RunNow<AttentionCall>(info); }

// The CPU backends run on the CPU pool's threads; the GPU backends, which wait on the device, on libuv's.
Napi::Value AttentionAsync(const Napi::CallbackInfo& info) {
  return prepare_and_start<AttentionCall>(info, [](Napi::Env env, std::unique_ptr<AttentionCall> call) {
    if (call->on_cpu()) return PoolPromise<AttentionCall>::Start(env, std::move(call), "attention");
    return PromiseWorker<AttentionCall>::Start(env, std::move(call), "attention");
  });
}

}  // namespace gqa_napi
