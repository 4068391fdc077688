// SwiGlu, CUDA kernel (see cat_swiglu_common.h): grid-stride over vectors of V consecutive
// outputs of a row (16-byte loads when F % V == 0, else V = 1), on ORT's compute stream.
#include "cat_swiglu_common.h"
#include "cat_cuda_elem.cuh"
#include <cuda_runtime.h>

namespace catonnx {
namespace {

template <typename T, int V>
struct alignas(sizeof(T) * V) Vec { T x[V]; };

template <typename T, int V>
__global__ void SwiGluKernel(const T* __restrict__ x, T* __restrict__ y, long long rows, long long F) {
  const long long per_row = F / V, total = rows * per_row;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x) {
    const long long r = i / per_row, c = (i % per_row) * V;
    const Vec<T, V> g = *reinterpret_cast<const Vec<T, V>*>(x + r * 2 * F + c);
    const Vec<T, V> u = *reinterpret_cast<const Vec<T, V>*>(x + r * 2 * F + F + c);
    Vec<T, V> o;
#pragma unroll
    for (int e = 0; e < V; e++) {
      const float gf = Ld<T>(&g.x[e]);
      o.x[e] = St<T>(gf / (1.0f + expf(-gf)) * Ld<T>(&u.x[e]));
    }
    *reinterpret_cast<Vec<T, V>*>(y + r * F + c) = o;
  }
}

template <typename T>
cudaError_t LaunchSwiGlu(const SwiGluProblem& p, cudaStream_t s) {
  constexpr int V = 16 / sizeof(T), kThreads = 256;
  const T* x = static_cast<const T*>(p.x);
  T* y = static_cast<T*>(p.y);
  // ORT's buffers are 256-byte aligned, so F % V == 0 makes every row's vectors 16-byte aligned
  const bool vec = p.F % V == 0;
  const long long total = p.rows * (vec ? p.F / V : p.F);
  const unsigned blocks = (unsigned)std::min<long long>((total + kThreads - 1) / kThreads, 65535LL * 8);
  if (vec) SwiGluKernel<T, V><<<blocks, kThreads, 0, s>>>(x, y, p.rows, p.F);
  else SwiGluKernel<T, 1><<<blocks, kThreads, 0, s>>>(x, y, p.rows, p.F);
  return cudaGetLastError();
}

OrtStatus* ORT_API_CALL ComputeSwiGluCuda(void*, OrtKernelContext* ctx) {
  SwiGluProblem p;
  CAT_TRY(PrepareSwiGlu(ctx, p));
  if (p.rows == 0 || p.F == 0) return nullptr;
  void* stream = nullptr;
  CAT_TRY(g_ort->KernelContext_GetGPUComputeStream(ctx, &stream));
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  const cudaError_t e = p.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT ? LaunchSwiGlu<float>(p, s)
                      : p.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 ? LaunchSwiGlu<__half>(p, s) : LaunchSwiGlu<__nv_bfloat16>(p, s);
  if (e != cudaSuccess)
    return g_ort->CreateStatus(ORT_EP_FAIL, (std::string("SwiGlu: CUDA launch failed: ") + cudaGetErrorString(e)).c_str());
  return nullptr;
}

const char* ORT_API_CALL EpSwiGluCuda(const OrtCustomOp*) { return "CUDAExecutionProvider"; }
OrtCustomOp g_swiglu_cuda_op = MakeSwiGluOp(EpSwiGluCuda, ComputeSwiGluCuda);

}  // namespace

OrtCustomOp* SwiGluCudaOp() { return &g_swiglu_cuda_op; }
}  // namespace catonnx
