// CatAttention, CPU kernel (CPUExecutionProvider): libcatonnx_ops_cpu.so, built with g++ alone.
// Per query, only the allowed keys are visited: the first vector of every earlier block, then
// the own block's causal prefix. Softmax in double (a reference-grade kernel, not a fast one);
// work is spread over ORT's intra-op thread pool by (batch, head, block).
#include "cat_attention_common.h"
#include "cat_decode_common.h"
#include "cat_swiglu_common.h"
#include <algorithm>
#include <cmath>

namespace catonnx {
const OrtApi* g_ort = nullptr;

namespace {

struct Job {
  const Problem* p;
  int64_t blocks;  // ceil(N / S)
};

template <typename E>
void RunItem(void* data, size_t item) {
  const Job& job = *static_cast<const Job*>(data);
  const Problem& p = *job.p;
  using T = typename E::T;
  const int64_t blk = (int64_t)item % job.blocks;
  const int64_t bh = (int64_t)item / job.blocks;
  const int64_t b = bh / p.H, h = bh % p.H;
  const int64_t hk = h / (p.H / p.Hkv);
  const int64_t hd = p.hd, S = p.S, N = p.N;
  const T* q = static_cast<const T*>(p.q) + (b * p.H + h) * N * hd;
  const T* k = static_cast<const T*>(p.k) + (b * p.Hkv + hk) * N * hd;
  const T* v = static_cast<const T*>(p.v) + (b * p.Hkv + hk) * N * hd;
  T* y = static_cast<T*>(p.y) + (b * p.H + h) * N * hd;

  const int64_t start = blk * S, end = std::min(N, start + S);
  std::vector<int64_t> keys;
  keys.reserve(blk + S);
  for (int64_t m = 0; m < blk; m++) keys.push_back(m * S);  // earlier blocks' first vectors
  std::vector<float> qf(hd);
  std::vector<double> scores(blk + S), acc(hd);
  for (int64_t i = start; i < end; i++) {
    keys.push_back(i);  // own block, causal: keys start..i
    for (int64_t d = 0; d < hd; d++) qf[d] = E::ld(q, i * hd + d);
    double mx = -INFINITY;
    for (size_t c = 0; c < keys.size(); c++) {
      const int64_t j = keys[c];
      double dot = 0;
      for (int64_t d = 0; d < hd; d++) dot += (double)qf[d] * (double)E::ld(k, j * hd + d);
      scores[c] = dot * (double)p.scale;
      mx = std::max(mx, scores[c]);
    }
    double sum = 0;
    std::fill(acc.begin(), acc.end(), 0.0);
    for (size_t c = 0; c < keys.size(); c++) {
      const double w = std::exp(scores[c] - mx);
      sum += w;
      const int64_t j = keys[c];
      for (int64_t d = 0; d < hd; d++) acc[d] += w * (double)E::ld(v, j * hd + d);
    }
    for (int64_t d = 0; d < hd; d++) E::st(y, i * hd + d, (float)(acc[d] / sum));
  }
}

OrtStatus* ORT_API_CALL ComputeCpu(void* kernel, OrtKernelContext* ctx) {
  Problem p;
  CAT_TRY(Prepare(*static_cast<Attrs*>(kernel), ctx, p));
  if (p.B == 0 || p.H == 0 || p.N == 0 || p.hd == 0) return nullptr;
  Job job{&p, (p.N + p.S - 1) / p.S};
  const size_t total = (size_t)(p.B * p.H * job.blocks);
  void (*fn)(void*, size_t) = p.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT ? RunItem<HostF32>
                            : p.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 ? RunItem<HostF16> : RunItem<HostBF16>;
  if (total == 1) { fn(&job, 0); return nullptr; }
  return g_ort->KernelContext_ParallelFor(ctx, fn, total, 0, &job);
}

const char* ORT_API_CALL EpCpu(const OrtCustomOp*) { return "CPUExecutionProvider"; }
OrtCustomOp g_cpu_op = MakeOp(EpCpu, ComputeCpu);

}  // namespace

OrtCustomOp* CpuOp() { return &g_cpu_op; }
}  // namespace catonnx

// The CUDA library (libcatonnx_ops_cuda.so) links this file too and registers both kernels in
// one domain from cat_attention_cuda.cu; registering two libraries with one domain is avoided.
#ifndef CATONNX_WITH_CUDA
extern "C" __attribute__((visibility("default")))
OrtStatus* ORT_API_CALL RegisterCustomOps(OrtSessionOptions* options, const OrtApiBase* api_base) {
  OrtCustomOp* ops[] = {catonnx::CpuOp(), catonnx::DecodeCpuOp(), catonnx::SwiGluCpuOp()};
  return catonnx::Register(options, api_base, ops, sizeof ops / sizeof ops[0]);
}
#endif
