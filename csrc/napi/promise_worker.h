// Runs one call off the event loop and settles a Promise with its status (the pattern every async binding entry
// point shares), or on this thread (RunNow, the sync entry points). A Call provides
//   void prepare(const Napi::CallbackInfo&)  main thread: unpacks and checks the arguments, throws Napi::Error
//   gqa::Error run()                          worker thread: the native work; touches no JS
//   HeldValues held                           the JS values and memory shares the call reads and writes
// The held values stay alive (a persistent reference owned by the worker) until the Promise settles.
#pragma once
#include <napi.h>

#include <exception>
#include <string>

#include "napi/convert.h"

namespace gqa_napi {

template <class Call>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  // Prepares a call from the arguments and queues it; bad arguments reject the returned Promise.
  static Napi::Value Start(const Napi::CallbackInfo& info, const char* name) {
    Napi::Env env = info.Env();
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
    auto* worker = new PromiseWorker(env, deferred, name);
    try {
      worker->call_.prepare(info);
    } catch (const Napi::Error& e) {
      delete worker;
      deferred.Reject(e.Value());
      return deferred.Promise();
    }
    worker->held_ = hold(env, worker->call_.held);
    worker->Queue();
    return deferred.Promise();
  }

  void Execute() override {
    try {
      error_ = call_.run();
    } catch (const std::exception& e) {
      error_ = {gqa::Status::Internal, name_ + ": " + e.what()};
    } catch (...) {
      error_ = {gqa::Status::Internal, name_ + ": unknown native exception"};
    }
  }

  void OnOK() override {
    if (error_.ok()) deferred_.Resolve(Env().Undefined());
    else deferred_.Reject(make_error(Env(), error_.status, error_.message).Value());
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  PromiseWorker(Napi::Env env, Napi::Promise::Deferred deferred, const char* name)
      : Napi::AsyncWorker(env, ("node-gqa:" + std::string(name)).c_str()), deferred_(deferred), name_(name) {}

  Napi::Promise::Deferred deferred_;
  Napi::Reference<Napi::Array> held_;
  Call call_;
  gqa::Error error_;
  std::string name_;
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
