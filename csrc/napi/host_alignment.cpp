#include "napi/host_alignment.h"

#include <cstdint>

#include "cpu/huge_pages.h"
#include "napi/convert.h"
#include "napi/device_buffer.h"

namespace gqa_napi {
namespace {

// Bytes from `address` to its first multiple of `alignment` (a power of two).
size_t bytes_to_boundary(const void* address, size_t alignment) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(address);
  return (alignment - a % alignment) % alignment;
}

}  // namespace

Napi::Value AlignmentOffset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsArrayBuffer() || !info[1].IsNumber())
    throw_error(env, gqa::Status::InvalidOption, "alignmentOffset(buffer, alignment): expected an ArrayBuffer and a number");
  const double alignment = info[1].As<Napi::Number>().DoubleValue();
  // A power of two up to a page: anything else is a caller's mistake, not an address question.
  if (!(alignment >= 1 && alignment <= 4096) || alignment != double(int64_t(alignment)) ||
      (int64_t(alignment) & (int64_t(alignment) - 1)) != 0)
    throw_error(env, gqa::Status::InvalidOption, "alignment: expected a power of two from 1 to 4096");
  return Napi::Number::New(env, double(bytes_to_boundary(info[0].As<Napi::ArrayBuffer>().Data(), size_t(alignment))));
}

Napi::Value PlaceOnHugePages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsArrayBuffer())
    throw_error(env, gqa::Status::InvalidOption, "placeOnHugePages(buffer, bytes): expected an ArrayBuffer and a number");
  Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
  const size_t bytes = byte_count_arg(env, info[1], "bytes");
  const size_t offset = bytes_to_boundary(buffer.Data(), gqa::cpu::kHugePageBytes);
  if (buffer.ByteLength() < offset || buffer.ByteLength() - offset < bytes)
    throw_error(env, gqa::Status::BufferTooSmall, "buffer: " + std::to_string(bytes) + " bytes do not fit after its first 2 MiB boundary");
  gqa::cpu::request_huge_pages(static_cast<char*>(buffer.Data()) + offset, bytes);
  return Napi::Number::New(env, double(offset));
}

}  // namespace gqa_napi
