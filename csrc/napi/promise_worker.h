// Runs one call off the event loop and settles a Promise with its status (the pattern the async binding entry points
// share): on a libuv thread (PromiseWorker) or on the CPU backend's pool (PoolPromise); or runs it on this thread
// (RunNow, the sync entry points). A Call provides
//   void prepare(const Napi::CallbackInfo&)  main thread: unpacks and checks the arguments, throws Napi::Error
//   gqa::Error run()                          worker thread: the native work; touches no JS
//   HeldValues held                           the JS values and memory shares the call reads and writes
//   int threads() const                       for PoolPromise: the CPU threads run() computes on (<= 0: all cores)
// The held values stay alive (a persistent reference owned by the worker or pool call) until the Promise settles.
#pragma once
#include <napi.h>

#include <exception>
#include <memory>
#include <string>
#include <utility>

#include "napi/addon_data.h"
#include "napi/convert.h"
#include "napi/cpu_pool_calls.h"

namespace gqa_napi {

// call.run(), with any C++ exception turned into an Internal error naming the call.
template <class Call>
gqa::Error run_caught(Call& call, const std::string& name) {
  try {
    return call.run();
  } catch (const std::exception& e) {
    return {gqa::Status::Internal, name + ": " + e.what()};
  } catch (...) {
    return {gqa::Status::Internal, name + ": unknown native exception"};
  }
}

// Resolves the Promise, or rejects it with the error as a JS Error carrying its code.
inline void settle_promise(Napi::Env env, Napi::Promise::Deferred& deferred, const gqa::Error& error) {
  if (error.ok()) deferred.Resolve(env.Undefined());
  else deferred.Reject(make_error(env, error.status, error.message).Value());
}

// A Promise already rejected with the error.
inline Napi::Value rejected(Napi::Env env, const Napi::Error& error) {
  Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
  deferred.Reject(error.Value());
  return deferred.Promise();
}

// Prepares a Call from the arguments and hands it to start(env, call), which returns its Promise; bad arguments
// reject the returned Promise instead.
template <class Call, class Start>
Napi::Value prepare_and_start(const Napi::CallbackInfo& info, const Start& start) {
  auto call = std::make_unique<Call>();
  try {
    call->prepare(info);
  } catch (const Napi::Error& e) {
    return rejected(info.Env(), e);
  }
  return start(info.Env(), std::move(call));
}

// A prepared call and its Promise, with the values it holds alive until the Promise settles.
template <class Call>
class CallPromise {
 public:
  CallPromise(Napi::Env env, std::unique_ptr<Call> call, const char* name)
      : deferred_(Napi::Promise::Deferred::New(env)), held_(hold(env, call->held)), call_(std::move(call)),
        name_(name) {}

  Napi::Promise promise() const { return deferred_.Promise(); }
  const Call& call() const { return *call_; }
  gqa::Error run() { return run_caught(*call_, name_); }
  void settle(Napi::Env env, const gqa::Error& error) { settle_promise(env, deferred_, error); }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::Reference<Napi::Array> held_;
  std::unique_ptr<Call> call_;
  std::string name_;
};

template <class Call>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  // Prepares a call from the arguments and queues it; bad arguments reject the returned Promise.
  static Napi::Value Start(const Napi::CallbackInfo& info, const char* name) {
    return prepare_and_start<Call>(
        info, [name](Napi::Env env, std::unique_ptr<Call> call) { return Start(env, std::move(call), name); });
  }

  // Queues a prepared call.
  static Napi::Value Start(Napi::Env env, std::unique_ptr<Call> call, const char* name) {
    auto* worker = new PromiseWorker(env, std::move(call), name);
    Napi::Promise promise = worker->call_.promise();
    worker->Queue();
    return promise;
  }

  void Execute() override { error_ = call_.run(); }
  void OnOK() override { call_.settle(Env(), error_); }
  void OnError(const Napi::Error& e) override { call_.settle(Env(), {gqa::Status::Internal, e.Message()}); }

 private:
  PromiseWorker(Napi::Env env, std::unique_ptr<Call> call, const char* name)
      : Napi::AsyncWorker(env, ("node-gqa:" + std::string(name)).c_str()), call_(env, std::move(call), name) {}

  CallPromise<Call> call_;
  gqa::Error error_;
};

// The Promise of a prepared call run on the CPU backend's pool (napi/cpu_pool_calls.h).
template <class Call>
class PoolPromise : public PoolCall {
 public:
  static Napi::Value Start(Napi::Env env, std::unique_ptr<Call> call, const char* name) {
    std::unique_ptr<PoolPromise> self(new PoolPromise(env, std::move(call), name));
    Napi::Promise promise = self->call_.promise();
    addon_data(env).cpu_pool_calls->start(env, std::move(self));
    return promise;
  }

  int threads() const override { return call_.call().threads(); }
  gqa::Error run() override { return call_.run(); }
  void settle(Napi::Env env, const gqa::Error& error) override { call_.settle(env, error); }

 private:
  PoolPromise(Napi::Env env, std::unique_ptr<Call> call, const char* name) : call_(env, std::move(call), name) {}

  CallPromise<Call> call_;
};

// The synchronous twin of PromiseWorker<Call>::Start: prepares and runs the call on this thread, throwing its error.
template <class Call>
Napi::Value RunNow(const Napi::CallbackInfo& info) {
  Call call;
  call.prepare(info);
  gqa::Error e = call.run();
  if (!e.ok()) throw_error(info.Env(), e.status, e.message);
  return info.Env().Undefined();
}

}  // namespace gqa_napi
