// CatAttention, CUDA kernel (CUDAExecutionProvider): libcatonnx_ops_cuda.so, which also links
// cat_attention_cpu.cc so that one library registers both kernels in the domain org.catonnx.
//
// One CTA per (query tile of TQ consecutive positions, head, batch). The keys a tile can see are
// the first vectors of the blocks before the tile's first block, then the contiguous range from
// that block's start to the tile's last query: at most K1 + S + TQ keys. They are staged through
// shared memory in tiles of TK keys (converted to float32); each warp owns QPW queries, its lanes
// split head_dim (lane d, d+32, d+64, d+96), and runs an online softmax (running max, running
// sum, rescaled accumulator) over the keys its query may see: a masked (query, key) pair costs one
// warp-uniform predicate, never a dot product; no score matrix is materialised.
// Accumulation in float32 for every element type; head_dim up to 128.
#include "cat_attention_common.h"
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>

namespace catonnx {
namespace {

constexpr int kWarps = 4;
constexpr int kQueriesPerWarp = 4;
constexpr int kTileQ = kWarps * kQueriesPerWarp;  // queries per CTA
constexpr int kTileK = 32;                        // keys per shared-memory stage
constexpr int kMaxHeadDim = 128;
constexpr int kPerLane = kMaxHeadDim / 32;

template <typename T> __device__ __forceinline__ float Load(const T* p);
template <> __device__ __forceinline__ float Load<float>(const float* p) { return *p; }
template <> __device__ __forceinline__ float Load<__half>(const __half* p) { return __half2float(*p); }
template <> __device__ __forceinline__ float Load<__nv_bfloat16>(const __nv_bfloat16* p) { return __bfloat162float(*p); }
template <typename T> __device__ __forceinline__ T Store(float x);
template <> __device__ __forceinline__ float Store<float>(float x) { return x; }
template <> __device__ __forceinline__ __half Store<__half>(float x) { return __float2half_rn(x); }
template <> __device__ __forceinline__ __nv_bfloat16 Store<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }

template <typename T>
__global__ void __launch_bounds__(kWarps * 32)
CatAttentionKernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v, T* __restrict__ y,
                   int H, int Hkv, int N, int hd, int S, float scale) {
  __shared__ float ks[kTileK][kMaxHeadDim];
  __shared__ float vs[kTileK][kMaxHeadDim];
  __shared__ int kpos[kTileK];

  const int h = blockIdx.y, b = blockIdx.z;
  const int hk = h / (H / Hkv);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int q0 = blockIdx.x * kTileQ;
  const int qlast = min(N, q0 + kTileQ) - 1;
  const int first_block = q0 / S;
  const int local0 = first_block * S;                      // start of the tile's first block
  const int candidates = first_block + (qlast - local0 + 1);
  const size_t qbase = ((size_t)b * H + h) * (size_t)N * hd;
  const size_t kbase = ((size_t)b * Hkv + hk) * (size_t)N * hd;

  // queries interleaved over warps (i = q0 + r * kWarps + warp) so causal work is balanced
  int qi[kQueriesPerWarp], qb[kQueriesPerWarp];
  float qr[kQueriesPerWarp][kPerLane], acc[kQueriesPerWarp][kPerLane], mx[kQueriesPerWarp], sum[kQueriesPerWarp];
#pragma unroll
  for (int r = 0; r < kQueriesPerWarp; r++) {
    qi[r] = q0 + r * kWarps + warp;
    qb[r] = qi[r] / S;
    mx[r] = -INFINITY;
    sum[r] = 0.f;
#pragma unroll
    for (int t = 0; t < kPerLane; t++) {
      const int d = lane + 32 * t;
      qr[r][t] = (qi[r] < N && d < hd) ? Load(q + qbase + (size_t)qi[r] * hd + d) * scale : 0.f;
      acc[r][t] = 0.f;
    }
  }

  for (int t0 = 0; t0 < candidates; t0 += kTileK) {
    const int count = min(kTileK, candidates - t0);
    __syncthreads();  // previous stage consumed
    for (int e = threadIdx.x; e < count * hd; e += blockDim.x) {
      const int c = e / hd, d = e - c * hd;
      const int cand = t0 + c;
      const int j = cand < first_block ? cand * S : local0 + (cand - first_block);
      ks[c][d] = Load(k + kbase + (size_t)j * hd + d);
      vs[c][d] = Load(v + kbase + (size_t)j * hd + d);
      if (d == 0) kpos[c] = j;
    }
    __syncthreads();
    for (int c = 0; c < count; c++) {
      const int j = kpos[c];
      const bool block_start = j % S == 0;
      const int jb = j / S;
      float kv[kPerLane], vv[kPerLane];
#pragma unroll
      for (int t = 0; t < kPerLane; t++) {
        const int d = lane + 32 * t;
        kv[t] = d < hd ? ks[c][d] : 0.f;
        vv[t] = d < hd ? vs[c][d] : 0.f;
      }
#pragma unroll
      for (int r = 0; r < kQueriesPerWarp; r++) {
        // warp-uniform: all lanes hold the same query and key
        if (qi[r] >= N || j > qi[r] || !(jb == qb[r] || block_start)) continue;
        float dot = 0.f;
#pragma unroll
        for (int t = 0; t < kPerLane; t++) dot = fmaf(qr[r][t], kv[t], dot);
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, o);
        const float m_new = fmaxf(mx[r], dot);
        const float corr = expf(mx[r] - m_new);  // 0 on the first key (mx = -inf)
        const float p = expf(dot - m_new);
        sum[r] = sum[r] * corr + p;
#pragma unroll
        for (int t = 0; t < kPerLane; t++) acc[r][t] = fmaf(p, vv[t], acc[r][t] * corr);
        mx[r] = m_new;
      }
    }
  }

#pragma unroll
  for (int r = 0; r < kQueriesPerWarp; r++) {
    if (qi[r] >= N) continue;
    const float inv = 1.f / sum[r];  // sum >= 1: every query sees itself
#pragma unroll
    for (int t = 0; t < kPerLane; t++) {
      const int d = lane + 32 * t;
      if (d < hd) y[qbase + (size_t)qi[r] * hd + d] = Store<T>(acc[r][t] * inv);
    }
  }
}

template <typename T>
cudaError_t Launch(const Problem& p, cudaStream_t stream) {
  dim3 grid((unsigned)((p.N + kTileQ - 1) / kTileQ), (unsigned)p.H, (unsigned)p.B);
  CatAttentionKernel<T><<<grid, kWarps * 32, 0, stream>>>(
      static_cast<const T*>(p.q), static_cast<const T*>(p.k), static_cast<const T*>(p.v), static_cast<T*>(p.y),
      (int)p.H, (int)p.Hkv, (int)p.N, (int)p.hd, (int)p.S, p.scale);
  return cudaGetLastError();
}

OrtStatus* ORT_API_CALL ComputeCuda(void* kernel, OrtKernelContext* ctx) {
  Problem p;
  CAT_TRY(Prepare(*static_cast<Attrs*>(kernel), ctx, p));
  if (p.B == 0 || p.H == 0 || p.N == 0 || p.hd == 0) return nullptr;
  if (p.hd > kMaxHeadDim) return Fail("CUDA kernel supports head_dim <= 128, got " + std::to_string(p.hd));
  if (p.H > 65535 || p.B > 65535 || p.N > ((int64_t)1 << 30) || p.S > ((int64_t)1 << 30))
    return Fail("problem too large for the CUDA kernel's grid");
  void* stream = nullptr;
  CAT_TRY(g_ort->KernelContext_GetGPUComputeStream(ctx, &stream));
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  cudaError_t e;
  switch (p.type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: e = Launch<float>(p, s); break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: e = Launch<__half>(p, s); break;
    default: e = Launch<__nv_bfloat16>(p, s); break;
  }
  if (e != cudaSuccess)
    return g_ort->CreateStatus(ORT_EP_FAIL, (std::string("CatAttention: CUDA launch failed: ") + cudaGetErrorString(e)).c_str());
  return nullptr;
}

const char* ORT_API_CALL EpCuda(const OrtCustomOp*) { return "CUDAExecutionProvider"; }
OrtCustomOp g_cuda_op = MakeOp(EpCuda, ComputeCuda);

}  // namespace
}  // namespace catonnx

extern "C" __attribute__((visibility("default")))
OrtStatus* ORT_API_CALL RegisterCustomOps(OrtSessionOptions* options, const OrtApiBase* api_base) {
  OrtCustomOp* ops[] = {&catonnx::g_cuda_op, catonnx::CpuOp()};
  return catonnx::Register(options, api_base, ops, 2);
}
