// Per-environment state of the addon: the constructors of its classes, for instanceof checks on arguments.
#pragma once
#include <napi.h>

namespace gqa_napi {

struct AddonData {
  Napi::FunctionReference device_buffer;
};

// Set once by the module initializer (addon.cpp).
inline AddonData& addon_data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

}  // namespace gqa_napi
