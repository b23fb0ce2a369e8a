// attention(q, k, v, out, options) and attentionAsync(...): the binding's entry points for one attention call.
#pragma once
#include <napi.h>

namespace gqa_napi {

Napi::Value Attention(const Napi::CallbackInfo& info);
Napi::Value AttentionAsync(const Napi::CallbackInfo& info);

}  // namespace gqa_napi
