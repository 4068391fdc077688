// CatDecodeAttention, CUDA kernel (see cat_decode_common.h). One block per (row, query head), 4
// warps striding over the valid slots 0..n with an online softmax each, merged in shared memory.
// A warp reads one cached key (and value) per load as a single coalesced row: lane l holds
// elements [l*E, l*E+E) with E = head_dim / 32. The new entry is taken from the k/v inputs, and
// only the first head of each kv group writes it to the cache, so no block reads what another
// writes. Everything the launch depends on (n) is read on the device: CUDA-graph safe.
#include "cat_decode_common.h"
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

namespace catonnx {
namespace {

constexpr int kDecodeWarps = 4;

template <typename T> __device__ __forceinline__ float Ld(const T* p);
template <> __device__ __forceinline__ float Ld<float>(const float* p) { return *p; }
template <> __device__ __forceinline__ float Ld<__half>(const __half* p) { return __half2float(*p); }
template <> __device__ __forceinline__ float Ld<__nv_bfloat16>(const __nv_bfloat16* p) { return __bfloat162float(*p); }
template <typename T> __device__ __forceinline__ T St(float x);
template <> __device__ __forceinline__ float St<float>(float x) { return x; }
template <> __device__ __forceinline__ __half St<__half>(float x) { return __float2half_rn(x); }
template <> __device__ __forceinline__ __nv_bfloat16 St<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }

template <typename T, int E>
__global__ void __launch_bounds__(kDecodeWarps * 32)
DecodeKernel(const T* __restrict__ q, const T* __restrict__ knew, const T* __restrict__ vnew, T* ck, T* cv,
             const int32_t* __restrict__ seqlens, T* __restrict__ y, int H, int Hkv, int S, float scale) {
  constexpr int HD = 32 * E;
  const int b = blockIdx.x / H, h = blockIdx.x % H, group = H / Hkv, kh = h / group;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int n = seqlens[b];
  T* out = y + ((size_t)b * H + h) * HD;
  if (n < 0 || n >= S) {
    for (int d = threadIdx.x; d < HD; d += blockDim.x) out[d] = St<T>(0.0f);
    return;
  }
  const size_t cache = ((size_t)b * Hkv + kh) * S * HD;
  const T* kn = knew + ((size_t)b * Hkv + kh) * HD;
  const T* vn = vnew + ((size_t)b * Hkv + kh) * HD;
  if (h % group == 0) {
    for (int d = threadIdx.x; d < HD; d += blockDim.x) {
      ck[cache + (size_t)n * HD + d] = kn[d];
      cv[cache + (size_t)n * HD + d] = vn[d];
    }
  }
  float qf[E], acc[E];
  const T* qh = q + ((size_t)b * H + h) * HD;
#pragma unroll
  for (int e = 0; e < E; e++) { qf[e] = Ld<T>(qh + lane * E + e) * scale; acc[e] = 0.0f; }
  float m = -INFINITY, l = 0.0f;
  for (int j = warp; j <= n; j += kDecodeWarps) {
    const T* kr = j == n ? kn : ck + cache + (size_t)j * HD;
    const T* vr = j == n ? vn : cv + cache + (size_t)j * HD;
    float kf[E], vf[E];
#pragma unroll
    for (int e = 0; e < E; e++) { kf[e] = Ld<T>(kr + lane * E + e); vf[e] = Ld<T>(vr + lane * E + e); }
    float s = 0.0f;
#pragma unroll
    for (int e = 0; e < E; e++) s += qf[e] * kf[e];
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    const float mn = fmaxf(m, s), c = __expf(m - mn), p = __expf(s - mn);
    l = l * c + p;
#pragma unroll
    for (int e = 0; e < E; e++) acc[e] = acc[e] * c + p * vf[e];
    m = mn;
  }
  __shared__ float sm[kDecodeWarps], sl[kDecodeWarps], sacc[kDecodeWarps][HD];
  if (lane == 0) { sm[warp] = m; sl[warp] = l; }
#pragma unroll
  for (int e = 0; e < E; e++) sacc[warp][lane * E + e] = acc[e];
  __syncthreads();
  float mx = -INFINITY;
  for (int w = 0; w < kDecodeWarps; w++) mx = fmaxf(mx, sm[w]);
  float total = 0.0f;
  for (int w = 0; w < kDecodeWarps; w++) if (sl[w] > 0.0f) total += sl[w] * __expf(sm[w] - mx);
  for (int d = threadIdx.x; d < HD; d += blockDim.x) {
    float o = 0.0f;
    for (int w = 0; w < kDecodeWarps; w++) if (sl[w] > 0.0f) o += sacc[w][d] * __expf(sm[w] - mx);
    out[d] = St<T>(o / total);
  }
}

template <typename T>
cudaError_t Launch(const DecodeProblem& p, cudaStream_t s) {
  const dim3 grid((unsigned)(p.B * p.H)), block(kDecodeWarps * 32);
  const T* q = static_cast<const T*>(p.q);
  const T* k = static_cast<const T*>(p.k);
  const T* v = static_cast<const T*>(p.v);
  T* ck = static_cast<T*>(p.present_k);
  T* cv = static_cast<T*>(p.present_v);
  T* y = static_cast<T*>(p.y);
  const int H = (int)p.H, Hkv = (int)p.Hkv, S = (int)p.S;
  switch (p.hd) {
    case 32: DecodeKernel<T, 1><<<grid, block, 0, s>>>(q, k, v, ck, cv, p.seqlens, y, H, Hkv, S, p.scale); break;
    case 64: DecodeKernel<T, 2><<<grid, block, 0, s>>>(q, k, v, ck, cv, p.seqlens, y, H, Hkv, S, p.scale); break;
    case 128: DecodeKernel<T, 4><<<grid, block, 0, s>>>(q, k, v, ck, cv, p.seqlens, y, H, Hkv, S, p.scale); break;
    default: return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

OrtStatus* ORT_API_CALL ComputeDecodeCuda(void* kernel, OrtKernelContext* ctx) {
  DecodeProblem p;
  CAT_TRY(PrepareDecode(*static_cast<DecodeAttrs*>(kernel), ctx, p));
  if (p.B == 0 || p.H == 0 || p.hd == 0) return nullptr;
  if (p.hd != 32 && p.hd != 64 && p.hd != 128) return DecodeFail("CUDA kernel supports head_dim 32, 64 or 128, got " + std::to_string(p.hd));
  if (p.B * p.H > ((int64_t)1 << 31) - 1 || p.S > ((int64_t)1 << 30)) return DecodeFail("problem too large for the CUDA kernel's grid");
  void* stream = nullptr;
  CAT_TRY(g_ort->KernelContext_GetGPUComputeStream(ctx, &stream));
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  cudaError_t e = cudaSuccess;
  if (p.present_k != p.past_k) e = cudaMemcpyAsync(p.present_k, p.past_k, p.CacheBytes(), cudaMemcpyDeviceToDevice, s);
  if (e == cudaSuccess && p.present_v != p.past_v) e = cudaMemcpyAsync(p.present_v, p.past_v, p.CacheBytes(), cudaMemcpyDeviceToDevice, s);
  if (e == cudaSuccess) {
    e = p.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT ? Launch<float>(p, s)
      : p.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 ? Launch<__half>(p, s) : Launch<__nv_bfloat16>(p, s);
  }
  if (e != cudaSuccess)
    return g_ort->CreateStatus(ORT_EP_FAIL, (std::string("CatDecodeAttention: CUDA launch failed: ") + cudaGetErrorString(e)).c_str());
  return nullptr;
}

const char* ORT_API_CALL EpDecodeCuda(const OrtCustomOp*) { return "CUDAExecutionProvider"; }
OrtCustomOp g_decode_cuda_op = MakeDecodeOp(EpDecodeCuda, ComputeDecodeCuda);

}  // namespace

OrtCustomOp* DecodeCudaOp() { return &g_decode_cuda_op; }
}  // namespace catonnx
