// The device allocator of bound CUDA sessions (bound_session.cc, CUDA library only): one pool per
// device, registered with ONNX Runtime's environment and used by sessions opened with
// session.use_env_allocators, instead of one BFC arena per session.
//
// Why: it counts what PyTorch's torch.cuda.max_memory_allocated counts (the reference's benchmark
// metric): bytes handed out right now and at peak, ONNX Runtime's (weights, activations,
// workspaces) and our own buffers alike; and what it holds from the driver (reserved). The CUDA
// context, loaded kernels and library handles are outside any allocator, in both frameworks.
//
// Blocks freed by a session are cached for the same session only (tagged by the session that is
// running or opening on this thread). A CUDA-graph session replays kernels over the addresses its
// capture run allocated, without asking the allocator again: another session must never be given
// them for data that outlives its own run. Our own buffers bypass the cache; so do ORT's Reserve
// calls. Exact sizes suffice for a cache: fixed-shape step graphs ask for the same sizes every run.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace catonnx {

/** Bytes counted by a DevicePool. */
struct PoolStats {
  int64_t allocated = 0;       // handed out now
  int64_t peak_allocated = 0;  // most handed out at once since the last ResetPeak
  int64_t reserved = 0;        // held from the driver (allocated + cached)
};

class DevicePool {
 public:
  explicit DevicePool(int device) : device_(device) {}

  /** The tag of the session running or opening on this thread (0: none). */
  static int64_t& CurrentTag() {
    static thread_local int64_t tag = 0;
    return tag;
  }

  /** n bytes (256-byte aligned, as cudaMalloc); cached: may reuse a block the current session freed. */
  void* Alloc(size_t n, bool cached, std::string* err) {
    const size_t size = Round(n);
    std::lock_guard<std::mutex> guard(lock_);
    // a block allocated off a session's thread (tag 0) is not cached: nobody knows its owner
    const int64_t tag = cached && CurrentTag() != 0 ? CurrentTag() : kUncached;
    if (tag != kUncached) {
      auto it = free_.find({tag, size});
      if (it != free_.end()) {
        void* p = it->second;
        free_.erase(it);
        Take(p, size, tag);
        return p;
      }
    }
    // On failure no cached block is given back to retry: a live CUDA-graph session may replay over it.
    void* p = nullptr;
    cudaError_t e = cudaSetDevice(device_);
    if (e == cudaSuccess) e = cudaMalloc(&p, size);
    if (e != cudaSuccess) {
      cudaGetLastError();
      if (err) *err = std::string("cudaMalloc of ") + std::to_string(size) + " bytes: " + cudaGetErrorString(e);
      return nullptr;
    }
    stats_.reserved += (int64_t)size;
    Take(p, size, tag);
    if (Log()) std::fprintf(stderr, "[device-pool] cudaMalloc %zu bytes (%s, tag %lld): allocated %lld, reserved %lld\n", size,
                            tag == kUncached ? "uncached" : "cached", (long long)tag, (long long)stats_.allocated,
                            (long long)stats_.reserved);
    return p;
  }

  /** Returns p: to its session's cache, or to the driver when it bypassed the cache. */
  cudaError_t Free(void* p) {
    if (!p) return cudaSuccess;
    std::lock_guard<std::mutex> guard(lock_);
    auto it = live_.find(p);
    if (it == live_.end()) return cudaErrorInvalidDevicePointer;
    const auto [size, tag] = it->second;
    live_.erase(it);
    stats_.allocated -= (int64_t)size;
    if (tag != kUncached) {
      free_.emplace(std::make_pair(tag, size), p);
      return cudaSuccess;
    }
    stats_.reserved -= (int64_t)size;
    cudaSetDevice(device_);
    return cudaFree(p);
  }

  /** Gives the cached blocks of one session (tag), once it is gone, back to the driver. */
  void Trim(int64_t tag) {
    std::lock_guard<std::mutex> guard(lock_);
    cudaSetDevice(device_);
    for (auto it = free_.lower_bound({tag, 0}); it != free_.end() && it->first.first == tag;) {
      cudaFree(it->second);
      stats_.reserved -= (int64_t)it->first.second;
      it = free_.erase(it);
    }
  }

  PoolStats Stats() {
    std::lock_guard<std::mutex> guard(lock_);
    return stats_;
  }

  void ResetPeak() {
    std::lock_guard<std::mutex> guard(lock_);
    stats_.peak_allocated = stats_.allocated;
  }

 private:
  static constexpr int64_t kUncached = -1;

  static bool Log() {  // CATONNX_DEVICE_POOL_LOG=1: one stderr line per block taken from the driver
    static const bool on = [] { const char* v = std::getenv("CATONNX_DEVICE_POOL_LOG"); return v && *v == '1'; }();
    return on;
  }

  static size_t Round(size_t n) { return ((n == 0 ? 1 : n) + 255) / 256 * 256; }

  void Take(void* p, size_t size, int64_t tag) {
    live_[p] = {size, tag};
    stats_.allocated += (int64_t)size;
    if (stats_.allocated > stats_.peak_allocated) stats_.peak_allocated = stats_.allocated;
  }

  const int device_;
  std::mutex lock_;
  std::multimap<std::pair<int64_t, size_t>, void*> free_;       // (tag, size) -> cached block
  std::unordered_map<void*, std::pair<size_t, int64_t>> live_;  // block -> (size, tag)
  PoolStats stats_;
};

}  // namespace catonnx
