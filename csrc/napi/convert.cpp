#include "napi/convert.h"

#include <cmath>

#include "napi/addon_data.h"
#include "napi/device_buffer.h"
#include "napi/pinned_buffer.h"

namespace gqa_napi {

using gqa::Status;

Napi::Error make_error(Napi::Env env, Status status, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, gqa::status_code(status)));
  return err;
}

void throw_error(Napi::Env env, Status status, const std::string& message) {
  throw make_error(env, status, message);
}

Napi::Reference<Napi::Array> hold(Napi::Env env, const HeldValues& held) {
  Napi::Array array = Napi::Array::New(env, held.values.size());
  for (size_t i = 0; i < held.values.size(); ++i) array.Set(uint32_t(i), held.values[i]);
  return Napi::Persistent(array);
}

HostBytes typed_array_bytes(Napi::Env env, Napi::Value value, const ArgName& name) {
  if (!value.IsTypedArray()) throw_error(env, Status::InvalidDType, name.str() + ": expected a TypedArray");
  Napi::TypedArray array = value.As<Napi::TypedArray>();
  // napi_get_typedarray_info gives the data of a SharedArrayBuffer's views too, where Napi::ArrayBuffer cannot.
  void* data = nullptr;
  napi_value buffer = nullptr;
  bool detached = false;
  if (napi_get_typedarray_info(env, array, nullptr, nullptr, &data, &buffer, nullptr) != napi_ok ||
      napi_is_detached_arraybuffer(env, buffer, &detached) != napi_ok)
    throw_error(env, Status::Internal, name.str() + ": cannot read the TypedArray");
  if (detached) throw_error(env, Status::BufferTooSmall, name.str() + ": the ArrayBuffer is detached");
  return HostBytes{data, array.ByteLength(), array.ElementSize()};
}

namespace {

struct View {
  const void* data;
  size_t bytes;
  size_t element_size;
};

// The memory behind a TypedArray, checked for detachment, held (with any pinned block it lies in) for the call.
View typed_array_view(Napi::Env env, Napi::Value value, const ArgName& name, HeldValues* held) {
  const HostBytes host = typed_array_bytes(env, value, name);
  held->values.push_back(value);
  if (host.data != nullptr)
    if (std::shared_ptr<void> block = pinned_block_holding(host.data)) held->memory.push_back(block);
  return View{host.data, host.bytes, host.element_size};
}

template <typename T>
gqa::ArrayArg<T> array_arg(Napi::Env env, PropertyReader& property, Napi::Object options, Key key,
                           napi_typedarray_type type, const char* type_name, HeldValues* held) {
  gqa::ArrayArg<T> a;
  Napi::Value value = property(options, key);
  if (value.IsUndefined() || value.IsNull()) return a;
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != type)
    throw_error(env, Status::InvalidDType, std::string(key_name(key)) + ": expected an " + type_name);
  View v = typed_array_view(env, value, key_name(key), held);
  a.data = static_cast<const T*>(v.data);
  a.length = int64_t(v.bytes / sizeof(T));
  if (a.data == nullptr) a.data = reinterpret_cast<const T*>(alignof(T));  // empty but given: non-null, never read
  return a;
}

// An integer argument: a JS number that is finite and integral, within [lo, hi].
int64_t integer(Napi::Env env, Napi::Value value, const ArgName& name, Status status, int64_t lo, int64_t hi) {
  if (!value.IsNumber()) throw_error(env, status, name.str() + ": expected an integer");
  const double d = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d) || d < double(lo) || d > double(hi))
    throw_error(env, status,
                name.str() + ": expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return int64_t(d);
}

gqa::DType dtype_of(Napi::Env env, Napi::Value value, const char* name) {
  const std::string s = value.IsString() ? value.As<Napi::String>().Utf8Value() : "";
  if (s == "f32") return gqa::DType::F32;
  if (s == "bf16") return gqa::DType::BF16;
  if (s == "f16") return gqa::DType::F16;
  throw_error(env, Status::InvalidDType, std::string(name) + ": dtype must be 'f32', 'bf16' or 'f16'");
}

// The memory of a DeviceBuffer from `byte_offset` on: prepare_attention checks the tensor against the allocation.
View device_view(Napi::Env env, DeviceBuffer* buffer, Napi::Value data, Napi::Value offset, gqa::DType dtype,
                 const std::string& name, HeldValues* held, Place* place) {
  std::shared_ptr<DeviceMemory> memory = buffer->memory(env, name + ".data");
  const int64_t at = (offset.IsUndefined() || offset.IsNull())
                         ? 0
                         : integer(env, offset, name + ".byteOffset", Status::InvalidStride, 0, int64_t(1) << 53);
  if (size_t(at) > memory->bytes())
    throw_error(env, Status::BufferTooSmall, name + ".byteOffset: " + std::to_string(at) + " is past the end of the " +
                                                 std::to_string(memory->bytes()) + "-byte device buffer");
  held->values.push_back(data);
  held->memory.push_back(memory);
  *place = memory->place();
  char* base = static_cast<char*>(memory->data());
  return View{base ? base + at : nullptr, memory->bytes() - size_t(at), size_t(gqa::dtype_size(dtype))};
}

// A tensor descriptor { data: TypedArray, dtype, shape: number[], strides?: number[] }, or with data a
// DeviceBuffer and an optional byteOffset. *place says where its data is.
gqa::TensorArg tensor_arg(Napi::Env env, PropertyReader& property, Napi::Value value, const char* name,
                          HeldValues* held, Place* place) {
  if (!value.IsObject()) throw_error(env, Status::InvalidShape, std::string(name) + ": expected a tensor");
  Napi::Object obj = value.As<Napi::Object>();
  gqa::TensorArg t;
  t.dtype = dtype_of(env, property(obj, Key::Dtype), name);
  Napi::Value data = property(obj, Key::Data);
  *place = Place{};
  DeviceBuffer* device_buffer = data.IsTypedArray() ? nullptr : DeviceBuffer::Unwrap(data);
  View v = device_buffer ? device_view(env, device_buffer, data, property(obj, Key::ByteOffset), t.dtype, name, held,
                                       place)
                         : typed_array_view(env, data, ArgName(name, ".data"), held);
  if (v.element_size != size_t(gqa::dtype_size(t.dtype)))
    throw_error(env, Status::InvalidDType,
                std::string(name) + ": dtype " + gqa::dtype_name(t.dtype) + " needs " +
                    (t.dtype == gqa::DType::F32 ? "a Float32Array" : "a 16-bit typed array (Uint16Array)"));
  t.data = v.data;
  t.bytes = v.bytes;

  Napi::Value shape = property(obj, Key::Shape);
  if (!shape.IsArray()) throw_error(env, Status::InvalidShape, std::string(name) + ".shape: expected an array");
  Napi::Array sa = shape.As<Napi::Array>();
  if (sa.Length() < 3 || sa.Length() > 4)
    throw_error(env, Status::InvalidShape, std::string(name) + ".shape: expected 4 dimensions (3 for varlen), got " +
                                               std::to_string(sa.Length()));
  t.rank = int(sa.Length());
  for (int i = 0; i < t.rank; ++i)
    t.shape[i] = integer(env, sa.Get(uint32_t(i)), ArgName(name, ".shape", i), Status::InvalidShape, 0, INT32_MAX);

  Napi::Value strides = property(obj, Key::Strides);
  if (!strides.IsUndefined() && !strides.IsNull()) {
    if (!strides.IsArray() || strides.As<Napi::Array>().Length() != uint32_t(t.rank))
      throw_error(env, Status::InvalidStride,
                  std::string(name) + ".strides: expected " + std::to_string(t.rank) + " integers");
    Napi::Array st = strides.As<Napi::Array>();
    for (int i = 0; i < t.rank; ++i)
      t.stride[i] = integer(env, st.Get(uint32_t(i)), ArgName(name, ".strides", i), Status::InvalidStride, 0,
                            int64_t(1) << 40);
    t.has_stride = true;
  }
  return t;
}

// The number v read from options[key], or fallback when it is absent.
double number_option(Napi::Env env, Napi::Value v, Key key, double fallback) {
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsNumber()) throw_error(env, Status::InvalidOption, std::string(key_name(key)) + ": expected a number");
  return v.As<Napi::Number>().DoubleValue();
}

std::string string_option(Napi::Env env, PropertyReader& property, Napi::Object options, Key key,
                          const char* fallback) {
  Napi::Value v = property(options, key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsString()) throw_error(env, Status::InvalidOption, std::string(key_name(key)) + ": expected a string");
  return v.As<Napi::String>().Utf8Value();
}

gqa::Fault fault_of(Napi::Env env, const std::string& s) {
  static const char* names[] = {"none",         "scores-bf16",      "p-bf16",          "p-round-toward-zero",
                                "head-map-modulo", "causal-off-by-one", "drop-last-kv-tile", "max-before-fma"};
  for (int i = 0; i < int(sizeof(names) / sizeof(names[0])); ++i)
    if (s == names[i]) return gqa::Fault(i);
  throw_error(env, Status::InvalidOption, "fault: unknown fault '" + s + "'");
}

Backend backend_of(Napi::Env env, const std::string& s) {
  if (s == "reference") return Backend::Reference;
  if (s == "reference-f32") return Backend::ReferenceF32;
  if (s == "cpu") return Backend::Cpu;
  if (s == "cuda") return Backend::Cuda;
  if (s == "rocm") return Backend::Rocm;
  throw_error(env, Status::InvalidOption, "backend: expected 'reference', 'reference-f32', 'cpu', 'cuda' or 'rocm', got '" + s + "'");
}

}  // namespace

void unpack_attention_args(const Napi::CallbackInfo& info, gqa::AttentionRequest* req, RunOptions* run,
                           HeldValues* held) {
  Napi::Env env = info.Env();
  PropertyReader property(env);
  Place k_place, v_place, out_place;
  req->q = tensor_arg(env, property, info[0], "q", held, &run->place);
  req->k = tensor_arg(env, property, info[1], "k", held, &k_place);
  req->v = tensor_arg(env, property, info[2], "v", held, &v_place);
  req->out = tensor_arg(env, property, info[3], "out", held, &out_place);
  const std::pair<const char*, Place> others[] = {{"k", k_place}, {"v", v_place}, {"out", out_place}};
  for (const auto& [name, place] : others)
    if (place != run->place)
      throw_error(env, Status::Unsupported, std::string(name) + ": on " + place_name(place) + " but q is on " +
                                                place_name(run->place) + " (q, k, v and out must be in one place)");

  Napi::Object options = info[4].IsObject() ? info[4].As<Napi::Object>() : Napi::Object::New(env);
  if (!info[4].IsUndefined() && !info[4].IsNull() && !info[4].IsObject())
    throw_error(env, Status::InvalidOption, "options: expected an object");

  req->lse = array_arg<float>(env, property, options, Key::Lse, napi_float32_array, "Float32Array", held);
  req->head_map = array_arg<int32_t>(env, property, options, Key::HeadMap, napi_int32_array, "Int32Array", held);
  req->cu_seqlens_q = array_arg<int32_t>(env, property, options, Key::CuSeqlensQ, napi_int32_array, "Int32Array", held);
  req->cu_seqlens_kv =
      array_arg<int32_t>(env, property, options, Key::CuSeqlensKv, napi_int32_array, "Int32Array", held);
  req->sinks = array_arg<float>(env, property, options, Key::Sinks, napi_float32_array, "Float32Array", held);
  req->page_table = array_arg<int32_t>(env, property, options, Key::PageTable, napi_int32_array, "Int32Array", held);
  req->seqlens_kv = array_arg<int32_t>(env, property, options, Key::SeqlensKv, napi_int32_array, "Int32Array", held);
  Napi::Value pages = property(options, Key::PagesPerSeq);
  if (!pages.IsUndefined() && !pages.IsNull())
    req->pages_per_seq = integer(env, pages, key_name(Key::PagesPerSeq), Status::InvalidShape, 0, INT32_MAX);

  Napi::Value scale = property(options, Key::Scale);
  if (!scale.IsUndefined() && !scale.IsNull()) {
    req->has_scale = true;
    req->scale = float(number_option(env, scale, Key::Scale, 0));
  }
  req->softcap = float(number_option(env, property(options, Key::Softcap), Key::Softcap, 0));
  Napi::Value causal = property(options, Key::Causal);
  if (!causal.IsUndefined() && !causal.IsNull() && !causal.IsBoolean())
    throw_error(env, Status::InvalidOption, "causal: expected a boolean");
  req->causal = causal.IsBoolean() && causal.As<Napi::Boolean>().Value();
  const std::string alignment = string_option(env, property, options, Key::Alignment, "top-left");
  if (alignment == "top-left") req->alignment = gqa::Alignment::TopLeft;
  else if (alignment == "bottom-right") req->alignment = gqa::Alignment::BottomRight;
  else throw_error(env, Status::InvalidOption, "alignment: expected 'top-left' or 'bottom-right'");
  auto window_side = [&](Key key) {
    Napi::Value w = property(options, key);
    return (w.IsUndefined() || w.IsNull()) ? int64_t(-1)
                                           : integer(env, w, key_name(key), Status::InvalidOption, -1, INT32_MAX);
  };
  req->window_left = window_side(Key::WindowLeft);
  req->window_right = window_side(Key::WindowRight);
  req->fault = fault_of(env, string_option(env, property, options, Key::Fault, "none"));
  run->backend = backend_of(env, string_option(env, property, options, Key::Backend, "cpu"));
  Napi::Value threads = property(options, Key::Threads);
  run->threads = (threads.IsUndefined() || threads.IsNull())
                     ? 0
                     : int(integer(env, threads, key_name(Key::Threads), Status::InvalidOption, 0, 1024));
}

}  // namespace gqa_napi
