// Where lib/tensor.ts places the typed arrays it allocates in a new host ArrayBuffer (V8 gives JS no addresses):
//   alignmentOffset(buffer, alignment): how many bytes into the buffer its first `alignment`-aligned byte is, for
//   storage on cache-line boundaries;
//   placeOnHugePages(buffer, bytes): how many bytes into the buffer its first 2 MiB boundary is, after asking for
//   huge pages under the `bytes` from there (gqa::cpu::request_huge_pages; the contents stay as they are).
#pragma once
#include <napi.h>

namespace gqa_napi {

Napi::Value AlignmentOffset(const Napi::CallbackInfo& info);
Napi::Value PlaceOnHugePages(const Napi::CallbackInfo& info);

}  // namespace gqa_napi
