#include "huge_pages.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace gqa {
namespace cpu {

#if defined(__linux__) && defined(MADV_HUGEPAGE)

namespace {

// Whether every page of [start, start + bytes) that is placed holds only zeros (pages not placed read as zeros).
bool placed_pages_are_zeros(const unsigned char* start, size_t bytes) {
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> placed((bytes + page - 1) / page);
  if (mincore(const_cast<unsigned char*>(start), bytes, placed.data()) != 0) return false;
  for (size_t i = 0; i < placed.size(); ++i) {
    if (!(placed[i] & 1)) continue;
    const unsigned char* p = start + i * page;
    if (std::any_of(p, p + std::min(page, bytes - i * page), [](unsigned char b) { return b != 0; })) return false;
  }
  return true;
}

}  // namespace

bool request_huge_pages(void* data, size_t bytes) {
  const uintptr_t begin = reinterpret_cast<uintptr_t>(data);
  const uintptr_t first = (begin + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
  const uintptr_t last = (begin + bytes) / kHugePageBytes * kHugePageBytes;
  if (bytes == 0 || last <= first) return false;
  auto* const start = reinterpret_cast<unsigned char*>(first);
  const size_t length = last - first;
  // Refused where transparent huge pages are off; the memory then stays as it was, as good as any other.
  if (madvise(start, length, MADV_HUGEPAGE) != 0) return false;
  // Pages already placed keep their 4 KiB size: an allocator may have written the zeros itself, as calloc does from
  // its heap. Dropped, such pages read as zeros again and come back as huge pages when next written; pages holding
  // anything else are kept as they are.
  if (placed_pages_are_zeros(start, length)) madvise(start, length, MADV_DONTNEED);
  return true;
}

#else

bool request_huge_pages(void*, size_t) { return false; }

#endif

}  // namespace cpu
}  // namespace gqa
