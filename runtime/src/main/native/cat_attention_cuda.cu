// CatAttention, CUDA kernel (CUDAExecutionProvider): libcatonnx_ops_cuda.so, which also links
// cat_attention_cpu.cc so that one library registers both kernels in the domain org.catonnx.
//
// The kernels and their launcher live in cat_attention_kernels.cuh (no ONNX Runtime dependency,
// so the harness runtime/src/test/native/cat_attention_bench.cu can test and time them alone):
// tensor-core kernels for float16 / bfloat16 with head_dim 64 or 128 (wgmma, FlashAttention-3
// style, on devices that run the sm_90a image; else mma.sync, FlashAttention-2 style), and the
// scalar kernel (CUDA cores) for everything else, float32 included.
// This file only checks the problem, adapts it and launches on ORT's stream.
#include "cat_attention_common.h"
#include "cat_attention_kernels.cuh"
#include "cat_decode_common.h"
#include "cat_swiglu_common.h"

namespace catonnx {
namespace {

constexpr int kMaxHeadDim = gpu::scalar::kMaxHeadDim;

gpu::Problem ToKernelProblem(const Problem& p) {
  gpu::Problem g;
  g.B = p.B; g.H = p.H; g.Hkv = p.Hkv; g.N = p.N; g.hd = p.hd; g.S = p.S;
  g.scale = p.scale;
  g.type = p.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT ? gpu::DType::kFloat32
         : p.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 ? gpu::DType::kFloat16 : gpu::DType::kBFloat16;
  g.q = p.q; g.k = p.k; g.v = p.v; g.y = p.y;
  return g;
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
  const cudaError_t e = gpu::LaunchCatAttention(ToKernelProblem(p), s, /*force_scalar=*/false);
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
  OrtCustomOp* ops[] = {&catonnx::g_cuda_op, catonnx::CpuOp(), catonnx::DecodeCudaOp(), catonnx::DecodeCpuOp(),
                        catonnx::SwiGluCudaOp(), catonnx::SwiGluCpuOp()};
  return catonnx::Register(options, api_base, ops, sizeof ops / sizeof ops[0]);
}
