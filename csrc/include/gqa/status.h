// Status codes of the C++ core. The core never throws across its API and never exits: every entry point returns a
// Status, and only csrc/napi/ turns one into a JS exception (with the matching ERR_GQA_* code).
#pragma once
#include <cstdint>
#include <string>

namespace gqa {

enum class Status : int32_t {
  Ok = 0,
  InvalidShape,        // rank, size or shape mismatch between arguments
  InvalidDType,        // unknown dtype or q/k/v dtypes that differ
  InvalidStride,       // strides that would read or write outside a buffer
  InvalidHeadMap,      // head map of the wrong length or with entries out of range
  InvalidOffsets,      // varlen offsets that are not monotonic or exceed the packed tensor
  InvalidOption,       // scale, softcap, window, alignment, sinks
  BufferTooSmall,      // a buffer shorter than its shape and strides require
  Unsupported,         // a valid request this backend cannot run (head dim, dtype on this device...)
  BackendUnavailable,  // the backend is not compiled in, or no usable device / driver
  OutOfMemory,
  DeviceError,         // a GPU runtime call failed
  Internal,
};

// Stable error code strings, shared with the TypeScript error classes (lib/errors.ts).
inline const char* status_code(Status s) {
  switch (s) {
    case Status::Ok: return "OK";
    case Status::InvalidShape: return "ERR_GQA_SHAPE";
    case Status::InvalidDType: return "ERR_GQA_DTYPE";
    case Status::InvalidStride: return "ERR_GQA_STRIDE";
    case Status::InvalidHeadMap: return "ERR_GQA_HEAD_MAP";
    case Status::InvalidOffsets: return "ERR_GQA_OFFSETS";
    case Status::InvalidOption: return "ERR_GQA_OPTION";
    case Status::BufferTooSmall: return "ERR_GQA_BUFFER";
    case Status::Unsupported: return "ERR_GQA_UNSUPPORTED";
    case Status::BackendUnavailable: return "ERR_GQA_BACKEND_UNAVAILABLE";
    case Status::OutOfMemory: return "ERR_GQA_OUT_OF_MEMORY";
    case Status::DeviceError: return "ERR_GQA_DEVICE";
    case Status::Internal: return "ERR_GQA_INTERNAL";
  }
  return "ERR_GQA_INTERNAL";
}

// A status with the message that names the offending argument.
struct Error {
  Status status = Status::Ok;
  std::string message;
  bool ok() const { return status == Status::Ok; }
};

}  // namespace gqa
