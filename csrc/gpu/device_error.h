// Runtime error codes to gqa::Error: which status, and a message naming the call and, when the device is
// unusable, why (no driver, driver too old, no device).
#pragma once
#include <string>

#include "gpu/portability.h"
#include "gqa/status.h"

namespace gqa {
namespace gpu {

#if GQA_GPU_HIP
constexpr const char* kRuntimeName = "ROCm";
#else
constexpr const char* kRuntimeName = "CUDA";
#endif

// Why no device can be used, for the errors that mean exactly that; empty for other errors.
inline std::string unavailable_reason(gpuError_t e) {
  int driver = 0;
  if (e == gpuErrorNoDevice) return std::string("no ") + kRuntimeName + " device";
  if (e == gpuErrorInsufficientDriver) {
    if (gpuDriverGetVersion(&driver) != gpuSuccess || driver == 0)
      return std::string("no ") + kRuntimeName + " driver";
    return std::string(kRuntimeName) + " driver too old (driver version " + std::to_string(driver) + ")";
  }
#if GQA_GPU_CUDA
  if (e == cudaErrorStubLibrary) return "no CUDA driver (only the stub libcuda is installed)";
#endif
  return {};
}

// Ok for gpuSuccess; otherwise the status the error means, with `call` naming what failed.
inline Error device_error(gpuError_t e, const char* call) {
  if (e == gpuSuccess) return {};
  (void)gpuGetLastError();  // clear the sticky launch error so the next call starts clean
  const std::string reason = unavailable_reason(e);
  if (!reason.empty()) return Error{Status::BackendUnavailable, std::string(call) + ": " + reason};
  if (e == gpuErrorMemoryAllocation)
    return Error{Status::OutOfMemory, std::string(call) + ": out of device memory"};
  return Error{Status::DeviceError, std::string(call) + ": " + gpuGetErrorString(e)};
}

}  // namespace gpu
}  // namespace gqa
