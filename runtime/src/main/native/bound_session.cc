// Bound sessions (org.catonnx.runtime.bound.BoundNative): ONNX Runtime sessions run through an
// IoBinding over buffers we allocate ourselves, so a generation loop keeps its caches where they
// are (device memory on CUDA), updates them in place and can replay CUDA graphs. The Java API of
// ONNX Runtime has neither IoBinding nor device tensors, hence this JNI layer over the C API.
//
// Linked into both libraries: the CPU one (host buffers only) and, with CATONNX_WITH_CUDA, the
// CUDA one (cudaMalloc'ed buffers too). Neither links libonnxruntime: the OrtApi is the one that
// RegisterCustomOps captured (catonnx::g_ort, cat_attention_common.h); the Java side registers
// this library with ONNX Runtime before System.load of the same file, so both see one copy.
//
// Java checks handles, names, bounds and sizes before calling in; failures here (ORT statuses,
// CUDA errors) become exceptions, never crashes.
#include "cat_attention_common.h"

#include <jni.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#ifdef CATONNX_WITH_CUDA
#include <cuda_runtime.h>

#include "device_pool.h"
#endif

using catonnx::g_ort;

namespace {

constexpr size_t kHostAlign = 256;  // as cudaMalloc: any element type and vector load is aligned
const char* const kInferenceException = "org/catonnx/runtime/InferenceException";
const char* const kIllegalState = "java/lang/IllegalStateException";
const char* const kNoCuda = "this native library was built without CUDA (libcatonnx_ops_cpu.so): device buffers need libcatonnx_ops_cuda.so";

OrtEnv* g_env = nullptr;  // one per process in ORT; ours is a reference to it, never released

void Throw(JNIEnv* env, const char* cls, const std::string& msg) {
  if (env->ExceptionCheck()) return;
  jclass c = env->FindClass(cls);
  if (!c) return;  // NoClassDefFoundError is pending
  if (std::strcmp(cls, kInferenceException) != 0) {
    env->ThrowNew(c, msg.c_str());
    return;
  }
  // InferenceException has only a (String, Throwable) constructor, which ThrowNew cannot call
  jmethodID ctor = env->GetMethodID(c, "<init>", "(Ljava/lang/String;Ljava/lang/Throwable;)V");
  jstring s = ctor ? env->NewStringUTF(msg.c_str()) : nullptr;
  jobject e = s ? env->NewObject(c, ctor, s, nullptr) : nullptr;
  if (e) env->Throw(static_cast<jthrowable>(e));
}

/** True when s is OK; else throws InferenceException with ORT's message and releases s. */
bool Ok(JNIEnv* env, OrtStatus* s, const std::string& what) {
  if (!s) return true;
  std::string msg = what + ": " + g_ort->GetErrorMessage(s);
  g_ort->ReleaseStatus(s);
  Throw(env, kInferenceException, msg);
  return false;
}

#ifdef CATONNX_WITH_CUDA
std::string CudaError(const char* what, cudaError_t e) {
  cudaGetLastError();  // clears a non-sticky error so the next call does not report it again
  return std::string(what) + ": " + cudaGetErrorName(e) + ": " + cudaGetErrorString(e);
}

/**
 * One stream per device for all bound work: ONNX Runtime's compute stream (user_compute_stream)
 * and our copies. Stream order then replaces host synchronisation: a copy between two runs is
 * only enqueued, and the GPU no longer idles while the host waits for each copy to land.
 */
std::string DeviceStream(int device, cudaStream_t* out) {
  static std::mutex lock;
  static std::map<int, cudaStream_t> streams;  // never destroyed: sessions may outlive any owner
  std::lock_guard<std::mutex> guard(lock);
  auto it = streams.find(device);
  if (it == streams.end()) {
    cudaStream_t s = nullptr;
    cudaError_t e = cudaSetDevice(device);
    if (e == cudaSuccess) e = cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
    if (e != cudaSuccess) return CudaError("cudaStreamCreate", e);
    it = streams.emplace(device, s).first;
  }
  *out = it->second;
  return {};
}

/** DeviceStream for JNI entry points: false, with InferenceException pending, when it fails. */
bool StreamOrThrow(JNIEnv* env, int device, cudaStream_t* out) {
  const std::string err = DeviceStream(device, out);
  if (err.empty()) return true;
  Throw(env, kInferenceException, err);
  return false;
}

/** ONNX Runtime's view of a DevicePool: an OrtAllocator over CUDA device memory. */
struct PoolAllocator : OrtAllocator {
  catonnx::DevicePool* pool = nullptr;
  OrtMemoryInfo* info = nullptr;

  static void* ORT_API_CALL AllocFn(OrtAllocator* a, size_t n) { return static_cast<PoolAllocator*>(a)->pool->Alloc(n, true, nullptr); }
  static void* ORT_API_CALL ReserveFn(OrtAllocator* a, size_t n) { return static_cast<PoolAllocator*>(a)->pool->Alloc(n, false, nullptr); }
  static void ORT_API_CALL FreeFn(OrtAllocator* a, void* p) { static_cast<PoolAllocator*>(a)->pool->Free(p); }
  static const OrtMemoryInfo* ORT_API_CALL InfoFn(const OrtAllocator* a) { return static_cast<const PoolAllocator*>(a)->info; }
};

/**
 * The device's pool (created on first use, never destroyed: sessions may outlive any owner).
 * register_with_ort: also make it ONNX Runtime's shared allocator for the device (once).
 * Returns an error message, empty on success.
 */
std::string Pool(int device, bool register_with_ort, catonnx::DevicePool** out) {
  static std::mutex lock;
  static std::map<int, PoolAllocator*> pools;
  std::lock_guard<std::mutex> guard(lock);
  PoolAllocator*& a = pools[device];
  if (!a) {
    a = new PoolAllocator();
    a->pool = new catonnx::DevicePool(device);
    a->version = ORT_API_VERSION;
    a->Alloc = PoolAllocator::AllocFn;
    a->Free = PoolAllocator::FreeFn;
    a->Info = PoolAllocator::InfoFn;
    a->Reserve = PoolAllocator::ReserveFn;  // never from the cache (see device_pool.h)
  }
  if (register_with_ort && !a->info) {
    OrtMemoryInfo* info = nullptr;
    OrtStatus* st = g_ort->CreateMemoryInfo("Cuda", OrtDeviceAllocator, device, OrtMemTypeDefault, &info);
    if (!st) {
      a->info = info;
      st = g_ort->RegisterAllocator(g_env, a);
      if (st) a->info = nullptr;
    }
    if (st) {
      std::string msg = std::string("cannot register the device pool with ONNX Runtime: ") + g_ort->GetErrorMessage(st);
      g_ort->ReleaseStatus(st);
      if (info) g_ort->ReleaseMemoryInfo(info);
      return msg;
    }
  }
  *out = a->pool;
  return {};
}

/** Pool for JNI entry points: null, with InferenceException pending, when it fails. */
catonnx::DevicePool* PoolOrThrow(JNIEnv* env, int device, bool register_with_ort) {
  catonnx::DevicePool* pool = nullptr;
  const std::string err = Pool(device, register_with_ort, &pool);
  if (err.empty()) return pool;
  Throw(env, kInferenceException, err);
  return nullptr;
}

/** Tags the device pool's allocations on this thread with a session for a scope (see device_pool.h). */
struct PoolTag {
  int64_t saved;
  explicit PoolTag(int64_t tag) : saved(catonnx::DevicePool::CurrentTag()) { catonnx::DevicePool::CurrentTag() = tag; }
  ~PoolTag() { catonnx::DevicePool::CurrentTag() = saved; }
};
#endif

/** GetStringUTFChars for a scope; c is null (with an exception pending) when out of memory. */
struct Utf {
  JNIEnv* env;
  jstring s;
  const char* c;
  Utf(JNIEnv* e, jstring str) : env(e), s(str), c(e->GetStringUTFChars(str, nullptr)) {}
  ~Utf() { if (c) env->ReleaseStringUTFChars(s, c); }
  Utf(const Utf&) = delete;
  Utf& operator=(const Utf&) = delete;
};

enum class Dir { kIn, kOut, kWithin };  // host -> buffer, buffer -> host, buffer -> buffer

/** Copies n bytes; returns an error message, empty on success. */
std::string Transfer(int device, void* dst, const void* src, size_t n, Dir dir) {
  if (n == 0) return {};
  if (device < 0) {
    std::memmove(dst, src, n);
    return {};
  }
#ifdef CATONNX_WITH_CUDA
  const cudaMemcpyKind kind = dir == Dir::kIn ? cudaMemcpyHostToDevice
                            : dir == Dir::kOut ? cudaMemcpyDeviceToHost : cudaMemcpyDeviceToDevice;
  cudaStream_t stream = nullptr;
  const std::string err = DeviceStream(device, &stream);
  if (!err.empty()) return err;
  cudaError_t e = cudaSetDevice(device);
  // on the sessions' stream, so ordered with every run. From pageable host memory the call
  // returns once the source is staged (the Java array may be released); device to device it
  // is only enqueued; to the host it must land before we return.
  if (e == cudaSuccess) e = cudaMemcpyAsync(dst, src, n, kind, stream);
  if (e == cudaSuccess && dir == Dir::kOut) e = cudaStreamSynchronize(stream);
  return e == cudaSuccess ? std::string() : CudaError("cudaMemcpyAsync", e);
#else
  (void)dir;
  return kNoCuda;
#endif
}

/** One bound session and everything it owns. */
struct Session {
  int device = -1;            // CUDA device, -1: CPU
  bool rebind_inputs = true;  // see run()
#ifdef CATONNX_WITH_CUDA
  catonnx::DevicePool* pool = nullptr;  // ORT allocates from it (device_pool.h), tagged with this session
#endif
  OrtSessionOptions* options = nullptr;
  OrtSession* session = nullptr;
  OrtIoBinding* binding = nullptr;
  OrtRunOptions* run_options = nullptr;
  OrtMemoryInfo* memory = nullptr;  // where bound buffers live: host, or CUDA device memory
  std::map<std::string, OrtValue*> inputs, outputs;  // tensors over our buffers, by bound name

  ~Session() {
    for (auto& kv : inputs) g_ort->ReleaseValue(kv.second);
    for (auto& kv : outputs) g_ort->ReleaseValue(kv.second);
    if (binding) g_ort->ReleaseIoBinding(binding);
    if (run_options) g_ort->ReleaseRunOptions(run_options);
    if (session) g_ort->ReleaseSession(session);
    if (options) g_ort->ReleaseSessionOptions(options);  // after the session: it holds the custom-op libraries
    if (memory) g_ort->ReleaseMemoryInfo(memory);
#ifdef CATONNX_WITH_CUDA
    if (pool) pool->Trim(reinterpret_cast<int64_t>(this));  // its cached blocks: nobody else may use them
#endif
  }
};

Session* AsSession(jlong h) { return reinterpret_cast<Session*>(h); }
char* AsPtr(jlong p) { return reinterpret_cast<char*>(p); }

bool AppendCuda(JNIEnv* env, OrtSessionOptions* options, int device, bool cuda_graph, bool tf32, int64_t mem_limit) {
#ifdef CATONNX_WITH_CUDA
  cudaStream_t stream = nullptr;
  if (!StreamOrThrow(env, device, &stream)) return false;
#endif
  OrtCUDAProviderOptionsV2* cuda = nullptr;
  if (!Ok(env, g_ort->CreateCUDAProviderOptions(&cuda), "CreateCUDAProviderOptions")) return false;
  const std::string dev = std::to_string(device), limit = std::to_string(mem_limit);
  std::vector<const char*> keys = {"device_id", "enable_cuda_graph", "use_tf32", "arena_extend_strategy"};
  // growing decode caches allocate ever larger buffers; power-of-two arena growth wastes most of it
  std::vector<const char*> values = {dev.c_str(), cuda_graph ? "1" : "0", tf32 ? "1" : "0", "kSameAsRequested"};
  if (mem_limit > 0) { keys.push_back("gpu_mem_limit"); values.push_back(limit.c_str()); }
  bool ok = Ok(env, g_ort->UpdateCUDAProviderOptions(cuda, keys.data(), values.data(), keys.size()),
               "UpdateCUDAProviderOptions") &&
#ifdef CATONNX_WITH_CUDA
            Ok(env, g_ort->UpdateCUDAProviderOptionsWithValue(cuda, "user_compute_stream", stream),
               "UpdateCUDAProviderOptionsWithValue(user_compute_stream)") &&
#endif
            Ok(env, g_ort->SessionOptionsAppendExecutionProvider_CUDA_V2(options, cuda),
               "SessionOptionsAppendExecutionProvider_CUDA_V2");
  g_ort->ReleaseCUDAProviderOptions(cuda);
  return ok;
}

}  // namespace

#define BOUND(name) Java_org_catonnx_runtime_bound_BoundNative_##name

extern "C" {

/** Checks that the OrtApi was captured and takes a reference to ORT's environment. */
JNIEXPORT void JNICALL BOUND(init)(JNIEnv* env, jclass) {
  if (!g_ort) {
    Throw(env, kIllegalState,
          "ONNX Runtime's API was never captured by this library: RegisterCustomOps did not run (register the library "
          "with ONNX Runtime before System.load of the same path) or ONNX Runtime is older than API version " +
              std::to_string(ORT_API_VERSION));
    return;
  }
  if (!g_env) Ok(env, g_ort->CreateEnv(ORT_LOGGING_LEVEL_ERROR, "cat-onnx", &g_env), "CreateEnv");
#ifdef CATONNX_WITH_CUDA
  // cuBLAS gives each handle (ORT: one per session) a workspace pool of its own, outside every
  // allocator: 160 MiB of the H200's memory for CAT's two generation sessions. Their GEMMs have
  // M = batch rows and ran no slower without it (docs/PERFORMANCE.md). A user's own setting wins.
  setenv("CUBLAS_WORKSPACE_CONFIG", ":16:1", 0);
#endif
}

/** CUDA devices visible to this process; 0 without CUDA (no driver, no GPU, or the CPU library). */
JNIEXPORT jint JNICALL BOUND(cudaDeviceCount)(JNIEnv*, jclass) {
#ifdef CATONNX_WITH_CUDA
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return n;
#else
  return 0;
#endif
}

/** Bytes of the device's memory in use by every process (cudaMemGetInfo: total - free); -1 without CUDA. */
JNIEXPORT jlong JNICALL BOUND(deviceMemoryUsed)(JNIEnv* env, jclass, jint device) {
#ifdef CATONNX_WITH_CUDA
  size_t free = 0, total = 0;
  cudaError_t e = cudaSetDevice(device);
  if (e == cudaSuccess) e = cudaMemGetInfo(&free, &total);
  if (e != cudaSuccess) {
    Throw(env, kInferenceException, CudaError("cudaMemGetInfo", e));
    return -1;
  }
  return (jlong)(total - free);
#else
  (void)env;
  (void)device;
  return -1;
#endif
}

/**
 * The device pool's counts: {allocated, peak allocated, reserved} bytes (device_pool.h); with
 * resetPeak, the peak restarts from what is allocated now. Null without CUDA.
 */
JNIEXPORT jlongArray JNICALL BOUND(poolStats)(JNIEnv* env, jclass, jint device, jboolean resetPeak) {
#ifdef CATONNX_WITH_CUDA
  catonnx::DevicePool* pool = PoolOrThrow(env, device, false);
  if (!pool) return nullptr;
  const catonnx::PoolStats st = pool->Stats();
  if (resetPeak) pool->ResetPeak();
  const jlong v[3] = {st.allocated, st.peak_allocated, st.reserved};
  jlongArray out = env->NewLongArray(3);
  if (out) env->SetLongArrayRegion(out, 0, 3, v);
  return out;
#else
  (void)env;
  (void)device;
  (void)resetPeak;
  return nullptr;
#endif
}

/** A zero-filled buffer of bytes; device < 0: host memory. */
JNIEXPORT jlong JNICALL BOUND(allocate)(JNIEnv* env, jclass, jint device, jlong bytes) {
  const size_t n = std::max<size_t>((size_t)bytes, 1);
  if (device < 0) {
    const size_t rounded = (n + kHostAlign - 1) / kHostAlign * kHostAlign;  // aligned_alloc wants a multiple
    void* p = std::aligned_alloc(kHostAlign, rounded);
    if (!p) {
      Throw(env, "java/lang/OutOfMemoryError", "cannot allocate " + std::to_string(bytes) + " bytes of host memory");
      return 0;
    }
    std::memset(p, 0, rounded);
    return reinterpret_cast<jlong>(p);
  }
#ifdef CATONNX_WITH_CUDA
  catonnx::DevicePool* pool = PoolOrThrow(env, device, false);
  if (!pool) return 0;
  std::string err;
  void* p = pool->Alloc(n, false, &err);  // counted with ORT's allocations, never cached
  if (!p) {
    Throw(env, kInferenceException, err + " (a buffer of " + std::to_string(bytes) + " bytes on device " + std::to_string(device) + ")");
    return 0;
  }
  cudaStream_t stream = nullptr;
  if (!StreamOrThrow(env, device, &stream)) {
    pool->Free(p);
    return 0;
  }
  cudaError_t e = cudaMemsetAsync(p, 0, n, stream);
  if (e == cudaSuccess) e = cudaStreamSynchronize(stream);
  if (e != cudaSuccess) {
    Throw(env, kInferenceException, CudaError("cudaMemset", e));
    pool->Free(p);
    return 0;
  }
  return reinterpret_cast<jlong>(p);
#else
  Throw(env, kIllegalState, kNoCuda);
  return 0;
#endif
}

JNIEXPORT void JNICALL BOUND(free)(JNIEnv* env, jclass, jint device, jlong ptr) {
  if (device < 0) {
    std::free(AsPtr(ptr));
    return;
  }
#ifdef CATONNX_WITH_CUDA
  catonnx::DevicePool* pool = PoolOrThrow(env, device, false);
  if (!pool) return;
  const cudaError_t e = pool->Free(AsPtr(ptr));
  if (e != cudaSuccess) Throw(env, kInferenceException, CudaError("cudaFree", e));
#else
  Throw(env, kIllegalState, kNoCuda);
#endif
}

/** Java primitive array (any element type; bytes from arrayOffset) -> buffer at offset. */
JNIEXPORT void JNICALL BOUND(write)(JNIEnv* env, jclass, jint device, jlong ptr, jlong offset, jarray src, jlong arrayOffset, jlong bytes) {
  void* a = env->GetPrimitiveArrayCritical(src, nullptr);
  if (!a) return;
  const std::string err = Transfer(device, AsPtr(ptr) + offset, static_cast<char*>(a) + arrayOffset, (size_t)bytes, Dir::kIn);
  env->ReleasePrimitiveArrayCritical(src, a, JNI_ABORT);  // nothing to copy back
  if (!err.empty()) Throw(env, kInferenceException, err);
}

/** Buffer at offset -> Java primitive array (bytes from arrayOffset). */
JNIEXPORT void JNICALL BOUND(read)(JNIEnv* env, jclass, jint device, jlong ptr, jlong offset, jarray dst, jlong arrayOffset, jlong bytes) {
  void* a = env->GetPrimitiveArrayCritical(dst, nullptr);
  if (!a) return;
  const std::string err = Transfer(device, static_cast<char*>(a) + arrayOffset, AsPtr(ptr) + offset, (size_t)bytes, Dir::kOut);
  env->ReleasePrimitiveArrayCritical(dst, a, 0);
  if (!err.empty()) Throw(env, kInferenceException, err);
}

JNIEXPORT void JNICALL BOUND(copy)(JNIEnv* env, jclass, jint device, jlong dst, jlong dstOffset, jlong src, jlong srcOffset, jlong bytes) {
  const std::string err = Transfer(device, AsPtr(dst) + dstOffset, AsPtr(src) + srcOffset, (size_t)bytes, Dir::kWithin);
  if (!err.empty()) Throw(env, kInferenceException, err);
}

/** Opens a session (graph optimization ALL) and its binding; device < 0: CPU provider. Returns the handle. */
JNIEXPORT jlong JNICALL BOUND(openSession)(JNIEnv* env, jclass, jstring model, jint device, jboolean cudaGraph, jboolean tf32,
                         jlong gpuMemLimit, jint intraOpThreads, jobjectArray customOpLibraries, jboolean devicePool) {
  auto s = std::make_unique<Session>();
  if (!Ok(env, g_ort->CreateSessionOptions(&s->options), "CreateSessionOptions")) return 0;
  if (!Ok(env, g_ort->SetSessionGraphOptimizationLevel(s->options, ORT_ENABLE_ALL), "SetSessionGraphOptimizationLevel"))
    return 0;
  if (intraOpThreads > 0 && !Ok(env, g_ort->SetIntraOpNumThreads(s->options, intraOpThreads), "SetIntraOpNumThreads"))
    return 0;
  const jsize libs = env->GetArrayLength(customOpLibraries);
  for (jsize i = 0; i < libs; i++) {
    jstring lib = static_cast<jstring>(env->GetObjectArrayElement(customOpLibraries, i));
    Utf path(env, lib);
    if (!path.c) return 0;
    if (!Ok(env, g_ort->RegisterCustomOpsLibrary_V2(s->options, path.c), std::string("cannot register custom op library ") + path.c))
      return 0;
  }
  if (device >= 0 && !AppendCuda(env, s->options, device, cudaGraph, tf32, gpuMemLimit)) return 0;
  s->device = device;
  s->rebind_inputs = device >= 0 && !cudaGraph;
#ifdef CATONNX_WITH_CUDA
  if (device >= 0 && devicePool) {
    catonnx::DevicePool* pool = PoolOrThrow(env, device, true);
    if (!pool) return 0;
    if (!Ok(env, g_ort->AddSessionConfigEntry(s->options, "session.use_env_allocators", "1"), "AddSessionConfigEntry")) return 0;
    s->pool = pool;  // from here on, even a failed open gives its cached blocks back (~Session)
  }
  PoolTag tag(reinterpret_cast<int64_t>(s.get()));
#else
  (void)devicePool;
#endif
  {
    Utf path(env, model);
    if (!path.c) return 0;
    if (!Ok(env, g_ort->CreateSession(g_env, path.c, s->options, &s->session), std::string("cannot load model ") + path.c))
      return 0;
  }
  if (!Ok(env, g_ort->CreateIoBinding(s->session, &s->binding), "CreateIoBinding")) return 0;
  if (!Ok(env, g_ort->CreateRunOptions(&s->run_options), "CreateRunOptions")) return 0;
  OrtStatus* st = device < 0 ? g_ort->CreateCpuMemoryInfo(OrtDeviceAllocator, OrtMemTypeDefault, &s->memory)
                             : g_ort->CreateMemoryInfo("Cuda", OrtDeviceAllocator, device, OrtMemTypeDefault, &s->memory);
  if (!Ok(env, st, "CreateMemoryInfo")) return 0;
  return reinterpret_cast<jlong>(s.release());
}

/** The graph's input (or output) names, in order. */
JNIEXPORT jobjectArray JNICALL BOUND(names)(JNIEnv* env, jclass, jlong handle, jboolean outputs) {
  Session* s = AsSession(handle);
  size_t n = 0;
  OrtAllocator* alloc = nullptr;
  if (!Ok(env, outputs ? g_ort->SessionGetOutputCount(s->session, &n) : g_ort->SessionGetInputCount(s->session, &n),
          "SessionGetCount") ||
      !Ok(env, g_ort->GetAllocatorWithDefaultOptions(&alloc), "GetAllocatorWithDefaultOptions"))
    return nullptr;
  jobjectArray out = env->NewObjectArray((jsize)n, env->FindClass("java/lang/String"), nullptr);
  if (!out) return nullptr;
  for (size_t i = 0; i < n; i++) {
    char* name = nullptr;
    OrtStatus* st = outputs ? g_ort->SessionGetOutputName(s->session, i, alloc, &name)
                            : g_ort->SessionGetInputName(s->session, i, alloc, &name);
    if (!Ok(env, st, "SessionGetName")) return nullptr;
    jstring j = env->NewStringUTF(name);
    if (!Ok(env, g_ort->AllocatorFree(alloc, name), "AllocatorFree") || !j) return nullptr;
    env->SetObjectArrayElement(out, (jsize)i, j);
    env->DeleteLocalRef(j);
  }
  return out;
}

/** Binds a tensor (element type: ONNX code; shape) over bytes at ptr to an input or output name. */
JNIEXPORT void JNICALL BOUND(bind)(JNIEnv* env, jclass, jlong handle, jboolean output, jstring name, jlong ptr, jlong bytes, jint type,
                 jlongArray shape) {
  Session* s = AsSession(handle);
  Utf n(env, name);
  if (!n.c) return;
  std::vector<int64_t> dims(env->GetArrayLength(shape));
  env->GetLongArrayRegion(shape, 0, (jsize)dims.size(), reinterpret_cast<jlong*>(dims.data()));
  OrtValue* v = nullptr;
  if (!Ok(env, g_ort->CreateTensorWithDataAsOrtValue(s->memory, AsPtr(ptr), (size_t)bytes, dims.data(), dims.size(),
                                                     static_cast<ONNXTensorElementDataType>(type), &v),
          "CreateTensorWithDataAsOrtValue"))
    return;
  const std::string what = std::string(output ? "BindOutput " : "BindInput ") + n.c;
  if (!Ok(env, output ? g_ort->BindOutput(s->binding, n.c, v) : g_ort->BindInput(s->binding, n.c, v), what)) {
    g_ort->ReleaseValue(v);
    return;
  }
  OrtValue*& slot = (output ? s->outputs : s->inputs)[n.c];
  if (slot) g_ort->ReleaseValue(slot);
  slot = v;
}

JNIEXPORT void JNICALL BOUND(run)(JNIEnv* env, jclass, jlong handle) {
  Session* s = AsSession(handle);
  // ORT copies an input at bind time when the graph consumes it on another device than the
  // buffer's (a CUDA session with some nodes on the CPU); binding again makes such a copy see
  // writes since. A CUDA-graph session has every node on the device and a CPU session every
  // buffer on the host: both are bound by address and skip this per-run cost.
  if (s->rebind_inputs) {
#ifdef CATONNX_WITH_CUDA
    // the copy ORT makes here is not ordered after copies still queued on our stream
    cudaStream_t stream = nullptr;
    if (!StreamOrThrow(env, s->device, &stream)) return;
    const cudaError_t e = cudaStreamSynchronize(stream);
    if (e != cudaSuccess) {
      Throw(env, kInferenceException, CudaError("cudaStreamSynchronize", e));
      return;
    }
#endif
    for (auto& kv : s->inputs)
      if (!Ok(env, g_ort->BindInput(s->binding, kv.first.c_str(), kv.second), "BindInput " + kv.first)) return;
  }
#ifdef CATONNX_WITH_CUDA
  PoolTag tag(handle);
#endif
  Ok(env, g_ort->RunWithBinding(s->session, s->run_options, s->binding), "Run");
}

JNIEXPORT void JNICALL BOUND(closeSession)(JNIEnv*, jclass, jlong handle) { delete AsSession(handle); }

}  // extern "C"
