// Element loads/stores in float for the CUDA kernels of our ops (CatDecodeAttention, SwiGlu):
// float32, float16 and bfloat16, stores rounding to nearest even.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace catonnx {

template <typename T> __device__ __forceinline__ float Ld(const T* p);
template <> __device__ __forceinline__ float Ld<float>(const float* p) { return *p; }
template <> __device__ __forceinline__ float Ld<__half>(const __half* p) { return __half2float(*p); }
template <> __device__ __forceinline__ float Ld<__nv_bfloat16>(const __nv_bfloat16* p) { return __bfloat162float(*p); }
template <typename T> __device__ __forceinline__ T St(float x);
template <> __device__ __forceinline__ float St<float>(float x) { return x; }
template <> __device__ __forceinline__ __half St<__half>(float x) { return __float2half_rn(x); }
template <> __device__ __forceinline__ __nv_bfloat16 St<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }

}  // namespace catonnx
