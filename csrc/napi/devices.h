// devices(): what this process can compute on: always the CPU, then every usable GPU of the kind this addon was
// built for, each { kind, index, name, arch, memory }. gpuStatus(): { kind, available, devices, reason }, which
// says why no GPU is listed (no GPU backend built in, no driver, driver too old, no device).
#pragma once
#include <napi.h>

namespace gqa_napi {

Napi::Value Devices(const Napi::CallbackInfo& info);
Napi::Value GpuStatus(const Napi::CallbackInfo& info);

}  // namespace gqa_napi
