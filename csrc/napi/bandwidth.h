// The benchmark's decode bounds (the time to read K and V once):
//   measureReadBandwidth(bytes, threads, repeats): the machine's memory read bandwidth in GB/s, streaming one large
//   buffer;
//   timeRead(arrays, threads): { seconds, bytes, checksum } of reading the given typed arrays once.
#pragma once
#include <napi.h>

namespace gqa_napi {

Napi::Value MeasureReadBandwidth(const Napi::CallbackInfo& info);
Napi::Value TimeRead(const Napi::CallbackInfo& info);

}  // namespace gqa_napi
