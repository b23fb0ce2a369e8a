// measureReadBandwidth(bytes, threads, repeats): the machine's memory read bandwidth in GB/s, for the benchmark's
// decode bound (the time to read K and V once).
#pragma once
#include <napi.h>

namespace gqa_napi {

Napi::Value MeasureReadBandwidth(const Napi::CallbackInfo& info);

}  // namespace gqa_napi
