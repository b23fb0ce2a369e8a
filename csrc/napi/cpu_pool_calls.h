// Async calls run on the CPU backend's own threads (gqa::run_on_cpu_pool) rather than on libuv's, settled on the JS
// thread through a thread-safe function. A libuv thread has to be woken for each call, where the pool's threads poll
// for work a while after their last call. f32 decode, Hq=32, Hkv=8, D=128, batch 1, awaited calls one after another
// (2-core VM): one key 58-83 us through libuv against 12-30 us here; 128 keys on two threads 57-72 against 25-38 us.
// Alternating with sync calls, 2048 keys from memory on two threads took 0.92-0.97 ms through libuv against
// 0.52-0.57 ms here.
#pragma once
#include <napi.h>

#include <atomic>
#include <memory>

#include "gqa/status.h"

namespace gqa_napi {

// A call to run on the pool: run() there, then settle() on the JS thread with run's error, after which it is deleted.
class PoolCall {
 public:
  virtual ~PoolCall() = default;
  virtual int threads() const = 0;  // what run() computes on (<= 0: every core)
  virtual gqa::Error run() = 0;
  virtual void settle(Napi::Env env, const gqa::Error& error) = 0;
};

// Per environment (AddonData::cpu_pool_calls): starts the calls and brings them back.
class CpuPoolCalls {
 public:
  explicit CpuPoolCalls(Napi::Env env);

  // Runs the call on the pool; when the pool can start no thread for it, settles it at once with an error.
  void start(Napi::Env env, std::unique_ptr<PoolCall> call);

 private:
  // Calls in flight, shared with the environment's teardown, which waits for them: they read and write buffers that
  // the teardown frees. Calls that have not started by then are skipped.
  struct InFlight {
    std::atomic<int> count{0};
    std::atomic<bool> closing{false};
  };
  struct Job;
  static void run_job(void* job);                                                   // a pool thread
  static void settle_job(Napi::Env env, Napi::Function, CpuPoolCalls* self, Job* job);  // the JS thread
  static void wait_for_calls(void* in_flight);                                      // the environment's teardown

  using SettleFunction = Napi::TypedThreadSafeFunction<CpuPoolCalls, Job, settle_job>;
  SettleFunction settle_;
  std::shared_ptr<InFlight> in_flight_ = std::make_shared<InFlight>();
  int unsettled_ = 0;  // on the JS thread: while any, settle_ keeps the event loop alive
};

}  // namespace gqa_napi
