#include "napi/cpu_pool_calls.h"

#include <chrono>
#include <thread>

#include "gqa/backends.h"

namespace gqa_napi {

struct CpuPoolCalls::Job {
  std::unique_ptr<PoolCall> call;
  SettleFunction settle;
  std::shared_ptr<InFlight> in_flight;
  gqa::Error error;
};

CpuPoolCalls::CpuPoolCalls(Napi::Env env) : settle_(SettleFunction::New(env, "node-gqa:cpu-pool", 0, 1, this)) {
  settle_.Unref(env);
  // Registered after the thread-safe function, so that it runs before the function's own teardown (hooks run in
  // reverse order): every call in flight has queued its settlement by then.
  napi_add_env_cleanup_hook(env, wait_for_calls, new std::shared_ptr<InFlight>(in_flight_));
}

void CpuPoolCalls::start(Napi::Env env, std::unique_ptr<PoolCall> call) {
  auto job = std::make_unique<Job>();
  job->call = std::move(call);
  job->settle = settle_;
  job->in_flight = in_flight_;
  ++in_flight_->count;
  if (!gqa::run_on_cpu_pool(run_job, job.get(), job->call->threads())) {
    --in_flight_->count;
    job->call->settle(env, {gqa::Status::Internal, "the CPU backend could not start a thread"});
    return;
  }
  job.release();  // the pool thread's now, then the JS thread's (settle_job)
  if (unsettled_++ == 0) settle_.Ref(env);
}

void CpuPoolCalls::run_job(void* p) {
  auto* job = static_cast<Job*>(p);
  if (!job->in_flight->closing) job->error = job->call->run();
  // Once queued, the job is the JS thread's, which may delete it at once: nothing of it is touched after.
  SettleFunction settle = job->settle;
  const std::shared_ptr<InFlight> in_flight = job->in_flight;
  // A queue that refuses (the environment is closing) leaves the job unsettled: its JS values go with the environment.
  settle.NonBlockingCall(job);
  --in_flight->count;
}

void CpuPoolCalls::settle_job(Napi::Env env, Napi::Function, CpuPoolCalls* self, Job* job) {
  if (static_cast<napi_env>(env) == nullptr) return;  // the environment's teardown: as above
  std::unique_ptr<Job> own(job);
  if (--self->unsettled_ == 0) self->settle_.Unref(env);
  job->call->settle(env, job->error);
}

void CpuPoolCalls::wait_for_calls(void* p) {
  std::unique_ptr<std::shared_ptr<InFlight>> in_flight(static_cast<std::shared_ptr<InFlight>*>(p));
  (*in_flight)->closing = true;
  // Calls end within their run time; polling, rare as teardown with calls in flight is, keeps this free of a
  // condition variable's newer libstdc++ symbols (see csrc/cpu/thread_pool.cpp).
  while ((*in_flight)->count != 0) std::this_thread::sleep_for(std::chrono::microseconds(100));
}

}  // namespace gqa_napi
