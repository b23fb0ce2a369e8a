// alignmentOffset(buffer, alignment): how many bytes into a host ArrayBuffer its first `alignment`-aligned byte is,
// so that lib/tensor.ts can place the typed arrays it allocates on cache-line boundaries (V8 gives no address).
#pragma once
#include <napi.h>

namespace gqa_napi {

Napi::Value AlignmentOffset(const Napi::CallbackInfo& info);

}  // namespace gqa_napi
