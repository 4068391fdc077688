// SwiGlu: op "SwiGlu", domain org.catonnx. The feed-forward gate after one packed fc_1|fc_2
// projection, in one kernel instead of Split, Sigmoid, Mul, Mul.
//
//   input   x [..., 2F]: gate | up along the last axis (float32, float16 or bfloat16)
//   output  y [..., F] = silu(gate) * up = gate * sigmoid(gate) * up, computed in float32
//   no attributes
#pragma once
#include "cat_attention_common.h"

namespace catonnx {

struct SwiGluProblem {
  int64_t rows = 0, F = 0;  // rows = product of the leading dims
  ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  const void* x = nullptr;
  void* y = nullptr;
};

inline OrtStatus* SwiGluFail(const std::string& msg) {
  return g_ort->CreateStatus(ORT_INVALID_ARGUMENT, ("SwiGlu: " + msg).c_str());
}

inline OrtStatus* PrepareSwiGlu(OrtKernelContext* ctx, SwiGluProblem& p) {
  const OrtValue* in = nullptr;
  std::vector<int64_t> d;
  CAT_TRY(InputShape(ctx, 0, &in, d, p.type));
  if (p.type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT && p.type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 &&
      p.type != ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16)
    return SwiGluFail("element type must be float32, float16 or bfloat16, got " + std::to_string((int)p.type));
  if (d.empty() || d.back() % 2 != 0)
    return SwiGluFail("the last dim must be even (gate | up), got " + (d.empty() ? std::string("a scalar") : std::to_string(d.back())));
  p.F = d.back() / 2;
  p.rows = 1;
  for (size_t i = 0; i + 1 < d.size(); i++) p.rows *= d[i];
  d.back() = p.F;
  OrtValue* out = nullptr;
  CAT_TRY(g_ort->KernelContext_GetOutput(ctx, 0, d.data(), d.size(), &out));
  void* ptr = nullptr;
  CAT_TRY(g_ort->GetTensorMutableData(const_cast<OrtValue*>(in), &ptr));
  p.x = ptr;
  return g_ort->GetTensorMutableData(out, &p.y);
}

// ---------------------------------------------------------------- OrtCustomOp boilerplate
inline const char* ORT_API_CALL SwiGluName(const OrtCustomOp*) { return "SwiGlu"; }
inline OrtStatus* ORT_API_CALL CreateSwiGluKernel(const OrtCustomOp*, const OrtApi*, const OrtKernelInfo*, void** k) {
  *k = nullptr;  // no attributes, no state
  return nullptr;
}
inline void ORT_API_CALL DestroySwiGluKernel(void*) {}

// y: x's shape with the last dim halved (unknown when x's is).
inline OrtStatus* ORT_API_CALL InferSwiGluShape(const OrtCustomOp*, OrtShapeInferContext* ctx) {
  TypeShape y;
  CAT_TRY(GetTypeShape(ctx, 0, y));
  if (!y.dims.empty()) SetLastDim(y, y.dims.back() >= 0 && y.dims.back() % 2 == 0 ? y.dims.back() / 2 : -1);
  return SetTypeShape(ctx, 0, y);
}

inline OrtCustomOp MakeSwiGluOp(const char* (ORT_API_CALL *ep)(const OrtCustomOp*),
                                OrtStatus* (ORT_API_CALL *compute)(void*, OrtKernelContext*)) {
  OrtCustomOp op = MakeOp(ep, compute);
  op.GetName = SwiGluName;
  op.GetInputTypeCount = One;
  op.GetOutputTypeCount = One;
  op.KernelDestroy = DestroySwiGluKernel;
  op.CreateKernelV2 = CreateSwiGluKernel;
  op.InferOutputShapeFn = InferSwiGluShape;
  return op;
}

/** The CPU kernel's SwiGlu op (cat_swiglu_cpu.cc), linked into both libraries. */
OrtCustomOp* SwiGluCpuOp();
/** The CUDA kernel's SwiGlu op (cat_swiglu_cuda.cu), CUDA library only. */
OrtCustomOp* SwiGluCudaOp();

}  // namespace catonnx
