// Standalone check and benchmark of the CatAttention CUDA kernels (runtime/src/main/native/
// cat_attention_kernels.cuh), without ONNX Runtime. Build and run: run-kernel-bench.sh next to it.
//
//   cat_attention_bench check [-q] [-n] [kernel=all|mma|wgmma] [types=bf16,fp16] [hds=..] [chunks=..] [maxn=N]
//                                        tensor-core kernels (float16 and bfloat16: mma.sync with
//                                        both block_q, wgmma with both BK when the device runs the
//                                        sm_90a image) vs the scalar kernel in float32 on the same
//                                        rounded inputs; exit status 1 on any failure, which prints
//                                        the first mismatching element (-q: print failing cases and
//                                        the summary only; kernel=: only those tensor-core kernels;
//                                        types= hds= chunks= maxn=: only the cases that match, e.g.
//                                        a subset small enough for compute-sanitizer racecheck;
//                                        -n: list the selected cases and exit, no GPU needed)
//   cat_attention_bench bench [kernel=both|mma|wgmma] [bq=64|128] [wbk=32|64] [scalar=0] [L=2048,8192]
//                             [chunks=4,8,16,32] [batches=8,64] [hds=64,128]
//                                        bfloat16 timings, a markdown table (both: mma.sync and
//                                        wgmma side by side; wgmma with BK wbk, default the library's)
//   cat_attention_bench compare [L=..] [chunks=..] [batches=..] [hds=..]
//                                        (built with -DCAT_WG_BASE by run-kernel-bench.sh compare) the
//                                        wgmma kernel vs another revision's, alternating launches
#include "cat_attention_kernels.cuh"
#ifdef CAT_WG_BASE
#include "cat_attention_wgmma_base.cuh"   // compare: another revision's wgmma kernel, in namespace wgbase
#endif

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

using namespace catonnx::gpu;

#define CUDA_CHECK(expr)                                                                     \
  do {                                                                                       \
    cudaError_t _e = (expr);                                                                 \
    if (_e != cudaSuccess) {                                                                 \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #expr, cudaGetErrorString(_e)); \
      std::exit(2);                                                                          \
    }                                                                                        \
  } while (0)

namespace {

// ---------------------------------------------------------------- device helpers
__device__ __forceinline__ uint64_t Mix(uint64_t x) {  // splitmix64 finaliser
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

template <typename T> __device__ __forceinline__ T FromFloat(float x);
template <> __device__ __forceinline__ __nv_bfloat16 FromFloat<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }
template <> __device__ __forceinline__ __half FromFloat<__half>(float x) { return __float2half_rn(x); }
__device__ __forceinline__ float ToFloat(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float ToFloat(__half x) { return __half2float(x); }
__device__ __forceinline__ float ToFloat(float x) { return x; }
float HostFloat(__nv_bfloat16 x) { return __bfloat162float(x); }
float HostFloat(__half x) { return __half2float(x); }
float HostFloat(float x) { return x; }

// typed[i] = round(uniform(lo, hi)) (deterministic in seed, i); f32[i] = the rounded value (optional)
template <typename T>
__global__ void FillRandom(T* typed, float* f32, size_t n, uint64_t seed, float lo, float hi) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    const float u = (float)(Mix(seed * 0x100000001b3ull + i) >> 40) * (1.0f / 16777216.0f);  // [0, 1)
    const T t = FromFloat<T>(lo + (hi - lo) * u);
    typed[i] = t;
    if (f32) f32[i] = ToFloat(t);
  }
}

// k[., i, :] *= 1 + ramp * i / N in every head (rounded again; f32 follows): keys that grow along the
// sequence, so later key tiles score far above earlier ones (the wgmma kernel's Rebase paths)
template <typename T>
__global__ void RampRows(T* typed, float* f32, size_t n, int N, int hd, float ramp) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    const int pos = (int)(i / hd % N);
    const T t = FromFloat<T>(ToFloat(typed[i]) * (1.f + ramp * pos / N));
    typed[i] = t;
    f32[i] = ToFloat(t);
  }
}

struct DevStats {
  unsigned err, mag, bad;   // max |a - ref| (float bits), max |ref| (float bits), non-finite count in a
  unsigned long long first; // lowest index whose a is non-finite or off ref by more than tol (~0: none)
};

template <typename T, typename R>
__global__ void Compare(const T* a, const R* ref, size_t n, float tol, DevStats* stats) {
  unsigned err = 0, mag = 0, bad = 0;
  unsigned long long first = ~0ull;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    const float x = ToFloat(a[i]);
    const float r = ToFloat(ref[i]);
    if (!isfinite(x) || fabsf(x - r) > tol) first = min(first, (unsigned long long)i);
    if (!isfinite(x)) { bad++; continue; }
    err = max(err, __float_as_uint(fabsf(x - r)));  // non-negative floats order like their bits
    mag = max(mag, __float_as_uint(fabsf(r)));
  }
  atomicMax(&stats->err, err);
  atomicMax(&stats->mag, mag);
  if (bad) atomicAdd(&stats->bad, bad);
  if (first != ~0ull) atomicMin(&stats->first, first);
}

struct Stats {
  float max_err, max_ref;
  unsigned nonfinite;
  size_t first;             // SIZE_MAX: no element beyond tol
  float first_got, first_want;
};

template <typename T, typename R>
Stats CompareOnDevice(const T* a, const R* ref, size_t n, DevStats* d_stats, float tol = INFINITY) {
  DevStats h = {0u, 0u, 0u, ~0ull};
  CUDA_CHECK(cudaMemcpy(d_stats, &h, sizeof h, cudaMemcpyHostToDevice));
  Compare<T, R><<<1024, 256>>>(a, ref, n, tol, d_stats);
  CUDA_CHECK(cudaGetLastError());
  CUDA_CHECK(cudaMemcpy(&h, d_stats, sizeof h, cudaMemcpyDeviceToHost));
  Stats s;
  std::memcpy(&s.max_err, &h.err, 4);
  std::memcpy(&s.max_ref, &h.mag, 4);
  s.nonfinite = h.bad;
  s.first = h.first == ~0ull ? SIZE_MAX : (size_t)h.first;
  s.first_got = s.first_want = 0.f;
  if (s.first != SIZE_MAX) {
    T x; R r;
    CUDA_CHECK(cudaMemcpy(&x, a + s.first, sizeof x, cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaMemcpy(&r, ref + s.first, sizeof r, cudaMemcpyDeviceToHost));
    s.first_got = HostFloat(x);
    s.first_want = HostFloat(r);
  }
  return s;
}

template <typename T>
void Fill(T* typed, float* f32, size_t n, uint64_t seed, float lo, float hi) {
  FillRandom<T><<<2048, 256>>>(typed, f32, n, seed, lo, hi);
  CUDA_CHECK(cudaGetLastError());
}

enum Kernel : int { kMma, kWgmma };  // the tensor-core kernels: mma.sync, wgmma

const char* KernelName(Kernel k) { return k == kMma ? "mma" : "wgmma"; }

/** kernel=: all or both (mma and wgmma), mma, or wgmma; false on anything else. */
bool ParseKernels(const std::string& spec, std::vector<Kernel>& out) {
  if (spec == "all" || spec == "both") out = {kMma, kWgmma};
  else if (spec == "mma") out = {kMma};
  else if (spec == "wgmma") out = {kWgmma};
  else return false;
  return true;
}

bool HasMma(const std::vector<Kernel>& kernels) {
  return std::find(kernels.begin(), kernels.end(), kMma) != kernels.end();
}

/** LaunchWgmma with BK chosen at run time (32 or 64; 0: the library's choice, WgmmaKeyTile). */
cudaError_t LaunchWgmmaBk(const Problem& p, cudaStream_t stream, int bk) {
  if (bk == 0) return LaunchWgmmaAuto(p, stream);
  return bk == 32 ? LaunchWgmma<32>(p, stream) : LaunchWgmma<64>(p, stream);
}

const char* TypeName(DType t) { return t == DType::kFloat32 ? "f32" : t == DType::kFloat16 ? "fp16" : "bf16"; }

/** Number of allowed (query, key) pairs of one head: query i sees the i / S earlier block starts and
 *  its own block's keys up to itself (i % S + 1). */
int64_t AllowedPairs(int64_t N, int64_t S) {
  int64_t n = 0;
  for (int64_t i = 0; i < N; i++) n += i / S + i % S + 1;
  return n;
}

// ================================================================ check
struct Buffers {  // sized for the largest check case, reused
  void *q = nullptr, *k = nullptr, *v = nullptr, *y = nullptr;  // 16-bit element type
  float *qf = nullptr, *kf = nullptr, *vf = nullptr, *yf = nullptr;
  DevStats* stats = nullptr;
};

struct CheckCase {
  DType type;
  int chunk, S, hd, H, Hkv, B, N;
  float scale;
  const char* note;
  float kramp = 0.f;   // RampRows on k
};

// A case's type and shape, as check prints it
std::string CaseLabel(const CheckCase& c) {
  char blk[32], label[192];
  if (c.chunk > 0) std::snprintf(blk, sizeof blk, "chunk %d+%d", c.chunk, c.S - c.chunk);
  else std::snprintf(blk, sizeof blk, "-");
  std::snprintf(label, sizeof label, "%-4s S=%-4d %-11s hd=%-3d H=%d/Hkv=%d B=%d N=%-5d scale=%-7.4g", TypeName(c.type), c.S,
                blk, c.hd, c.H, c.Hkv, c.B, c.N, c.scale);
  return label;
}

bool g_quiet = false;          // check -q: print failing cases only
bool g_list_only = false;      // check -n: list the selected cases, run nothing

// check's case selection (types=, hds=, chunks=, maxn=): empty lists select everything
struct CaseFilter {
  std::vector<DType> types;
  std::vector<int> hds, chunks;
  int max_n = INT_MAX;
  bool Keeps(DType type, int chunk, int hd, int N) const {
    auto has = [](const auto& list, auto x) { return list.empty() || std::find(list.begin(), list.end(), x) != list.end(); };
    return has(types, type) && has(hds, hd) && has(chunks, chunk) && N <= max_n;
  }
};
CaseFilter g_filter;
std::vector<Kernel> g_kernels;  // check kernel=: the tensor-core kernels checked (wgmma: both BK)

template <typename T>
bool RunCheckCase(const CheckCase& c, const Buffers& buf, uint64_t seed, float tol, float& worst) {
  const size_t nq = (size_t)c.B * c.H * c.N * c.hd, nkv = (size_t)c.B * c.Hkv * c.N * c.hd;
  T* q = static_cast<T*>(buf.q); T* k = static_cast<T*>(buf.k); T* v = static_cast<T*>(buf.v); T* y = static_cast<T*>(buf.y);
  Fill(q, buf.qf, nq, seed * 4 + 0, -2.f, 2.f);   // |q| up to 2: softmaxes from flat to peaked
  Fill(k, buf.kf, nkv, seed * 4 + 1, -1.f, 1.f);
  Fill(v, buf.vf, nkv, seed * 4 + 2, -1.f, 1.f);
  if (c.kramp > 0.f) {
    RampRows<T><<<2048, 256>>>(k, buf.kf, nkv, c.N, c.hd, c.kramp);
    CUDA_CHECK(cudaGetLastError());
  }

  Problem ref;  // float32 scalar kernel on the rounded inputs
  ref.B = c.B; ref.H = c.H; ref.Hkv = c.Hkv; ref.N = c.N; ref.hd = c.hd; ref.S = c.S; ref.scale = c.scale;
  ref.type = DType::kFloat32; ref.q = buf.qf; ref.k = buf.kf; ref.v = buf.vf; ref.y = buf.yf;
  CUDA_CHECK(LaunchCatAttention(ref, 0, /*force_scalar=*/true));

  Problem p = ref;
  p.type = std::is_same<T, __half>::value ? DType::kFloat16 : DType::kBFloat16;
  p.q = q; p.k = k; p.v = v; p.y = y;
  const bool tc = UsesTensorCores(p), wgmma = UsesWgmma(p);
  // the kernels checked: each tensor-core kernel g_kernels selects, else the path LaunchCatAttention picks
  struct Variant { const char* name; std::function<cudaError_t()> launch; };
  std::vector<Variant> variants;
  for (Kernel kernel : g_kernels) {
    if (kernel == kMma && tc) {
      variants.push_back({"mma bq=128", [&] { return LaunchTensorCore(p, 0, 128); }});
      variants.push_back({"mma bq=64", [&] { return LaunchTensorCore(p, 0, 64); }});
    } else if (kernel == kWgmma && wgmma) {
      variants.push_back({"wgmma bk=64", [&] { return LaunchWgmma<64>(p, 0); }});
      variants.push_back({"wgmma bk=32", [&] { return LaunchWgmma<32>(p, 0); }});
    }
  }
  if (!tc) variants.push_back({"scalar", [&] { return LaunchCatAttention(p, 0, false); }});
  char part[256];
  std::snprintf(part, sizeof part, " %-8s", ChosenKernel(p));  // as LaunchCatAttention picks
  std::string line = CaseLabel(c) + part, failures;
  bool ok = true;
  float max_ref = 0.f;
  for (const Variant& var : variants) {
    CUDA_CHECK(cudaMemset(y, 0xff, nq * sizeof(T)));  // 0xffff is NaN in fp16 and bf16: unwritten outputs fail
    CUDA_CHECK(var.launch());
    CUDA_CHECK(cudaDeviceSynchronize());
    const Stats s = CompareOnDevice(y, buf.yf, nq, buf.stats, tol);
    const bool var_ok = s.nonfinite == 0 && s.max_err <= tol;
    ok = ok && var_ok;
    worst = std::max(worst, s.nonfinite ? INFINITY : s.max_err);
    max_ref = s.max_ref;
    std::snprintf(part, sizeof part, "  %s: %.2e", var.name, s.max_err);
    line += part;
    if (s.nonfinite) { std::snprintf(part, sizeof part, " [%u non-finite]", s.nonfinite); line += part; }
    if (!var_ok && s.first != SIZE_MAX) {  // y index -> [b, h, i, d]
      const size_t d = s.first % c.hd, i = s.first / c.hd % c.N, h = s.first / ((size_t)c.hd * c.N) % c.H,
                   b = s.first / ((size_t)c.hd * c.N * c.H);
      std::snprintf(part, sizeof part, "\n    %s: first mismatch y[b=%zu, h=%zu, i=%zu, d=%zu] = %.6g, want %.6g (|d| %.2e)",
                    var.name, b, h, i, d, s.first_got, s.first_want, std::fabs(s.first_got - s.first_want));
      failures += part;
    }
  }
  std::snprintf(part, sizeof part, "  |ref|max=%.2f  tol=%.0e %s%s%s", max_ref, tol, ok ? "ok" : "FAIL",
                c.note ? "  " : "", c.note ? c.note : "");
  line += part;
  line += failures;
  if (!g_quiet || !ok) std::printf("%s\n", line.c_str());
  return ok;
}

int Check() {
  std::vector<CheckCase> cases;
  const int chunks[] = {1, 2, 4, 8, 16, 32};
  // N: 1 and 7 (one partial tile), 256 (whole query tiles), 37 * S (whole blocks), others neither
  for (DType t : {DType::kBFloat16, DType::kFloat16})
    for (int chunk : chunks)
      for (int S : {chunk + 1, chunk + 2})
        for (int hd : {64, 128})
          for (int gqa = 1; gqa >= 0; gqa--)
            for (int B : {1, 3})
              for (int N : {1, 7, 100, 256, 37 * S, 1000, 4133})
                cases.push_back({t, chunk, S, hd, gqa ? 8 : 3, gqa ? 2 : 3, B, N, 1.f / std::sqrt((float)hd), nullptr});
  // special cases: negative scale (sign folded into Q), a large scale (peaked softmax), block_len 1
  // (plain causal) and block_len > N, then head dims the tensor-core kernel does not take (scalar fallback)
  for (DType t : {DType::kBFloat16, DType::kFloat16}) {
    cases.push_back({t, 4, 5, 64, 8, 2, 2, 300, -0.125f, "negative scale"});
    cases.push_back({t, 4, 5, 128, 8, 2, 2, 300, -0.0884f, "negative scale"});
    cases.push_back({t, 8, 9, 128, 4, 4, 2, 777, 1.0f, "large scale"});
    cases.push_back({t, 8, 9, 64, 4, 4, 2, 777, 1.0f, "large scale"});
    // keys growing 2x / 31x along the sequence: P passes 2^8 / overflows against earlier tiles' max
    for (int hd : {64, 128})
      for (int chunk : {4, 16}) {
        cases.push_back({t, chunk, chunk + 1, hd, 4, 2, 2, 3000, 0.5f, "rising keys", 1.f});
        cases.push_back({t, chunk, chunk + 1, hd, 4, 2, 2, 3000, 1.0f, "steeply rising keys", 30.f});
      }
    cases.push_back({t, 0, 1, 64, 4, 2, 2, 1000, 0.125f, "block_len 1 (causal)"});
    cases.push_back({t, 0, 5000, 128, 4, 2, 2, 1000, 0.0884f, "block_len > N"});
    cases.push_back({t, 4, 5, 96, 4, 2, 2, 500, 0.102f, "hd 96: scalar fallback"});
    cases.push_back({t, 4, 5, 64, 4, 2, 2, 500, 0.0f, "scale 0: scalar fallback"});
  }

  const size_t all_cases = cases.size();
  cases.erase(std::remove_if(cases.begin(), cases.end(),
                             [](const CheckCase& c) { return !g_filter.Keeps(c.type, c.chunk, c.hd, c.N); }),
              cases.end());
  if (cases.empty()) { std::fprintf(stderr, "check: no case matches the selection (of %zu)\n", all_cases); return 2; }
  if (g_list_only) {
    for (const CheckCase& c : cases) std::printf("%s  %s\n", CaseLabel(c).c_str(), c.note ? c.note : "");
    std::printf("%zu of %zu cases selected\n", cases.size(), all_cases);
    return 0;
  }

  size_t max_q = 0, max_kv = 0;
  for (const CheckCase& c : cases) {
    max_q = std::max(max_q, (size_t)c.B * c.H * c.N * c.hd);
    max_kv = std::max(max_kv, (size_t)c.B * c.Hkv * c.N * c.hd);
  }
  Buffers buf;
  CUDA_CHECK(cudaMalloc(&buf.q, max_q * 2)); CUDA_CHECK(cudaMalloc(&buf.y, max_q * 2));
  CUDA_CHECK(cudaMalloc(&buf.k, max_kv * 2)); CUDA_CHECK(cudaMalloc(&buf.v, max_kv * 2));
  CUDA_CHECK(cudaMalloc(&buf.qf, max_q * 4)); CUDA_CHECK(cudaMalloc(&buf.yf, max_q * 4));
  CUDA_CHECK(cudaMalloc(&buf.kf, max_kv * 4)); CUDA_CHECK(cudaMalloc(&buf.vf, max_kv * 4));
  CUDA_CHECK(cudaMalloc(&buf.stats, sizeof(DevStats)));

  const bool have_wgmma = wg::Available();
  if (!HasMma(g_kernels) && !have_wgmma) {
    std::fprintf(stderr, "kernel=wgmma: this device does not run the binary's sm_90a image, which the wgmma kernel needs\n"
                         "(compute capability 9.0 and a build with -gencode arch=compute_90a,code=sm_90a)\n");
    return 1;
  }
  std::printf("# CatAttention kernel check: tensor-core kernels (fp16/bf16 in, fp16/bf16 out) vs the scalar kernel\n"
              "# in float32 on the same rounded inputs. q ~ U(-2, 2), k, v ~ U(-1, 1), fixed seeds; err = max |y - y_ref|\n"
              "# over all outputs (outputs are O(1): |ref|max); mma.sync with both block_q (128 = 8 warps, 64 = 4 warps),\n"
              "# wgmma with each key tile (bk = 32, 64)%s.\n"
              "# Tolerances: bf16 2e-2, fp16 2e-3 (a few units in the last place of outputs near 1).\n"
              "# 'chunk c+1': S = c + 1 (a chunk and its compressed token); 'chunk c+2': S = c + 2 (adaptive).\n"
              "# path = the kernel LaunchCatAttention picks; scalar-path rows check the fallback in that type.\n\n",
              have_wgmma ? "" : " [not on this device: no sm_90a image loaded]");
  int failed = 0;
  float worst[2] = {0.f, 0.f};
  for (size_t i = 0; i < cases.size(); i++) {
    const CheckCase& c = cases[i];
    const bool bf = c.type == DType::kBFloat16;
    const bool ok = bf ? RunCheckCase<__nv_bfloat16>(c, buf, 1000 + i, 2e-2f, worst[0])
                       : RunCheckCase<__half>(c, buf, 1000 + i, 2e-3f, worst[1]);
    failed += ok ? 0 : 1;
  }
  std::printf("\n%zu cases%s, %d failed; largest error bf16 %.2e (tol 2e-2), fp16 %.2e (tol 2e-3): %s\n",
              cases.size(), cases.size() < all_cases ? " (a selection)" : "", failed, worst[0], worst[1], failed ? "FAIL" : "PASS");
  return failed ? 1 : 0;
}

// ================================================================ bench
template <typename F>
double MedianMs(F&& launch) {
  cudaEvent_t a, b;
  CUDA_CHECK(cudaEventCreate(&a)); CUDA_CHECK(cudaEventCreate(&b));
  for (int w = 0; w < 2; w++) CUDA_CHECK(launch());  // warm-ups
  CUDA_CHECK(cudaDeviceSynchronize());
  std::vector<float> ms;
  float total = 0.f;
  while (total < 50.f) {
    CUDA_CHECK(cudaEventRecord(a));
    CUDA_CHECK(launch());
    CUDA_CHECK(cudaEventRecord(b));
    CUDA_CHECK(cudaEventSynchronize(b));
    float t = 0.f;
    CUDA_CHECK(cudaEventElapsedTime(&t, a, b));
    ms.push_back(t);
    total += t;
  }
  CUDA_CHECK(cudaEventDestroy(a)); CUDA_CHECK(cudaEventDestroy(b));
  std::sort(ms.begin(), ms.end());
  return ms.size() % 2 ? ms[ms.size() / 2] : 0.5 * (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]);
}

template <typename K>
void PrintKernelInfo(const char* name, K kernel, int threads, int smem) {
  cudaFuncAttributes fa;
  CUDA_CHECK(cudaFuncGetAttributes(&fa, kernel));
  if (smem > 48 * 1024) CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  int blocks = 0;
  CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, kernel, threads, smem));
  std::printf("  %-34s %3d threads, %3d registers, %6d B smem (%d static + %d dynamic), %zu B local, %d CTA(s) = %2d warps per SM\n",
              name, threads, fa.numRegs, (int)fa.sharedSizeBytes + smem, (int)fa.sharedSizeBytes, smem,
              (size_t)fa.localSizeBytes, blocks, blocks * threads / 32);
}

std::vector<int> g_chunks = {4, 8, 16, 32}, g_batches = {8, 64}, g_hds = {64, 128};   // bench shapes

/** "4,8,16" -> {4, 8, 16} (the bench's list arguments). */
std::vector<int> ParseInts(const char* s) {
  std::vector<int> out;
  while (*s) { out.push_back(std::atoi(s)); s = std::strchr(s, ','); if (!s) break; s++; }
  return out;
}

/** A bench argument naming shapes (L=, chunks=, batches=, hds=): true when a is one. */
bool ParseShapeArg(const std::string& a, std::vector<int>& Ls) {
  if (a.rfind("chunks=", 0) == 0) g_chunks = ParseInts(a.c_str() + 7);
  else if (a.rfind("batches=", 0) == 0) g_batches = ParseInts(a.c_str() + 8);
  else if (a.rfind("hds=", 0) == 0) g_hds = ParseInts(a.c_str() + 4);
  else if (a.rfind("L=", 0) == 0) Ls = ParseInts(a.c_str() + 2);
  else return false;
  return true;
}

/** One bench shape: L tokens in chunks, block_len S = chunk + 1, H = 1536 / hd heads, and its
 *  roofline bound (bytes: q, k, v read and y written once; FLOPs: the allowed pairs only). */
struct BenchShape {
  static constexpr double kCopyBytesPerS = 4.3e12, kMatmulFlopsPerS = 790e12;   // H200, measured ceilings
  int L, chunk, B, hd, S, N, H;
  size_t n;                       // elements of each of q, k, v, y
  double bytes, flops, bound_ms;
  BenchShape(int L_, int chunk_, int B_, int hd_) : L(L_), chunk(chunk_), B(B_), hd(hd_) {
    S = chunk + 1; N = L / chunk * S; H = 1536 / hd;
    n = (size_t)B * H * N * hd;
    bytes = 4.0 * n * 2;
    flops = 4.0 * hd * (double)AllowedPairs(N, S) * B * H;
    bound_ms = std::max(bytes / kCopyBytesPerS, flops / kMatmulFlopsPerS) * 1e3;
  }
  /** The bfloat16 problem of this shape, without tensors (enough for WgmmaKeyTile). */
  Problem Geometry() const {
    Problem p;
    p.B = B; p.H = H; p.Hkv = H; p.N = N; p.hd = hd; p.S = S; p.scale = 1.f / std::sqrt((float)hd);
    p.type = DType::kBFloat16;
    return p;
  }
  /** Fills q, k, v with the bench's inputs (U(-1, 1), fixed seeds); the problem over them (no y). */
  Problem Inputs(__nv_bfloat16* q, __nv_bfloat16* k, __nv_bfloat16* v) const {
    Fill<__nv_bfloat16>(q, nullptr, n, 11, -1.f, 1.f);
    Fill<__nv_bfloat16>(k, nullptr, n, 12, -1.f, 1.f);
    Fill<__nv_bfloat16>(v, nullptr, n, 13, -1.f, 1.f);
    Problem p = Geometry();
    p.q = q; p.k = k; p.v = v;
    return p;
  }
};

int Bench(const std::vector<Kernel>& kernels, int block_q, int wbk, bool run_scalar, const std::vector<int>& Ls) {
  cudaDeviceProp prop;
  int dev = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  CUDA_CHECK(cudaGetDeviceProperties(&prop, dev));
  int clock_khz = 0, mem_khz = 0;
  cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, dev);
  cudaDeviceGetAttribute(&mem_khz, cudaDevAttrMemoryClockRate, dev);
  const bool have_wgmma = wg::Available();
  if (!HasMma(kernels) && !have_wgmma) {
    std::fprintf(stderr, "kernel=wgmma: the wgmma kernel needs the sm_90a image, which this device does not run\n");
    return 1;
  }
  std::vector<Kernel> run;  // the kernels timed
  for (Kernel k : kernels)
    if (k == kMma || have_wgmma) run.push_back(k);
  const size_t nk = run.size();
  std::printf("# CatAttention CUDA kernels, bfloat16\n\n");
  std::printf("Device: %s, %d SMs, %.0f MHz max SM clock, %.1f GiB; CUDA runtime %d; sm_90a image loaded: %s.\n", prop.name,
              prop.multiProcessorCount, clock_khz / 1e3, prop.totalGlobalMem / 1073741824.0, CUDART_VERSION,
              have_wgmma ? "yes" : "no");
  std::printf("Kernels (as compiled; occupancy from the CUDA occupancy calculator):\n");
  PrintKernelInfo("mma.sync, hd 64,  block_q 128", tc::TensorCoreKernel<__nv_bfloat16, 64, 8>, 256, tc::Config<64, 8>::kSmemBytes);
  PrintKernelInfo("mma.sync, hd 64,  block_q 64", tc::TensorCoreKernel<__nv_bfloat16, 64, 4>, 128, tc::Config<64, 4>::kSmemBytes);
  PrintKernelInfo("mma.sync, hd 128, block_q 128", tc::TensorCoreKernel<__nv_bfloat16, 128, 8>, 256, tc::Config<128, 8>::kSmemBytes);
  PrintKernelInfo("mma.sync, hd 128, block_q 64", tc::TensorCoreKernel<__nv_bfloat16, 128, 4>, 128, tc::Config<128, 4>::kSmemBytes);
  if (have_wgmma) {
    PrintKernelInfo("wgmma, hd 64,  bk 64", wg::WgmmaKernel<__nv_bfloat16, 64, 64>, wg::kThreads, wg::Config<64, 64>::kSmemBytes);
    PrintKernelInfo("wgmma, hd 128, bk 64", wg::WgmmaKernel<__nv_bfloat16, 128, 64>, wg::kThreads, wg::Config<128, 64>::kSmemBytes);
    PrintKernelInfo("wgmma, hd 64,  bk 32", wg::WgmmaKernel<__nv_bfloat16, 64, 32>, wg::kThreads, wg::Config<64, 32>::kSmemBytes);
    PrintKernelInfo("wgmma, hd 128, bk 32", wg::WgmmaKernel<__nv_bfloat16, 128, 32>, wg::kThreads, wg::Config<128, 32>::kSmemBytes);
  }
  PrintKernelInfo("scalar (bf16)", scalar::CatAttentionKernel<__nv_bfloat16>, scalar::kWarps * 32, 0);
  std::printf("\nShapes: L tokens in chunks of `chunk`, block_len S = chunk + 1 (a chunk plus its compressed token),\n"
              "N = L / chunk * S positions; heads H = Hkv = 1536 / hd; random inputs U(-1, 1), scale = 1 / sqrt(hd).\n"
              "Times: CUDA events around each launch, 2 warm-ups, then repeated until >= 50 ms in total; the median\n"
              "per call. With the scalar kernel timed too (after the others, at each shape) the wgmma times measured\n"
              "up to 17%% faster than with scalar=0, which times the kernels back to back: the conservative figure.\n"
              "mma.sync kernel with block_q = %d query rows per CTA (%d warps of 16 rows); wgmma kernel with\n"
              "64 query rows per CTA (one warpgroup), 2 or 3 stages (Config::kStages) and %s keys per tile.\n"
              "bytes = 4 * B*H*N*hd * 2 (q, k, v read once, y written once); GB/s = bytes / time.\n"
              "FLOPs = 4 * hd * pairs * B*H, pairs = allowed (query, key) pairs of a head, exactly\n"
              "(sum over i of i / S + i %% S + 1): only useful work is counted, not masked or padded MMA work.\n"
              "Roofline bound = max(bytes / %.3g B/s, FLOPs / %.3g FLOP/s) (H200 HBM3e, dense bf16);\n"
              "x roofline = time / bound (1.0 = at the bound). best, GB/s and TFLOP/s: the fastest kernel.\n"
              "max|d| = max |y - y_ref| (both bf16), y_ref = the scalar kernel's output (or, with scalar=0, the\n"
              "mma.sync kernel's when it runs, else the first kernel's).\n\n",
              block_q, block_q / 16,
              wbk ? (std::string("bk = ") + std::to_string(wbk)).c_str()
                  : "the library's bk (WgmmaKeyTile: 32 at head_dim 128, at 64 when N / S <= 128, else 64)",
              BenchShape::kCopyBytesPerS, BenchShape::kMatmulFlopsPerS);
  std::string head = "| L | chunk | S | N | batch | hd | H |", rule = "|---:|---:|---:|---:|---:|---:|---:|";
  for (Kernel k : run) { head += std::string(" ") + KernelName(k) + " ms |"; rule += "---:|"; }
  head += " best | scalar ms | GB/s | TFLOP/s | roofline ms |";
  rule += "---|---:|---:|---:|---:|";
  for (Kernel k : run) { head += std::string(" x roofline ") + KernelName(k) + " |"; rule += "---:|"; }
  for (Kernel k : run) { head += std::string(" max\\|d\\| ") + KernelName(k) + " |"; rule += "---:|"; }
  std::printf("%s\n%s\n", head.c_str(), rule.c_str());
  DevStats* stats = nullptr;
  CUDA_CHECK(cudaMalloc(&stats, sizeof(DevStats)));
  size_t ref_kernel = 0;  // the reference with scalar=0: mma.sync if it runs, else the first kernel
  for (size_t i = 0; i < run.size(); i++)
    if (run[i] == kMma) { ref_kernel = i; break; }
  int timed = 0;                       // shapes that ran, and per kernel those within 2x of the roofline
  std::vector<int> within(nk, 0);
  for (int L : Ls)
    for (int chunk : g_chunks)
      for (int B : g_batches)
        for (int hd : g_hds) {
          const BenchShape sh(L, chunk, B, hd);
          const int S = sh.S, N = sh.N, H = sh.H;
          const size_t n = sh.n;
          const double bytes = sh.bytes, flops = sh.flops, bound_ms = sh.bound_ms;
          // y[i]: the output of kernel run[i]; y_ref: the scalar kernel's
          __nv_bfloat16 *q = nullptr, *k = nullptr, *v = nullptr, *y_ref = nullptr;
          std::vector<__nv_bfloat16*> y(nk, nullptr);
          const size_t buffers = 3 + nk + run_scalar;
          bool ok = cudaMalloc(&q, n * 2) == cudaSuccess && cudaMalloc(&k, n * 2) == cudaSuccess &&
                    cudaMalloc(&v, n * 2) == cudaSuccess && (!run_scalar || cudaMalloc(&y_ref, n * 2) == cudaSuccess);
          for (size_t i = 0; i < nk && ok; i++) ok = cudaMalloc(&y[i], n * 2) == cudaSuccess;
          std::string line;
          char part[128];
          std::snprintf(part, sizeof part, "| %d | %d | %d | %d | %d | %d | %d |", L, chunk, S, N, B, hd, H);
          line = part;
          if (!ok) {
            cudaGetLastError();
            std::snprintf(part, sizeof part, " skipped: cudaMalloc of %.1f GiB failed |", buffers * n * 2 / 1073741824.0);
            line += part;
          } else {
            Problem p = sh.Inputs(q, k, v);
            std::vector<double> t(nk);
            size_t best = 0;
            for (size_t i = 0; i < nk; i++) {
              Problem pk = p;
              pk.y = y[i];
              t[i] = run[i] == kMma ? MedianMs([&] { return LaunchTensorCore(pk, 0, block_q); })
                                    : MedianMs([&] { return LaunchWgmmaBk(pk, 0, wbk); });
              if (t[i] < t[best]) best = i;
              std::snprintf(part, sizeof part, " %.3f |", t[i]);
              line += part;
            }
            std::string scalar_ms = "-";
            if (run_scalar) {
              Problem ps = p;
              ps.y = y_ref;
              std::snprintf(part, sizeof part, "%.3f", MedianMs([&] { return LaunchCatAttention(ps, 0, true); }));
              scalar_ms = part;
            }
            const double t_best = nk ? t[best] : 0.0;
            std::snprintf(part, sizeof part, " %s | %s | %.0f | %.1f | %.3f |", nk ? KernelName(run[best]) : "-",
                          scalar_ms.c_str(), bytes / (t_best * 1e-3) / 1e9, flops / (t_best * 1e-3) / 1e12, bound_ms);
            line += part;
            timed++;
            for (size_t i = 0; i < nk; i++) {
              std::snprintf(part, sizeof part, " %.2f |", t[i] / bound_ms);
              line += part;
              within[i] += t[i] / bound_ms <= 2.0;
            }
            for (size_t i = 0; i < nk; i++) {
              const __nv_bfloat16* ref = run_scalar ? y_ref : i == ref_kernel ? nullptr : y[ref_kernel];
              if (!ref) { line += " - |"; continue; }
              const Stats st = CompareOnDevice(y[i], ref, n, stats);
              std::snprintf(part, sizeof part, st.nonfinite ? " NaN! |" : " %.1e |", st.max_err);
              line += part;
            }
          }
          std::printf("%s\n", line.c_str());
          std::fflush(stdout);
          cudaFree(q); cudaFree(k); cudaFree(v); cudaFree(y_ref);
          for (__nv_bfloat16* yi : y) cudaFree(yi);
        }
  std::printf("\nwithin 2x of the roofline (time <= 2 x bound), of %d shapes:", timed);
  for (size_t i = 0; i < nk; i++) std::printf(" %s %d", KernelName(run[i]), within[i]);
  std::printf("\n");
  return 0;
}

// ================================================================ bounds (no GPU)
/** Score pairs the wgmma kernel computes for one head: every key tile of every 64-row query tile,
 *  whole (TileKeys), padded rows and masked scores included. */
int64_t ComputedPairs(int N, int S, int bk) {
  const tc::BlockGeometry geo(S);
  int64_t n = 0;
  for (int tile = 0; tile * wg::kBQ < N; tile++) {
    const tc::TileKeys keys(tile, wg::kBQ, bk, N, geo);
    if (keys.C != keys.q0 / S) {   // the host path of BlockGeometry::Div, which only this mode uses
      std::fprintf(stderr, "bounds: BlockGeometry(%d).Div(%d) = %d, not %d\n", S, keys.q0, keys.C, keys.q0 / S);
      std::exit(1);
    }
    n += (int64_t)keys.ntiles * bk * wg::kBQ;
  }
  return n;
}

// Lower bounds on the wgmma kernel's time from the work it issues, against the bench's roofline (which
// counts only the allowed pairs). A kernel that computes P scores a head needs at least
//   MMA: 4 hd P B H FLOPs at 790 TFLOP/s, and
//   exp: P B H exponentials at 16 a clock an SM (MUFU, sm_90), at the clock at which 132 SMs' 4,096 dense
//        bf16 FLOPs a clock make 790 TFLOP/s: 790e12 * 16 / 4096 = 3.09e12 a second.
// At head_dim 64 the two are equal (a score costs 2 * 2 * 64 FLOPs = 256 = 4096 / 16): the exponentials
// alone take as long as the MMAs at their peak (FlashAttention-3's observation for H100).
int Bounds(int wbk, const std::vector<int>& Ls) {
  const double exp_rate = BenchShape::kMatmulFlopsPerS * 16.0 / 4096.0;
  std::printf("# wgmma kernel: work issued vs the roofline's useful work, bfloat16 (no GPU needed)\n\n"
              "used = allowed pairs / computed pairs (64-row query tiles x whole key tiles of bk, the kernel's\n"
              "TileKeys). In x roofline (the bench's bound: max(bytes / %.3g, useful FLOPs / %.3g)):\n"
              "bytes = bytes / %.3g; MMA = 4 hd computed B H / %.3g; exp = computed B H / %.3g a second\n"
              "(MUFU, 16 a clock an SM at the MMAs' %.3g FLOP/s clock). floor = the largest: no kernel that\n"
              "computes these scores runs below it, and within 2x of the roofline needs each pipe busy\n"
              "for at least its share of half the time.\n\n"
              "| L | chunk | batch | hd | bk | key tiles a head | used | roofline ms | bytes | MMA | exp | floor |\n"
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
              BenchShape::kCopyBytesPerS, BenchShape::kMatmulFlopsPerS, BenchShape::kCopyBytesPerS,
              BenchShape::kMatmulFlopsPerS, exp_rate, BenchShape::kMatmulFlopsPerS);
  for (int L : Ls)
    for (int chunk : g_chunks)
      for (int B : g_batches)
        for (int hd : g_hds) {
          const BenchShape sh(L, chunk, B, hd);
          const int bk = wbk ? wbk : WgmmaKeyTile(sh.Geometry());
          const int64_t computed = ComputedPairs(sh.N, sh.S, bk);
          const double heads = (double)B * sh.H;
          const double bytes_ms = sh.bytes / BenchShape::kCopyBytesPerS * 1e3;
          const double mma_ms = 4.0 * hd * computed * heads / BenchShape::kMatmulFlopsPerS * 1e3;
          const double exp_ms = computed * heads / exp_rate * 1e3;
          std::printf("| %d | %d | %d | %d | %d | %lld | %.3f | %.3f | %.2f | %.2f | %.2f | %.2f |\n", L, chunk, B, hd, bk,
                      (long long)(computed / ((int64_t)bk * wg::kBQ)), (double)AllowedPairs(sh.N, sh.S) / computed,
                      sh.bound_ms, bytes_ms / sh.bound_ms, mma_ms / sh.bound_ms, exp_ms / sh.bound_ms,
                      std::max(bytes_ms, std::max(mma_ms, exp_ms)) / sh.bound_ms);
        }
  return 0;
}

#ifdef CAT_WG_BASE
// compare: the library's wgmma kernel vs another revision's (wgbase, run-kernel-bench.sh compare), both
// with the library's bk, bfloat16, the bench's shapes and roofline. Each round times every kernel once
// (one launch each, alternating), so both see the same clocks; medians of >= 150 ms in total.
int CompareRevisions(const std::vector<int>& Ls) {
  if (!wg::Available()) { std::fprintf(stderr, "compare: the wgmma kernel needs the sm_90a image\n"); return 1; }
  std::printf("# wgmma kernel: this revision vs the base revision, bfloat16, alternating launches; x roofline as in bench\n\n"
              "| L | chunk | batch | hd | bk | base ms | ms | speedup | x roofline base | x roofline | max\\|d\\| |\n"
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  DevStats* stats = nullptr;
  CUDA_CHECK(cudaMalloc(&stats, sizeof(DevStats)));
  std::vector<double> speedups;
  int within_base = 0, within = 0;
  for (int L : Ls)
    for (int chunk : g_chunks)
      for (int B : g_batches)
        for (int hd : g_hds) {
          const BenchShape sh(L, chunk, B, hd);
          const size_t n = sh.n;
          __nv_bfloat16 *q, *k, *v, *y0, *y1;
          CUDA_CHECK(cudaMalloc(&q, n * 2)); CUDA_CHECK(cudaMalloc(&k, n * 2)); CUDA_CHECK(cudaMalloc(&v, n * 2));
          CUDA_CHECK(cudaMalloc(&y0, n * 2)); CUDA_CHECK(cudaMalloc(&y1, n * 2));
          const Problem p = sh.Inputs(q, k, v);
          const int bk = WgmmaKeyTile(p);
          Problem p0 = p, p1 = p;
          p0.y = y0; p1.y = y1;
          std::function<cudaError_t()> launch[2] = {
              [&] { return bk == 32 ? wgbase::LaunchType<__nv_bfloat16, 32>(p0, 0) : wgbase::LaunchType<__nv_bfloat16, 64>(p0, 0); },
              [&] { return LaunchWgmmaBk(p1, 0, bk); }};
          cudaEvent_t a, b;
          CUDA_CHECK(cudaEventCreate(&a)); CUDA_CHECK(cudaEventCreate(&b));
          for (auto& f : launch) { CUDA_CHECK(f()); CUDA_CHECK(f()); }   // warm-ups
          std::vector<float> ms[2];
          float total = 0.f;
          while (total < 150.f)
            for (int i = 0; i < 2; i++) {
              CUDA_CHECK(cudaEventRecord(a)); CUDA_CHECK(launch[i]()); CUDA_CHECK(cudaEventRecord(b));
              CUDA_CHECK(cudaEventSynchronize(b));
              float t = 0.f;
              CUDA_CHECK(cudaEventElapsedTime(&t, a, b));
              ms[i].push_back(t);
              total += t;
            }
          CUDA_CHECK(cudaEventDestroy(a)); CUDA_CHECK(cudaEventDestroy(b));
          double med[2];
          for (int i = 0; i < 2; i++) { std::sort(ms[i].begin(), ms[i].end()); med[i] = ms[i][ms[i].size() / 2]; }
          const Stats st = CompareOnDevice(y1, y0, n, stats);
          const double bound = sh.bound_ms;
          within_base += med[0] / bound <= 2.0;
          within += med[1] / bound <= 2.0;
          speedups.push_back(med[0] / med[1]);
          char diff[32];
          std::snprintf(diff, sizeof diff, st.nonfinite ? "NaN!" : "%.1e", st.max_err);
          std::printf("| %d | %d | %d | %d | %d | %.3f | %.3f | %.3f | %.2f | %.2f | %s |\n", L, chunk, B, hd, bk, med[0], med[1],
                      med[0] / med[1], med[0] / bound, med[1] / bound, diff);
          std::fflush(stdout);
          cudaFree(q); cudaFree(k); cudaFree(v); cudaFree(y0); cudaFree(y1);
        }
  std::sort(speedups.begin(), speedups.end());
  std::printf("\n%zu shapes: speedup (base ms / ms) min %.3f, median %.3f, max %.3f; within 2x of the roofline: base %d, this %d\n",
              speedups.size(), speedups.front(), speedups[speedups.size() / 2], speedups.back(), within_base, within);
  return 0;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "check") {
    for (int i = 2; i < argc; i++) {
      const std::string a = argv[i];
      if (a == "-q") g_quiet = true;
      else if (a == "-n") g_list_only = true;
      else if (a.rfind("kernel=", 0) == 0 && ParseKernels(a.substr(7), g_kernels)) {}
      else if (a.rfind("hds=", 0) == 0) g_filter.hds = ParseInts(a.c_str() + 4);
      else if (a.rfind("chunks=", 0) == 0) g_filter.chunks = ParseInts(a.c_str() + 7);
      else if (a.rfind("maxn=", 0) == 0) g_filter.max_n = std::atoi(a.c_str() + 5);
      else if (a.rfind("types=", 0) == 0) {
        for (size_t at = 6; at <= a.size();) {
          const size_t end = std::min(a.find(',', at), a.size());
          const std::string name = a.substr(at, end - at);
          if (name == "bf16") g_filter.types.push_back(DType::kBFloat16);
          else if (name == "fp16") g_filter.types.push_back(DType::kFloat16);
          else { std::fprintf(stderr, "types: bf16 or fp16, got %s\n", name.c_str()); return 2; }
          at = end + 1;
        }
      }
      else { std::fprintf(stderr, "unknown argument %s\n", a.c_str()); return 2; }
    }
    if (g_kernels.empty()) g_kernels = {kMma, kWgmma};
    return Check();
  }
  // wbk=32|64 (bench, bounds): false if a is not that argument; exits on a bad value
  auto parse_wbk = [](const std::string& a, int& wbk) {
    if (a.rfind("wbk=", 0) != 0) return false;
    wbk = std::atoi(a.c_str() + 4);
    if (wbk != 32 && wbk != 64) { std::fprintf(stderr, "wbk must be 32 or 64\n"); std::exit(2); }
    return true;
  };
  if (mode == "bench") {
    int block_q = kDefaultBlockQ, wbk = 0;
    bool run_scalar = true;
    std::vector<Kernel> kernels = {kMma, kWgmma};
    std::vector<int> Ls = {2048, 8192};
    for (int i = 2; i < argc; i++) {
      const std::string a = argv[i];
      if (a.rfind("bq=", 0) == 0) block_q = std::atoi(a.c_str() + 3);
      else if (parse_wbk(a, wbk)) {}
      else if (a.rfind("kernel=", 0) == 0 && ParseKernels(a.substr(7), kernels)) {}
      else if (a == "scalar=0") run_scalar = false;
      else if (ParseShapeArg(a, Ls)) {}
      else { std::fprintf(stderr, "unknown argument %s\n", a.c_str()); return 2; }
    }
    if (block_q != 64 && block_q != 128) { std::fprintf(stderr, "bq must be 64 or 128\n"); return 2; }
    return Bench(kernels, block_q, wbk, run_scalar, Ls);
  }
  if (mode == "bounds") {
    int wbk = 0;
    std::vector<int> Ls = {2048, 8192};
    for (int i = 2; i < argc; i++) {
      const std::string a = argv[i];
      if (!parse_wbk(a, wbk) && !ParseShapeArg(a, Ls)) { std::fprintf(stderr, "unknown argument %s\n", a.c_str()); return 2; }
    }
    return Bounds(wbk, Ls);
  }
#ifdef CAT_WG_BASE
  if (mode == "compare") {
    std::vector<int> Ls = {2048, 8192};
    for (int i = 2; i < argc; i++) {
      if (!ParseShapeArg(argv[i], Ls)) { std::fprintf(stderr, "unknown argument %s\n", argv[i]); return 2; }
    }
    return CompareRevisions(Ls);
  }
#endif
  std::fprintf(stderr, "usage: %s check [-q] [-n] [kernel=all|mma|wgmma] [types=bf16,fp16] [hds=..] [chunks=..] [maxn=N] | bench [kernel=both|mma|wgmma] [bq=64|128] [wbk=32|64] "
                       "[scalar=0] [L=2048,8192] [chunks=...] [batches=...] [hds=...] | bounds [wbk=32|64] [L=..] [chunks=..] [batches=..] [hds=..]\n", argv[0]);
  return 2;
}
