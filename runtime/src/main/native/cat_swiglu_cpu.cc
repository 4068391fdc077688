// SwiGlu, CPU kernel (see cat_swiglu_common.h): one row of F outputs per work item of ORT's
// intra-op pool.
#include "cat_swiglu_common.h"
#include <cmath>

namespace catonnx {
namespace {

template <typename E>
void SwiGluRow(void* data, size_t row) {
  const SwiGluProblem& p = *static_cast<const SwiGluProblem*>(data);
  using T = typename E::T;
  const T* gate = static_cast<const T*>(p.x) + (int64_t)row * 2 * p.F;
  const T* up = gate + p.F;
  T* y = static_cast<T*>(p.y) + (int64_t)row * p.F;
  for (int64_t j = 0; j < p.F; j++) {
    const float g = E::ld(gate, j);
    E::st(y, j, g / (1.0f + std::exp(-g)) * E::ld(up, j));
  }
}

OrtStatus* ORT_API_CALL ComputeSwiGluCpu(void*, OrtKernelContext* ctx) {
  SwiGluProblem p;
  CAT_TRY(PrepareSwiGlu(ctx, p));
  if (p.rows == 0 || p.F == 0) return nullptr;
  void (*fn)(void*, size_t) = p.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT ? SwiGluRow<HostF32>
                            : p.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 ? SwiGluRow<HostF16> : SwiGluRow<HostBF16>;
  if (p.rows == 1) { fn(&p, 0); return nullptr; }
  return g_ort->KernelContext_ParallelFor(ctx, fn, (size_t)p.rows, 0, &p);
}

const char* ORT_API_CALL EpSwiGluCpu(const OrtCustomOp*) { return "CPUExecutionProvider"; }
OrtCustomOp g_swiglu_cpu_op = MakeSwiGluOp(EpSwiGluCpu, ComputeSwiGluCpu);

}  // namespace

OrtCustomOp* SwiGluCpuOp() { return &g_swiglu_cpu_op; }
}  // namespace catonnx
