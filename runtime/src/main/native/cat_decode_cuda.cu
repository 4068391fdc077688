// CatDecodeAttention, CUDA kernel (see cat_decode_common.h). One block per (row, query head), 4
// warps striding over the valid slots 0..n with an online softmax each, merged in shared memory.
// A warp reads one cached key (and value) per load as a single coalesced row: lane l holds
// elements [l*E, l*E+E) with E = head_dim / 32. The block's query head and the new key/value
// (separate or packed q|k|v) are staged in shared memory, rotated there when rotary is fused; slot
// n is read from there, and only the first head of each kv group writes it to the cache, so no
// block reads what another writes. Everything the launch depends on (n, position) is read on the
// device: CUDA-graph safe.
#include "cat_decode_common.h"
#include "cat_cuda_elem.cuh"
#include <cuda_runtime.h>

namespace catonnx {
namespace {

constexpr int kDecodeWarps = 4;

template <typename T>
struct DecodeArgs {
  const T *q, *k, *v;          // row b, head h at q + b*q_stride + h*HD (k, v: kv_stride); packed: into one buffer
  long long q_stride, kv_stride;
  T *ck, *cv, *y;
  const int32_t* seqlens;
  const int64_t* position;     // rotary (R > 0): [npos], npos 1 or B
  const T *cos, *sin;          // [P, R/2]
  int H, Hkv, S, R, P, npos;
  float scale;
};

// x rounded to T and back: the unfused RotaryEmbedding's output element.
template <typename T> __device__ __forceinline__ float Round(float x) { const T t = St<T>(x); return Ld<T>(&t); }

template <typename T, int E>
__global__ void __launch_bounds__(kDecodeWarps * 32)
DecodeKernel(const DecodeArgs<T> a) {
  constexpr int HD = 32 * E;
  const int b = blockIdx.x / a.H, h = blockIdx.x % a.H, group = a.H / a.Hkv, kh = h / group;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int n = a.seqlens[b];
  const long long pos = a.R > 0 ? a.position[a.npos == 1 ? 0 : b] : 0;  // R = 0: P = 1
  T* out = a.y + ((size_t)b * a.H + h) * HD;
  if (n < 0 || n >= a.S || pos < 0 || pos >= a.P) {
    for (int d = threadIdx.x; d < HD; d += blockDim.x) out[d] = St<T>(0.0f);
    return;
  }
  // q and the new key, value of this block's heads through shared memory: a rotary pair (i, i+R/2)
  // spans lanes. Held as float (exact for every T); sk is the rotated key rounded to T.
  __shared__ float sx[2][HD], sq[HD], sk[HD], sv[HD];
  const T* qh = a.q + (size_t)b * a.q_stride + (size_t)h * HD;
  const T* kn = a.k + (size_t)b * a.kv_stride + (size_t)kh * HD;
  const T* vn = a.v + (size_t)b * a.kv_stride + (size_t)kh * HD;
  for (int d = threadIdx.x; d < HD; d += blockDim.x) { sx[0][d] = Ld<T>(qh + d); sx[1][d] = Ld<T>(kn + d); sv[d] = Ld<T>(vn + d); }
  __syncthreads();
  const int half = a.R / 2;
  for (int d = threadIdx.x; d < HD; d += blockDim.x) {
    float rq = sx[0][d], rk = sx[1][d];
    if (d < a.R) {
      const int i = d < half ? d : d - half;
      const float c = Ld<T>(a.cos + pos * half + i), s = Ld<T>(a.sin + pos * half + i);
      // explicit _rn: no contraction into fma, so the rounding matches the CPU kernel bit for bit
      if (d < half) {
        rq = __fsub_rn(__fmul_rn(sx[0][d], c), __fmul_rn(sx[0][d + half], s));
        rk = __fsub_rn(__fmul_rn(sx[1][d], c), __fmul_rn(sx[1][d + half], s));
      } else {
        rq = __fadd_rn(__fmul_rn(sx[0][d], c), __fmul_rn(sx[0][i], s));
        rk = __fadd_rn(__fmul_rn(sx[1][d], c), __fmul_rn(sx[1][i], s));
      }
      rq = Round<T>(rq);
      rk = Round<T>(rk);
    }
    sq[d] = rq;
    sk[d] = rk;
  }
  __syncthreads();
  // only the first head of each kv group writes slot n; every block takes slot n from shared memory
  const size_t cache = ((size_t)b * a.Hkv + kh) * a.S * HD;
  if (h % group == 0) {
    for (int d = threadIdx.x; d < HD; d += blockDim.x) {
      a.ck[cache + (size_t)n * HD + d] = St<T>(sk[d]);
      a.cv[cache + (size_t)n * HD + d] = St<T>(sv[d]);
    }
  }
  float qf[E], acc[E];
#pragma unroll
  for (int e = 0; e < E; e++) { qf[e] = sq[lane * E + e] * a.scale; acc[e] = 0.0f; }
  float m = -INFINITY, l = 0.0f;
  for (int j = warp; j <= n; j += kDecodeWarps) {
    float kf[E], vf[E];
    if (j == n) {
#pragma unroll
      for (int e = 0; e < E; e++) { kf[e] = sk[lane * E + e]; vf[e] = sv[lane * E + e]; }
    } else {
      const T* kr = a.ck + cache + (size_t)j * HD;
      const T* vr = a.cv + cache + (size_t)j * HD;
#pragma unroll
      for (int e = 0; e < E; e++) { kf[e] = Ld<T>(kr + lane * E + e); vf[e] = Ld<T>(vr + lane * E + e); }
    }
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
  DecodeArgs<T> a;
  a.q = static_cast<const T*>(p.q); a.k = static_cast<const T*>(p.k); a.v = static_cast<const T*>(p.v);
  a.q_stride = p.q_stride; a.kv_stride = p.kv_stride;
  a.ck = static_cast<T*>(p.present_k); a.cv = static_cast<T*>(p.present_v); a.y = static_cast<T*>(p.y);
  a.seqlens = p.seqlens;
  a.position = p.position;
  a.cos = static_cast<const T*>(p.cos); a.sin = static_cast<const T*>(p.sin);
  a.H = (int)p.H; a.Hkv = (int)p.Hkv; a.S = (int)p.S; a.R = (int)p.R; a.P = (int)p.P; a.npos = (int)p.npos;
  a.scale = p.scale;
  switch (p.hd) {
    case 32: DecodeKernel<T, 1><<<grid, block, 0, s>>>(a); break;
    case 64: DecodeKernel<T, 2><<<grid, block, 0, s>>>(a); break;
    case 128: DecodeKernel<T, 4><<<grid, block, 0, s>>>(a); break;
    default: return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

OrtStatus* ORT_API_CALL ComputeDecodeCuda(void* kernel, OrtKernelContext* ctx) {
  DecodeProblem p;
  CAT_TRY(PrepareDecode(*static_cast<DecodeAttrs*>(kernel), ctx, p));
  if (p.B == 0 || p.H == 0 || p.hd == 0) return nullptr;
  if (p.hd != 32 && p.hd != 64 && p.hd != 128) return DecodeFail("CUDA kernel supports head_dim 32, 64 or 128, got " + std::to_string(p.hd));
  if (p.B * p.H > ((int64_t)1 << 31) - 1 || p.S > ((int64_t)1 << 30) || p.P > ((int64_t)1 << 30))
    return DecodeFail("problem too large for the CUDA kernel's grid");
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
