// Module entry: the functions the TypeScript facade (lib/native.ts) calls.
#include <napi.h>

#include <memory>

#include "gqa/backends.h"
#include "napi/addon_data.h"
#include "napi/attention.h"
#include "napi/bandwidth.h"
#include "napi/copy.h"
#include "napi/device_buffer.h"
#include "napi/devices.h"
#include "napi/host_alignment.h"
#include "napi/pinned_buffer.h"

namespace gqa_napi {
namespace {

// What this binary was built with, for buildInfo() and the loader's notice.
Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
  o.Set("cpuSimd", Napi::String::New(env, gqa::cpu_simd_level()));
#if defined(GQA_WITH_CUDA)
  o.Set("gpu", Napi::String::New(env, "cuda"));
#elif defined(GQA_WITH_HIP)
  o.Set("gpu", Napi::String::New(env, "rocm"));
#else
  o.Set("gpu", env.Null());
#endif
  o.Set("compiler", Napi::String::New(env, __VERSION__));
  return o;
}

}  // namespace
}  // namespace gqa_napi

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  using namespace gqa_napi;
  exports.Set("attention", Napi::Function::New(env, Attention, "attention"));
  exports.Set("attentionAsync", Napi::Function::New(env, AttentionAsync, "attentionAsync"));
  exports.Set("buildInfo", Napi::Function::New(env, BuildInfo, "buildInfo"));
  exports.Set("streamRead", Napi::Function::New(env, StreamRead, "streamRead"));
  exports.Set("timeRead", Napi::Function::New(env, TimeRead, "timeRead"));
  exports.Set("devices", Napi::Function::New(env, Devices, "devices"));
  exports.Set("gpuStatus", Napi::Function::New(env, GpuStatus, "gpuStatus"));
  exports.Set("copy", Napi::Function::New(env, Copy, "copy"));
  exports.Set("copyAsync", Napi::Function::New(env, CopyAsync, "copyAsync"));
  exports.Set("alignmentOffset", Napi::Function::New(env, AlignmentOffset, "alignmentOffset"));
  exports.Set("placeOnHugePages", Napi::Function::New(env, PlaceOnHugePages, "placeOnHugePages"));
  auto* data = new AddonData();
  Napi::Function device_buffer = DeviceBuffer::Define(env);
  data->device_buffer = Napi::Persistent(device_buffer);
  Napi::Array keys = Napi::Array::New(env, size_t(Key::Count));
  for (uint32_t k = 0; k < uint32_t(Key::Count); ++k) keys.Set(k, Napi::String::New(env, kKeyNames[k]));
  data->keys = Napi::Persistent(keys);
  data->cpu_pool_calls = std::make_unique<CpuPoolCalls>(env);
  env.SetInstanceData(data);
  exports.Set("DeviceBuffer", device_buffer);
  exports.Set("PinnedBuffer", PinnedBuffer::Define(env));
  return exports;
}

NODE_API_MODULE(node_gqa, Init)
