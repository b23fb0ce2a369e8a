// The fast CPU backend reads nothing outside the caller's buffers: Q, K and V each end exactly where an inaccessible
// page begins, so a read past any of them kills the process with SIGSEGV. The sweep covers every dtype, decode and
// prefill, head dims that are and are not whole vectors, GQA, MQA and uneven groups, Sq > Skv, causal and window
// masks, K and V contiguous and in pages (of 5 keys, out of order, the pool ending with the last sequence's last
// key), on one and two threads, on the SIMD level NODE_GQA_CPU_SIMD selects.
//   guard_page_check            the sweep; prints "guard_page_check: <level> <calls> calls, no read outside"
//   guard_page_check --control  reads one element past a guarded buffer, which must fault
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "gqa/backends.h"

namespace {

using gqa::DType;

// n elements of dtype t ending at an inaccessible page, filled with values in [-1, 1).
class GuardedBuffer {
 public:
  GuardedBuffer(size_t n, DType t, std::mt19937& rng) {
    const size_t page = size_t(sysconf(_SC_PAGESIZE)), bytes = n * gqa::dtype_size(t);
    size_ = (bytes + page - 1) / page * page + page;
    base_ = static_cast<char*>(mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (base_ == MAP_FAILED || mprotect(base_ + size_ - page, page, PROT_NONE) != 0) {
      std::perror("guard_page_check: mmap");
      std::exit(2);
    }
    data_ = base_ + size_ - page - bytes;
    std::uniform_real_distribution<float> value(-1.f, 1.f);
    for (size_t i = 0; i < n; ++i) {
      const float f = value(rng);
      switch (t) {
        case DType::F32: reinterpret_cast<float*>(data_)[i] = f; break;
        case DType::BF16: reinterpret_cast<uint16_t*>(data_)[i] = gqa::f32_to_bf16(f); break;
        case DType::F16: reinterpret_cast<uint16_t*>(data_)[i] = gqa::f32_to_f16(f); break;
      }
    }
  }
  ~GuardedBuffer() { munmap(base_, size_); }
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;
  void* data() const { return data_; }

 private:
  char* base_ = nullptr;
  char* data_ = nullptr;
  size_t size_ = 0;
};

struct Shape {
  int64_t heads_q, heads_kv, seqlen_q, seqlen_kv;
};

constexpr int64_t kPageSize = 5;

// Page table of B sequences of Skv keys in pages of kPageSize: the last sequence's last page takes the pool's last
// slot, the others the remaining slots in reverse order.
std::vector<int32_t> page_table(int64_t B, int64_t Skv) {
  const int64_t per_seq = (Skv + kPageSize - 1) / kPageSize, pages = B * per_seq;
  std::vector<int32_t> table(static_cast<size_t>(pages));
  for (int64_t i = 0; i + 1 < pages; ++i) table[size_t(i)] = int32_t(pages - 2 - i);
  table[size_t(pages - 1)] = int32_t(pages - 1);
  return table;
}

void attend(DType t, int64_t D, const Shape& s, int mask, int threads, bool paged, std::mt19937& rng) {
  const int64_t B = 2, Hq = s.heads_q, Hkv = s.heads_kv, Sq = s.seqlen_q, Skv = s.seqlen_kv;
  const std::vector<int32_t> table = paged ? page_table(B, Skv) : std::vector<int32_t>();
  const std::vector<int32_t> seqlens(static_cast<size_t>(B), int32_t(Skv));
  // Paged: the pool holds whole pages but the last, which ends at the last valid key.
  const int64_t per_seq = (Skv + kPageSize - 1) / kPageSize;
  const int64_t kv_rows = paged ? (B * per_seq - 1) * kPageSize + (Skv - (per_seq - 1) * kPageSize) : B * Skv;
  GuardedBuffer q(size_t(B * Sq * Hq * D), t, rng), k(size_t(kv_rows * Hkv * D), t, rng),
      v(size_t(kv_rows * Hkv * D), t, rng);
  std::vector<float> out(size_t(B * Sq * Hq * D));
  std::vector<int32_t> head_map(static_cast<size_t>(Hq));
  for (int64_t h = 0; h < Hq; ++h) head_map[size_t(h)] = int32_t(h * Hkv / Hq);  // uneven groups when 7 by 2
  gqa::AttentionParams p;
  p.batch = B;
  p.seqlen_q = Sq;
  p.seqlen_kv = Skv;
  p.heads_q = Hq;
  p.heads_kv = Hkv;
  p.head_dim = D;
  p.dtype = t;
  p.out_dtype = DType::F32;
  p.q = q.data();
  p.k = k.data();
  p.v = v.data();
  p.out = out.data();
  const int64_t q_stride[4] = {Sq * Hq * D, Hq * D, D, 1}, kv_stride[4] = {Skv * Hkv * D, Hkv * D, D, 1};
  for (int i = 0; i < 4; ++i) {
    p.q_stride[i] = p.out_stride[i] = q_stride[i];
    p.k_stride[i] = p.v_stride[i] = kv_stride[i];
  }
  if (paged) {
    p.k_stride[0] = p.v_stride[0] = kPageSize * Hkv * D;
    p.page_table = table.data();
    p.page_table_stride = per_seq;
    p.page_size = kPageSize;
    p.seqlens_kv = seqlens.data();
  }
  p.head_map = head_map.data();
  p.scale = 1.f / std::sqrt(float(D));
  if (mask > 0) p.window_right = 0;                                  // causal
  if (mask == 1) p.alignment = gqa::Alignment::BottomRight;
  if (mask == 2) p.window_left = 16;                                 // sliding window, top-left
  const gqa::Error e = gqa::cpu_attention(p, threads);
  if (e.status != gqa::Status::Ok) {
    std::printf("guard_page_check: cpu_attention failed: %s\n", e.message.c_str());
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::mt19937 rng(20261124);
  if (argc > 1 && std::strcmp(argv[1], "--control") == 0) {
    GuardedBuffer b(100, DType::F32, rng);
    const volatile float* past = static_cast<const float*>(b.data()) + 100;
    std::printf("guard_page_check: control read %g\n", double(*past));  // must not get here
    return 0;
  }
  const Shape shapes[] = {{4, 4, 1, 1}, {8, 2, 1, 77}, {7, 2, 2, 200}, {4, 1, 30, 11}, {8, 2, 37, 130}, {4, 4, 70, 70}};
  long calls = 0;
  for (DType t : {DType::F32, DType::BF16, DType::F16})
    for (int64_t D : {8, 40, 64, 136})
      for (const Shape& s : shapes)
        for (int mask = 0; mask < 3; ++mask)
          for (int threads : {1, 2})
            for (bool paged : {false, true}) {
              attend(t, D, s, mask, threads, paged, rng);
              ++calls;
            }
  std::printf("guard_page_check: %s %ld calls, no read outside\n", gqa::cpu_simd_level(), calls);
  return 0;
}
