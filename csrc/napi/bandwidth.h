// The benchmark's decode bounds (the time to read K and V once), each returning { seconds, bytes, checksum }: the
// bytes read (whole 8-byte words) and their sum as 64-bit little-endian words (a BigInt, modulo 2^64), so that a
// caller can check what was read:
//   streamRead(array, threads): one pass over a typed array, each of `threads` threads of its own summing a
//   contiguous share: over a buffer far larger than the last-level cache, the machine's streaming read bandwidth;
//   timeRead(arrays, threads): the given typed arrays read once on the CPU backend's own pool, as a decode call
//   reads K and V.
#pragma once
#include <napi.h>

namespace gqa_napi {

Napi::Value StreamRead(const Napi::CallbackInfo& info);
Napi::Value TimeRead(const Napi::CallbackInfo& info);

}  // namespace gqa_napi
