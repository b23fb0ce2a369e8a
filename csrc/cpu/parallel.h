// Runs one worker function on several threads at once, on a pool of threads kept for the whole process: starting
// threads on every call would cost more than a whole decode step. Calls may come from several threads at a time
// (Node's libuv pool running several async requests): each call queues its own tasks and waits only for those.
// Workers pull work from counters of the call's own, so which thread runs which item never changes a result.
#pragma once
#include <cstdint>

namespace gqa {
namespace cpu {

// The threads "every core" means: the CPUs the process may run on (its affinity mask, as taskset or a container's
// cpuset sets it), counted once. std::thread::hardware_concurrency() counts the machine's CPUs by reading /sys on
// every call, which took 6 us of each short call.
int hardware_threads();

// The caller's thread count: <= 0 means every core (hardware_threads).
inline int requested_threads(int requested) { return requested > 0 ? requested : hardware_threads(); }

// The caller's thread count, never more than there are items.
inline int resolve_threads(int requested, int64_t items) {
  int n = requested_threads(requested);  // at least 1
  if (int64_t(n) > items) n = items > 0 ? int(items) : 1;
  return n;
}

// Calls run(context, t) for t in [0, threads) and waits for all: t = 0 on the calling thread, the others on pool
// threads. Tasks no pool thread has taken by the time the caller's own part is done are dropped, not waited for
// (workers pull items until none are left, so the ones running did the work); so is a thread the system refuses.
void run_on_pool(int threads, void (*run)(void* context, int thread_index), void* context);

// Runs job(context), which will run on `threads` threads (<= 0: every core), on a pool thread and returns at once
// (false, running nothing, when no thread can be started). Jobs start in order, as many at a time as fit on the cores.
bool run_detached(void (*job)(void*), void* context, int threads);

// run_on_pool for a callable worker(int thread_index).
template <class Worker>
void run_on_threads(int threads, const Worker& worker) {
  run_on_pool(threads, [](void* context, int t) { (*static_cast<const Worker*>(context))(t); },
              const_cast<void*>(static_cast<const void*>(&worker)));
}

}  // namespace cpu
}  // namespace gqa
