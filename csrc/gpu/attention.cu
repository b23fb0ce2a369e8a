// Launch and dispatch: plans the GQA packing from the head map, picks the kernel (matrix-core prefill or
// split-KV decode) and the number of KV splits, and runs it. Also the host-buffer convenience entry point.
#include <algorithm>
#include <vector>

#include "gpu/device_error.h"
#include "gpu/gpu.h"
#include "gpu/launch.h"

namespace gqa {
namespace gpu {
namespace {

// Query heads listed by the KV head they read (CSR): any head map, groups of any and uneven sizes.
struct HeadGroups {
  std::vector<int32_t> offsets;  // heads_kv + 1
  std::vector<int32_t> heads;    // heads_q
  int max_group = 0;
};

HeadGroups group_heads(const int32_t* head_map, int heads_q, int heads_kv) {
  HeadGroups g;
  g.offsets.assign(size_t(heads_kv) + 1, 0);
  for (int h = 0; h < heads_q; ++h) ++g.offsets[size_t(head_map[h]) + 1];
  for (int kv = 0; kv < heads_kv; ++kv) {
    g.max_group = std::max(g.max_group, g.offsets[size_t(kv) + 1]);
    g.offsets[size_t(kv) + 1] += g.offsets[size_t(kv)];
  }
  g.heads.resize(size_t(heads_q));
  std::vector<int32_t> next(g.offsets.begin(), g.offsets.end() - 1);
  for (int h = 0; h < heads_q; ++h) g.heads[size_t(next[size_t(head_map[h])]++)] = h;
  return g;
}

// Device memory allocated and freed in stream order, so planning data and split partials need no host sync.
class StreamScratch {
 public:
  explicit StreamScratch(gpuStream_t stream) : stream_(stream) {}
  ~StreamScratch() {
    if (ptr_) (void)gpuFreeAsync(ptr_, stream_);
  }
  StreamScratch(const StreamScratch&) = delete;
  StreamScratch& operator=(const StreamScratch&) = delete;
  Error allocate(size_t bytes) { return device_error(gpuMallocAsync(&ptr_, bytes, stream_), "scratch alloc"); }
  char* get() const { return static_cast<char*>(ptr_); }

 private:
  gpuStream_t stream_;
  void* ptr_ = nullptr;
};

bool aligned16(const void* ptr, const int64_t stride[4], DType t) {
  const int64_t elem = dtype_size(t);
  if (reinterpret_cast<uintptr_t>(ptr) % 16 != 0 || stride[3] != 1) return false;
  for (int i = 0; i < 3; ++i)
    if (stride[i] * elem % 16 != 0) return false;
  return true;
}

// KV splits for the decode kernel: enough blocks for two waves over the device, each split at least 512 keys.
int choose_splits(int64_t blocks, int64_t seqlen_kv, int multiprocessors) {
  const int64_t want = (2 * int64_t(multiprocessors) + blocks - 1) / blocks;
  const int64_t most = std::max<int64_t>(1, (seqlen_kv + 511) / 512);
  return int(std::clamp<int64_t>(std::min(want, most), 1, 64));
}

Error unsupported(const std::string& what) { return Error{Status::Unsupported, what}; }

Error run_attention(const AttentionParams& p, gpuStream_t stream, const int32_t* host_head_map) {
  if (p.batch == 0 || p.seqlen_q == 0) return {};
  if (p.batch > 65535) return unsupported("batch " + std::to_string(p.batch) + " exceeds the GPU grid limit 65535");
  if (p.heads_q > 65535 || p.heads_kv > 65535) return unsupported("more than 65535 heads");

  int device = 0, multiprocessors = 0;
  if (Error e = device_error(gpuGetDevice(&device), "get device"); !e.ok()) return e;
  if (Error e = device_error(gpuDeviceGetAttribute(&multiprocessors, gpuDevAttrMultiProcessorCount, device),
                             "device attribute");
      !e.ok())
    return e;
#if GQA_GPU_CUDA
  int major = 0;
  if (Error e = device_error(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device),
                             "device attribute");
      !e.ok())
    return e;
  if (major < 8) return unsupported("the CUDA kernels need compute capability 8.0 (Ampere) or newer");
#endif

  std::vector<int32_t> head_map_copy;
  if (host_head_map == nullptr) {
    head_map_copy.resize(size_t(p.heads_q));
    if (Error e = gpu_memcpy_d2h(head_map_copy.data(), p.head_map, head_map_copy.size() * 4, stream); !e.ok()) return e;
    if (Error e = gpu_stream_synchronize(stream); !e.ok()) return e;
    host_head_map = head_map_copy.data();
  }
  const HeadGroups groups = group_heads(host_head_map, int(p.heads_q), int(p.heads_kv));

  KernelParams kp = make_kernel_params(p);
  kp.kv_vectorized = aligned16(p.k, p.k_stride, p.dtype) && aligned16(p.v, p.v_stride, p.dtype);

  const int rows_per_decode_block = decode_rows_per_block(int(p.head_dim));
  // Matrix cores (mma.sync on CUDA, MFMA on HIP) for 16-bit inputs once there are more rows than one decode block.
  const bool use_matrix_prefill =
      p.dtype != DType::F32 && p.head_dim <= 256 && p.seqlen_q * groups.max_group > rows_per_decode_block;
  if (!use_matrix_prefill) {
    const int64_t row_tiles = (p.seqlen_q * groups.max_group + rows_per_decode_block - 1) / rows_per_decode_block;
    kp.num_splits = choose_splits(p.batch * p.heads_kv * row_tiles, p.seqlen_kv, multiprocessors);
    kp.num_splits = int(std::min<int64_t>(kp.num_splits, 65535 / p.heads_kv));
    if (row_tiles >= (int64_t(1) << 31) || p.seqlen_q * p.heads_q >= (int64_t(1) << 31))
      return unsupported("query length x heads exceeds the GPU grid limit");
  }

  // One scratch allocation: the head groups, then the split partials.
  const size_t groups_bytes = (groups.offsets.size() + groups.heads.size()) * sizeof(int32_t);
  const size_t partial_slots = kp.num_splits > 1 ? size_t(p.batch * p.seqlen_q * p.heads_q * kp.num_splits) : 0;
  const size_t part_o_offset = (groups_bytes + 15) / 16 * 16;
  const size_t part_ml_offset = part_o_offset + partial_slots * size_t(p.head_dim) * sizeof(float);
  StreamScratch scratch(stream);
  if (Error e = scratch.allocate(part_ml_offset + partial_slots * 2 * sizeof(float)); !e.ok()) return e;
  // Pageable sources: the copies are staged before these calls return, so the host vectors may go.
  if (Error e = gpu_memcpy_h2d(scratch.get(), groups.offsets.data(), groups.offsets.size() * 4, stream); !e.ok())
    return e;
  if (Error e = gpu_memcpy_h2d(scratch.get() + groups.offsets.size() * 4, groups.heads.data(),
                               groups.heads.size() * 4, stream);
      !e.ok())
    return e;
  kp.group_offsets = reinterpret_cast<const int32_t*>(scratch.get());
  kp.group_heads = kp.group_offsets + groups.offsets.size();
  kp.part_o = reinterpret_cast<float*>(scratch.get() + part_o_offset);
  kp.part_ml = reinterpret_cast<float*>(scratch.get() + part_ml_offset);

  if (use_matrix_prefill)
    return device_error(launch_prefill_matrix(kp, p.dtype, groups.max_group, stream), "prefill kernel");
  return device_error(launch_decode(kp, p.dtype, groups.max_group, stream), "decode kernel");
}

// Elements from a tensor's base pointer to one past its last element (0 when empty).
int64_t span(const int64_t* stride, const int64_t* extent, int rank) {
  int64_t last = 0;
  for (int i = 0; i < rank; ++i) {
    if (extent[i] == 0) return 0;
    last += (extent[i] - 1) * stride[i];
  }
  return last + 1;
}

// Device copies of host buffers, freed together.
class DeviceCopies {
 public:
  DeviceCopies() = default;
  DeviceCopies(const DeviceCopies&) = delete;
  DeviceCopies& operator=(const DeviceCopies&) = delete;
  ~DeviceCopies() {
    for (void* ptr : owned_) gpu_free(ptr);
  }
  // Allocates `bytes` on the device and copies them from `host` (when given) on `stream`; *device_ptr = the copy.
  template <typename T>
  Error upload(const T* host, size_t bytes, T** device_ptr, gpuStream_t stream = nullptr) {
    void* ptr = nullptr;
    *device_ptr = nullptr;
    if (host == nullptr || bytes == 0) return {};
    if (Error e = gpu_malloc(bytes, &ptr); !e.ok()) return e;
    owned_.push_back(ptr);
    *device_ptr = static_cast<T*>(ptr);
    return gpu_memcpy_h2d(ptr, host, bytes, stream);
  }

 private:
  std::vector<void*> owned_;
};

// Bytes of the LSE [B, Hq, Sq] (varlen [Hq, total]) that its strides reach.
size_t lse_bytes(const AttentionParams& p) {
  if (p.lse == nullptr) return 0;
  const int64_t q_rows = p.varlen() ? p.cu_seqlens_q[p.batch] : p.seqlen_q;
  const int64_t extent[3] = {p.batch, p.heads_q, q_rows};
  return size_t(span(p.lse_stride, extent, 3)) * sizeof(float);
}

}  // namespace
}  // namespace gpu

Error gpu_attention_host_arrays(const AttentionParams& hp, void* stream_ptr) {
  const gpuStream_t stream = gpuStream_t(stream_ptr);
  const size_t batch_ints = size_t(hp.batch + 1) * sizeof(int32_t);
  const size_t lse_bytes = gpu::lse_bytes(hp);
  gpu::DeviceCopies copies;  // freed after the final synchronize below
  AttentionParams dp = hp;
  int32_t *head_map, *cu_q, *cu_kv, *page_table, *seqlens;
  float *lse, *sinks;
  Error e;
  // lse goes up too, so elements its strides skip come back unchanged.
  if (!(e = copies.upload<float>(hp.lse, lse_bytes, &lse, stream)).ok() ||
      !(e = copies.upload(hp.head_map, size_t(hp.heads_q) * 4, &head_map, stream)).ok() ||
      !(e = copies.upload(hp.cu_seqlens_q, batch_ints, &cu_q, stream)).ok() ||
      !(e = copies.upload(hp.cu_seqlens_kv, batch_ints, &cu_kv, stream)).ok() ||
      !(e = copies.upload(hp.sinks, size_t(hp.heads_q) * 4, &sinks, stream)).ok() ||
      !(e = copies.upload(hp.page_table, size_t(hp.batch * hp.page_table_stride) * 4, &page_table, stream)).ok() ||
      !(e = copies.upload(hp.seqlens_kv, size_t(hp.batch) * 4, &seqlens, stream)).ok()) {
    (void)gpu_stream_synchronize(stream);
    return e;
  }
  dp.lse = lse;
  dp.head_map = head_map;
  dp.cu_seqlens_q = cu_q;
  dp.cu_seqlens_kv = cu_kv;
  dp.sinks = sinks;
  dp.page_table = page_table;
  dp.seqlens_kv = seqlens;
  e = gpu::run_attention(dp, stream, hp.head_map);
  if (e.ok() && hp.lse) e = gpu_memcpy_d2h(hp.lse, lse, lse_bytes, stream);
  const Error synced = gpu_stream_synchronize(stream);
  return e.ok() ? synced : e;
}

Error gpu_attention(const AttentionParams& p, void* stream, const int32_t* host_head_map) {
  return gpu::run_attention(p, gpuStream_t(stream), host_head_map);
}

Error gpu_attention_host(const AttentionParams& hp) {
  if (hp.batch == 0 || hp.seqlen_q == 0) return {};
  const int64_t q_rows = hp.varlen() ? hp.cu_seqlens_q[hp.batch] : hp.seqlen_q;
  const int64_t q_batch = hp.varlen() ? 1 : hp.batch;
  int64_t kv_extent[4] = {hp.batch, hp.seqlen_kv, hp.heads_kv, hp.head_dim};
  if (hp.varlen()) {
    kv_extent[0] = 1;
    kv_extent[1] = hp.cu_seqlens_kv[hp.batch];
  }
  if (hp.page_table) {  // pages actually referenced: the highest index used, plus one
    int64_t pages = 0;
    for (int64_t b = 0; b < hp.batch; ++b)
      for (int64_t i = 0; i < (hp.seqlens_kv[b] + hp.page_size - 1) / hp.page_size; ++i)
        pages = std::max<int64_t>(pages, hp.page_table[b * hp.page_table_stride + i] + 1);
    kv_extent[0] = pages;
    kv_extent[1] = hp.page_size;
  }
  const int64_t q_extent[4] = {q_batch, q_rows, hp.heads_q, hp.head_dim};
  const size_t in_elem = size_t(dtype_size(hp.dtype)), out_elem = size_t(dtype_size(hp.out_dtype));
  const size_t q_bytes = size_t(gpu::span(hp.q_stride, q_extent, 4)) * in_elem;
  const size_t k_bytes = size_t(gpu::span(hp.k_stride, kv_extent, 4)) * in_elem;
  const size_t v_bytes = size_t(gpu::span(hp.v_stride, kv_extent, 4)) * in_elem;
  const size_t out_bytes = size_t(gpu::span(hp.out_stride, q_extent, 4)) * out_elem;

  gpu::DeviceCopies copies;
  AttentionParams dp = hp;
  char *q, *k, *v, *out;
  Error e;
  if (!(e = copies.upload(static_cast<const char*>(hp.q), q_bytes, &q)).ok()) return e;
  if (!(e = copies.upload(static_cast<const char*>(hp.k), k_bytes, &k)).ok()) return e;
  if (!(e = copies.upload(static_cast<const char*>(hp.v), v_bytes, &v)).ok()) return e;
  // out goes up too, so elements the strides skip come back unchanged.
  if (!(e = copies.upload(static_cast<const char*>(hp.out), out_bytes, &out)).ok()) return e;
  dp.q = q;
  dp.k = k;
  dp.v = v;
  dp.out = out;
  if (!(e = gpu_attention_host_arrays(dp, nullptr)).ok()) return e;
  if (!(e = gpu_memcpy_d2h(hp.out, out, out_bytes, nullptr)).ok()) return e;
  return gpu_stream_synchronize(nullptr);
}

}  // namespace gqa
