// Runs one worker function on several threads of a call's own: no state outlives the call, so concurrent calls
// (Node's libuv pool running several async requests) cannot interfere. Workers pull work from a shared atomic
// counter, so which thread runs which item never changes a result.
#pragma once
#include <thread>
#include <vector>

namespace gqa {
namespace cpu {

// Resolves the caller's thread count: <= 0 means every hardware thread; never more than there are items.
inline int resolve_threads(int requested, int64_t items) {
  int n = requested > 0 ? requested : int(std::thread::hardware_concurrency());
  if (n < 1) n = 1;
  if (int64_t(n) > items) n = items > 0 ? int(items) : 1;
  return n;
}

// Calls worker(t) for t in [0, threads), each on its own thread (t = 0 on the calling one), and waits for all. If
// the system refuses a thread, the ones already running share the work: workers pull items until none are left.
template <class Worker>
void run_on_threads(int threads, const Worker& worker) {
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) {
    try {
      pool.emplace_back(worker, t);
    } catch (...) {
      break;
    }
  }
  worker(0);
  for (auto& t : pool) t.join();
}

}  // namespace cpu
}  // namespace gqa
