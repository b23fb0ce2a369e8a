#include "napi/gpu_runtime.h"

#if defined(GQA_WITH_CUDA) || defined(GQA_WITH_HIP)
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

gqa::Error gpu_attention_device_tensors(int device, const gqa::AttentionParams& p) {
  Stream stream;
  if (gqa::Error e = stream.open(device); !e.ok()) return e;
  return gqa::gpu_attention_host_arrays(p, stream.get());
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
