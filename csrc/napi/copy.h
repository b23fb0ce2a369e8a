// copy(dst, src, regions) and copyAsync(...): batched copies between host typed arrays and device buffers, in any
// direction. dst and src are each a DeviceBuffer or a TypedArray; regions is a Float64Array of
// (dstByteOffset, srcByteOffset, bytes) triples, each checked against both sides. One call moves many regions (a
// KV cache append is one call per pool, however many pages it touches); copyAsync runs off the event loop.
#pragma once
#include <napi.h>

namespace gqa_napi {

Napi::Value Copy(const Napi::CallbackInfo& info);
Napi::Value CopyAsync(const Napi::CallbackInfo& info);

}  // namespace gqa_napi
