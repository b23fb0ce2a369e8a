// The process-wide worker threads behind run_on_pool and run_detached (parallel.h). One queue of tasks under one
// mutex: a task is one thread index of one call, or a detached job. The pool grows when a call finds fewer idle
// threads than it has tasks, so concurrent calls each get their threads; threads are never ended (the pool is
// deliberately never destroyed, so nothing races with static destruction at process exit). A worker out of tasks
// polls the queue for a short while before it blocks, so that a call right after another does not wait for workers
// to wake; a caller done with its own part polls for its workers likewise.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>

#if defined(__linux__)
#include <sched.h>
#endif

#include "parallel.h"

namespace gqa {
namespace cpu {
namespace {

// Waits on `cv` until pred() holds. By timed waits against the system clock, not condition_variable::wait or a
// steady-clock wait: GCC 12 made wait(unique_lock&) a GLIBCXX_3.4.30 symbol, and steady-clock waits call
// pthread_cond_clockwait (GLIBC_2.34), both newer than what the prebuilds promise (lib/compat.ts); this one is inline
// over pthread_cond_timedwait. The timeout only bounds each wait (a clock change merely shortens or lengthens one):
// the waiter rechecks and waits again.
template <class Pred>
void wait_until_true(std::condition_variable& cv, std::unique_lock<std::mutex>& lock, const Pred& pred) {
  while (!cv.wait_until(lock, std::chrono::system_clock::now() + std::chrono::seconds(1), pred)) {
  }
}

struct Call {
  void (*run)(void*, int) = nullptr;
  void* context = nullptr;
  std::atomic<int> running{0};  // tasks taken by pool threads and not finished (changed under the pool's mutex)
  std::condition_variable finished;
};

// A detached job and the threads it will run on.
struct Job {
  void (*run)(void*);
  void* context;
  int threads;
};

// One thread index of one call, or (call null) a detached job.
struct Task {
  Call* call;
  int thread_index;
  Job job;
};

class Pool {
 public:
  void run(int threads, void (*run)(void*, int), void* context) {
    Call call;
    call.run = run;
    call.context = context;
    if (threads > 1) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        for (int t = 1; t < threads; ++t) tasks_.push_back(Task{&call, t, {}});
        queued_.store(tasks_.size(), std::memory_order_relaxed);
        // Start threads for the tasks no idle thread will take; a refused thread leaves its task to be dropped.
        start_missing_threads();
      }
      // One waiting thread per task, not all: a thread woken for nothing polls for a while, taking a core from the
      // calls running (a one-thread call that woke every idle thread ran 30% slower).
      for (int t = 1; t < threads; ++t) work_.notify_one();
    }
    run(context, 0);
    if (threads <= 1) return;
    std::unique_lock<std::mutex> lock(mutex_);
    for (auto it = tasks_.begin(); it != tasks_.end();) it = it->call == &call ? tasks_.erase(it) : it + 1;
    queued_.store(tasks_.size(), std::memory_order_relaxed);
    // Workers still running end moments later, as each took its share of the items: polling for that before
    // blocking saves the caller the wake-up, which was most of what two threads lost on short calls.
    if (call.running.load() != 0) {
      lock.unlock();
      poll([&] { return call.running.load(std::memory_order_acquire) == 0; });
      lock.lock();
    }
    wait_until_true(call.finished, lock, [&] { return call.running.load() == 0; });
  }

  // Queues a job: it starts at once if its threads fit beside those of the jobs running (or none runs), else after
  // them, in order. Returns false when no thread could be started for it.
  bool detach(const Job& job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!waiting_jobs_.empty() || !fits(job)) {
        waiting_jobs_.push_back(job);
        return true;
      }
      tasks_.push_back(Task{nullptr, 0, job});
      queued_.store(tasks_.size(), std::memory_order_relaxed);
      start_missing_threads();
      if (idle_ == 0) {
        tasks_.pop_back();
        queued_.store(tasks_.size(), std::memory_order_relaxed);
        return false;
      }
      job_threads_ += job.threads;
    }
    work_.notify_one();
    return true;
  }

 private:
  // Starts threads for the queued tasks no idle thread will take (under the lock).
  void start_missing_threads() {
    for (int64_t missing = int64_t(tasks_.size()) - idle_; missing > 0; --missing) {
      try {
        std::thread(&Pool::serve, this).detach();
        ++idle_;
      } catch (...) {
        break;
      }
    }
  }

  void serve() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      if (tasks_.empty()) {
        lock.unlock();
        poll([&] { return queued_.load(std::memory_order_relaxed) != 0; });
        lock.lock();
      }
      wait_until_true(work_, lock, [&] { return !tasks_.empty(); });
      const Task task = tasks_.front();
      tasks_.pop_front();
      queued_.store(tasks_.size(), std::memory_order_relaxed);
      --idle_;
      if (!task.call) {
        lock.unlock();
        task.job.run(task.job.context);
        lock.lock();
        ++idle_;
        job_threads_ -= task.job.threads;
        start_waiting_jobs();
        continue;
      }
      ++task.call->running;
      lock.unlock();
      task.call->run(task.call->context, task.thread_index);
      lock.lock();
      ++idle_;
      if (--task.call->running == 0) task.call->finished.notify_one();
    }
  }

  // Polls done() for up to kSpin, yielding the core between looks, before a thread blocks. A worker polls for a
  // queued task: waking a blocked worker cost about 0.07 ms on a 2-core VM (a 256-key decode call took 0.16 ms on 2
  // threads, 0.09 ms on 1, and 0.08 ms on 2 with the worker polling), a tenth of a 2048-key decode call, and calls
  // less than kSpin apart (layer after layer) find it awake. The caller polls for its workers to finish: that took
  // the same call's median from 0.060-0.076 ms to 0.047-0.049 ms (batch 4: 0.167-0.177 to 0.142-0.155 ms).
  template <class Done>
  static void poll(const Done& done) {
    const auto deadline = std::chrono::steady_clock::now() + kSpin;
    while (!done() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  }

  // Whether a job may start now: detached jobs run together as long as their threads fit on the cores, so that
  // concurrent calls share the cores rather than crowd them (each call already runs on as many threads as it asks
  // for); a job wider than the cores runs alone.
  bool fits(const Job& job) const { return job_threads_ == 0 || job_threads_ + job.threads <= hardware_threads(); }

  // Queues the waiting jobs that now fit, in order (under the lock), for the calling thread, idle again, and as many
  // more threads as there are further jobs.
  void start_waiting_jobs() {
    const size_t queued = tasks_.size();
    while (!waiting_jobs_.empty() && fits(waiting_jobs_.front())) {
      job_threads_ += waiting_jobs_.front().threads;
      tasks_.push_back(Task{nullptr, 0, waiting_jobs_.front()});
      waiting_jobs_.pop_front();
    }
    if (tasks_.size() == queued) return;
    queued_.store(tasks_.size(), std::memory_order_relaxed);
    start_missing_threads();
    for (size_t i = queued + 1; i < tasks_.size(); ++i) work_.notify_one();
  }

  static constexpr std::chrono::microseconds kSpin{500};
  std::atomic<size_t> queued_{0};  // tasks_.size(), for spinning workers to poll without the lock
  std::mutex mutex_;
  std::condition_variable work_;
  std::deque<Task> tasks_;
  int idle_ = 0;  // threads waiting for a task, or started for one
  int job_threads_ = 0;           // threads of the detached jobs queued in tasks_ or running
  std::deque<Job> waiting_jobs_;  // detached jobs that did not fit yet, in order
};

Pool& pool() {
  static Pool* pool = new Pool;  // never destroyed: see above
  return *pool;
}

}  // namespace

int hardware_threads() {
  static const int count = [] {
#if defined(__linux__)
    cpu_set_t set;  // up to 1024 CPUs; with more, the call fails and the machine's count stands
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
#endif
    return std::max(1, int(std::thread::hardware_concurrency()));
  }();
  return count;
}

void run_on_pool(int threads, void (*run)(void*, int), void* context) { pool().run(threads, run, context); }

bool run_detached(void (*job)(void*), void* context, int threads) {
  return pool().detach(Job{job, context, requested_threads(threads)});
}

}  // namespace cpu
}  // namespace gqa
