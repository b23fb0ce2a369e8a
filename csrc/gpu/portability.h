// The one place that knows whether this translation unit is built by nvcc (CUDA) or hipcc (HIP, AMD).
// Everything else in csrc/gpu/ is written once against the names below:
//  - runtime calls: gpu* aliases of cuda* / hip*;
//  - storage types bf16_t / f16_t: raw 16-bit patterns converted with gqa/dtype.h's round-to-nearest-even
//    functions, identical bits on both vendors (and HIP 5.x ships no hip_bf16.h to rely on);
//  - warp operations over 32-lane groups: every shuffle passes width 32, so a 64-wide AMD wavefront computes
//    exactly what two 32-wide NVIDIA warps do, and kernels index lanes as threadIdx.x % 32.
#pragma once
#include <cstdint>

#if defined(__HIPCC__) || defined(__HIP_PLATFORM_AMD__)
#include <hip/hip_runtime.h>
#define GQA_GPU_HIP 1
#else
#include <cuda_runtime.h>
#define GQA_GPU_CUDA 1
#endif

#include "gqa/dtype.h"

#if GQA_GPU_HIP
using gpuError_t = hipError_t;
using gpuStream_t = hipStream_t;
using gpuDeviceProp = hipDeviceProp_t;
#define gpuSuccess hipSuccess
#define gpuErrorMemoryAllocation hipErrorOutOfMemory
#define gpuErrorNoDevice hipErrorNoDevice
#define gpuErrorInsufficientDriver hipErrorInsufficientDriver
#define gpuErrorInvalidValue hipErrorInvalidValue
#define gpuGetErrorString hipGetErrorString
#define gpuGetLastError hipGetLastError
#define gpuGetDeviceCount hipGetDeviceCount
#define gpuGetDevice hipGetDevice
#define gpuSetDevice hipSetDevice
#define gpuGetDeviceProperties hipGetDeviceProperties
#define gpuDriverGetVersion hipDriverGetVersion
#define gpuMalloc hipMalloc
#define gpuFree hipFree
#define gpuMallocAsync hipMallocAsync
#define gpuFreeAsync hipFreeAsync
#define gpuHostAlloc(ptr, bytes) hipHostMalloc(ptr, bytes, hipHostMallocDefault)
#define gpuFreeHost hipHostFree
#define gpuMemcpyAsync hipMemcpyAsync
#define gpuMemcpyHostToDevice hipMemcpyHostToDevice
#define gpuMemcpyDeviceToHost hipMemcpyDeviceToHost
#define gpuMemcpyDeviceToDevice hipMemcpyDeviceToDevice
#define gpuStreamCreateWithFlags hipStreamCreateWithFlags
#define gpuStreamNonBlocking hipStreamNonBlocking
#define gpuStreamDestroy hipStreamDestroy
#define gpuStreamSynchronize hipStreamSynchronize
#define gpuDeviceGetAttribute hipDeviceGetAttribute
#define gpuDevAttrMultiProcessorCount hipDeviceAttributeMultiprocessorCount
#else
using gpuError_t = cudaError_t;
using gpuStream_t = cudaStream_t;
using gpuDeviceProp = cudaDeviceProp;
#define gpuSuccess cudaSuccess
#define gpuErrorMemoryAllocation cudaErrorMemoryAllocation
#define gpuErrorNoDevice cudaErrorNoDevice
#define gpuErrorInsufficientDriver cudaErrorInsufficientDriver
#define gpuErrorInvalidValue cudaErrorInvalidValue
#define gpuGetErrorString cudaGetErrorString
#define gpuGetLastError cudaGetLastError
#define gpuGetDeviceCount cudaGetDeviceCount
#define gpuGetDevice cudaGetDevice
#define gpuSetDevice cudaSetDevice
#define gpuGetDeviceProperties cudaGetDeviceProperties
#define gpuDriverGetVersion cudaDriverGetVersion
#define gpuMalloc cudaMalloc
#define gpuFree cudaFree
#define gpuMallocAsync cudaMallocAsync
#define gpuFreeAsync cudaFreeAsync
#define gpuHostAlloc(ptr, bytes) cudaMallocHost(ptr, bytes)
#define gpuFreeHost cudaFreeHost
#define gpuMemcpyAsync cudaMemcpyAsync
#define gpuMemcpyHostToDevice cudaMemcpyHostToDevice
#define gpuMemcpyDeviceToHost cudaMemcpyDeviceToHost
#define gpuMemcpyDeviceToDevice cudaMemcpyDeviceToDevice
#define gpuStreamCreateWithFlags cudaStreamCreateWithFlags
#define gpuStreamNonBlocking cudaStreamNonBlocking
#define gpuStreamDestroy cudaStreamDestroy
#define gpuStreamSynchronize cudaStreamSynchronize
#define gpuDeviceGetAttribute cudaDeviceGetAttribute
#define gpuDevAttrMultiProcessorCount cudaDevAttrMultiProcessorCount
#endif

namespace gqa {
namespace gpu {

constexpr int kWarpSize = 32;  // lanes per warp operation, on both vendors

// 16-bit storage types: only bits, so no vendor header decides how they convert.
struct bf16_t {
  uint16_t bits;
};
struct f16_t {
  uint16_t bits;
};

__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(bf16_t x) { return bf16_to_f32(x.bits); }
__device__ __forceinline__ float to_float(f16_t x) { return f16_to_f32(x.bits); }

// Shuffles within a 32-lane group.
__device__ __forceinline__ float shfl_xor(float v, int mask) {
#if GQA_GPU_HIP
  return __shfl_xor(v, mask, kWarpSize);
#else
  return __shfl_xor_sync(0xffffffffu, v, mask, kWarpSize);
#endif
}

__device__ __forceinline__ float shfl(float v, int src_lane) {
#if GQA_GPU_HIP
  return __shfl(v, src_lane, kWarpSize);
#else
  return __shfl_sync(0xffffffffu, v, src_lane, kWarpSize);
#endif
}

// Max and sum over aligned groups of `width` lanes (a power of two <= 32); every lane of a group gets the result.
__device__ __forceinline__ float group_max(float v, int width) {
  for (int m = width / 2; m > 0; m /= 2) v = fmaxf(v, shfl_xor(v, m));
  return v;
}
__device__ __forceinline__ float group_sum(float v, int width) {
  for (int m = width / 2; m > 0; m /= 2) v += shfl_xor(v, m);
  return v;
}

}  // namespace gpu
}  // namespace gqa
