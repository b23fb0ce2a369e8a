#include "napi/devices.h"

#include <unistd.h>

#include <fstream>
#include <string>

#include "gqa/backends.h"
#include "napi/convert.h"
#include "napi/gpu_runtime.h"

namespace gqa_napi {
namespace {

// The CPU's model name from /proc/cpuinfo (Linux); "CPU" where it cannot be read.
std::string cpu_name() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon != std::string::npos && colon + 2 <= line.size()) return line.substr(colon + 2);
  }
  return "CPU";
}

double physical_memory() {
  const long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page_size > 0 ? double(pages) * double(page_size) : 0;
}

Napi::Object device_entry(Napi::Env env, const char* kind, int index, const std::string& name, const std::string& arch,
                          double memory) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("kind", kind);
  o.Set("index", index);
  o.Set("name", name);
  o.Set("arch", arch);
  o.Set("memory", memory);
  return o;
}

}  // namespace

Napi::Value Devices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array list = Napi::Array::New(env);
  list.Set(0u, device_entry(env, "cpu", 0, cpu_name(), gqa::cpu_simd_level(), physical_memory()));
  const int count = gpu_count(nullptr);
  for (int i = 0; i < count; ++i) {
    GpuDescription d;
    gqa::Error e = gpu_describe(i, &d);
    if (!e.ok()) throw_error(env, e.status, std::string(gpu_kind()) + ":" + std::to_string(i) + ": " + e.message);
    list.Set(uint32_t(i + 1), device_entry(env, gpu_kind(), i, d.name, d.arch, double(d.memory)));
  }
  return list;
}

Napi::Value GpuStatus(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string why;
  const int count = gpu_count(&why);
  Napi::Object o = Napi::Object::New(env);
  o.Set("kind", gpu_kind() ? Napi::Value(Napi::String::New(env, gpu_kind())) : env.Null());
  o.Set("available", count > 0);
  o.Set("devices", count);
  o.Set("reason", count > 0 ? std::to_string(count) + " " + gpu_kind() + " device(s)" : why);
  return o;
}

}  // namespace gqa_napi
