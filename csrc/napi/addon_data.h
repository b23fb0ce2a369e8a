// Per-environment state of the addon: the constructors of its classes, for instanceof checks on arguments, the
// property names the binding reads on every call, and the async calls on the CPU pool.
#pragma once
#include <napi.h>

#include <cstddef>
#include <memory>

#include "napi/cpu_pool_calls.h"

namespace gqa_napi {

// Properties of the tensors and options that attention() reads. Each is looked up by a JS string made once, kept in
// an array (Node-API 8 holds references to objects only): a lookup by C string has V8 hash and intern the name on
// every call.
enum class Key {
  Data, Dtype, ByteOffset, Shape, Strides,
  Lse, HeadMap, CuSeqlensQ, CuSeqlensKv, Sinks, PageTable, SeqlensKv, PagesPerSeq,
  Scale, Softcap, Causal, Alignment, WindowLeft, WindowRight, Fault, Backend, Threads,
  Count
};
constexpr const char* kKeyNames[] = {
    "data", "dtype", "byteOffset", "shape", "strides",
    "lse", "headMap", "cuSeqlensQ", "cuSeqlensKv", "sinks", "pageTable", "seqlensKv", "pagesPerSeq",
    "scale", "softcap", "causal", "alignment", "windowLeft", "windowRight", "fault", "backend", "threads"};
static_assert(sizeof(kKeyNames) / sizeof(kKeyNames[0]) == size_t(Key::Count), "one name per key");
constexpr const char* key_name(Key key) { return kKeyNames[size_t(key)]; }

struct AddonData {
  Napi::FunctionReference device_buffer;
  Napi::Reference<Napi::Array> keys;  // the name of Key k at index k
  std::unique_ptr<CpuPoolCalls> cpu_pool_calls;
};

// Set once by the module initializer (addon.cpp).
inline AddonData& addon_data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

// Reads properties by those names for the length of one call (one handle scope): each name is fetched from the
// array on its first use only, so that a read is one Node-API call, not four.
class PropertyReader {
 public:
  explicit PropertyReader(Napi::Env env) : names_(addon_data(env).keys.Value()) {}
  // obj[key].
  Napi::Value operator()(Napi::Object obj, Key key) {
    napi_value& name = fetched_[size_t(key)];
    if (name == nullptr) name = names_.Get(uint32_t(key));
    return obj.Get(Napi::Value(obj.Env(), name));
  }

 private:
  Napi::Array names_;
  napi_value fetched_[size_t(Key::Count)] = {};
};

}  // namespace gqa_napi
