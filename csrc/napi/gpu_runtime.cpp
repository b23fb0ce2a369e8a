#include "napi/gpu_runtime.h"

#if defined(GQA_WITH_CUDA) || defined(GQA_WITH_HIP)
#include <algorithm>
#include <vector>

#include "gpu/gpu.h"
#endif

namespace gqa_napi {

#if defined(GQA_WITH_CUDA) || defined(GQA_WITH_HIP)

const char* gpu_kind() { return gqa::gpu_backend_name(); }

int gpu_count(std::string* why) { return gqa::gpu_device_count(why); }

gqa::Error gpu_describe(int device, GpuDescription* out) {
  gqa::GpuDeviceInfo info;
  if (gqa::Error e = gqa::gpu_device_info(device, &info); !e.ok()) return e;
  out->name = info.name;
  out->arch = info.arch;
  out->memory = info.total_memory;
  return {};
}

gqa::Error gpu_alloc(int device, size_t bytes, void** ptr) {
  *ptr = nullptr;
  if (gqa::Error e = gqa::gpu_set_device(device); !e.ok()) return e;
  return gqa::gpu_malloc(bytes, ptr);
}

// Freeing cannot be reported to anyone (it runs from finalizers); a failure here means the context is gone.
void gpu_release(int device, void* ptr) {
  if (gqa::gpu_set_device(device).ok()) (void)gqa::gpu_free(ptr);
}

gqa::Error gpu_pinned_alloc(size_t bytes, void** ptr) { return gqa::gpu_host_alloc(bytes, ptr); }

void gpu_pinned_release(void* ptr) { (void)gqa::gpu_host_free(ptr); }

namespace {

// A stream of `device`, destroyed with this object.
class Stream {
 public:
  ~Stream() { (void)gqa::gpu_stream_destroy(stream_); }
  gqa::Error open(int device) {
    if (gqa::Error e = gqa::gpu_set_device(device); !e.ok()) return e;
    return gqa::gpu_stream_create(&stream_);
  }
  void* get() const { return stream_; }

 private:
  void* stream_ = nullptr;
};

// Device memory freed with this object (after the stream's work: the owner synchronizes first).
class Scratch {
 public:
  explicit Scratch(int device) : device_(device) {}
  ~Scratch() {
    for (void* ptr : owned_) gpu_release(device_, ptr);
  }
  // A device copy of `bytes` bytes of host memory, or null when host is null.
  template <typename T>
  gqa::Error upload(const T* host, size_t bytes, void* stream, T** device_ptr) {
    *device_ptr = nullptr;
    if (host == nullptr || bytes == 0) return {};
    void* ptr = nullptr;
    if (gqa::Error e = gqa::gpu_malloc(bytes, &ptr); !e.ok()) return e;
    owned_.push_back(ptr);
    *device_ptr = static_cast<T*>(ptr);
    return gqa::gpu_memcpy_h2d(ptr, host, bytes, stream);
  }

 private:
  int device_;
  std::vector<void*> owned_;
};

}  // namespace

gqa::Error gpu_copy(int device, void* dst, bool dst_on_gpu, const void* src, bool src_on_gpu, const CopyRegion* regions,
                    size_t count) {
  Stream stream;
  if (gqa::Error e = stream.open(device); !e.ok()) return e;
  for (size_t i = 0; i < count; ++i) {
    char* to = static_cast<char*>(dst) + regions[i].dst_offset;
    const char* from = static_cast<const char*>(src) + regions[i].src_offset;
    gqa::Error e;
    if (dst_on_gpu && src_on_gpu) e = gqa::gpu_memcpy_d2d(to, from, regions[i].bytes, stream.get());
    else if (dst_on_gpu) e = gqa::gpu_memcpy_h2d(to, from, regions[i].bytes, stream.get());
    else e = gqa::gpu_memcpy_d2h(to, from, regions[i].bytes, stream.get());
    if (!e.ok()) {
      (void)gqa::gpu_stream_synchronize(stream.get());
      return e;
    }
  }
  return gqa::gpu_stream_synchronize(stream.get());
}

gqa::Error gpu_attention_device_tensors(int device, const gqa::AttentionParams& hp) {
  Stream stream;
  if (gqa::Error e = stream.open(device); !e.ok()) return e;
  Scratch scratch(device);
  gqa::AttentionParams dp = hp;
  const size_t batch_ints = size_t(hp.batch + 1) * sizeof(int32_t);
  // lse [B, Hq, Sq] (varlen [Hq, total]) is contiguous: its extent is its last element plus one.
  const size_t lse_floats = hp.varlen() ? size_t(hp.lse_stride[1] * hp.heads_q)
                                        : size_t(hp.batch * hp.heads_q * hp.seqlen_q);
  int32_t *head_map, *cu_q, *cu_kv, *page_table, *seqlens;
  float *sinks, *lse;
  gqa::Error e;
  if (!(e = scratch.upload(hp.head_map, size_t(hp.heads_q) * 4, stream.get(), &head_map)).ok() ||
      !(e = scratch.upload(hp.cu_seqlens_q, batch_ints, stream.get(), &cu_q)).ok() ||
      !(e = scratch.upload(hp.cu_seqlens_kv, batch_ints, stream.get(), &cu_kv)).ok() ||
      !(e = scratch.upload(hp.page_table, size_t(hp.batch * hp.page_table_stride) * 4, stream.get(), &page_table)).ok() ||
      !(e = scratch.upload(hp.seqlens_kv, size_t(hp.batch) * 4, stream.get(), &seqlens)).ok() ||
      !(e = scratch.upload(hp.sinks, size_t(hp.heads_q) * 4, stream.get(), &sinks)).ok() ||
      !(e = scratch.upload<float>(hp.lse, lse_floats * 4, stream.get(), &lse)).ok()) {
    (void)gqa::gpu_stream_synchronize(stream.get());
    return e;
  }
  dp.head_map = head_map;
  dp.cu_seqlens_q = cu_q;
  dp.cu_seqlens_kv = cu_kv;
  dp.page_table = page_table;
  dp.seqlens_kv = seqlens;
  dp.sinks = sinks;
  dp.lse = lse;
  e = gqa::gpu_attention(dp, stream.get(), hp.head_map);
  if (e.ok() && hp.lse) e = gqa::gpu_memcpy_d2h(hp.lse, lse, lse_floats * 4, stream.get());
  const gqa::Error synced = gqa::gpu_stream_synchronize(stream.get());
  return e.ok() ? synced : e;
}

gqa::Error gpu_attention_host_tensors(const gqa::AttentionParams& p) {
  if (gqa::Error e = gqa::gpu_set_device(0); !e.ok()) return e;
  return gqa::gpu_attention_host(p);
}

#else  // CPU-only build

namespace {
gqa::Error not_built() {
  return {gqa::Status::BackendUnavailable, "this build has no GPU backend (rebuild with GQA_CUDA=ON or GQA_HIP=ON)"};
}
}  // namespace

const char* gpu_kind() { return nullptr; }

int gpu_count(std::string* why) {
  if (why) *why = not_built().message;
  return 0;
}

gqa::Error gpu_describe(int, GpuDescription*) { return not_built(); }
gqa::Error gpu_alloc(int, size_t, void** ptr) {
  *ptr = nullptr;
  return not_built();
}
void gpu_release(int, void*) {}
gqa::Error gpu_pinned_alloc(size_t, void** ptr) {
  *ptr = nullptr;
  return not_built();
}
void gpu_pinned_release(void*) {}
gqa::Error gpu_copy(int, void*, bool, const void*, bool, const CopyRegion*, size_t) { return not_built(); }
gqa::Error gpu_attention_device_tensors(int, const gqa::AttentionParams&) { return not_built(); }
gqa::Error gpu_attention_host_tensors(const gqa::AttentionParams&) { return not_built(); }

#endif

}  // namespace gqa_napi
