// CatDecodeAttention, CPU kernel: plain loops (accumulated in double), the reference the CUDA
// kernel is tested against. Work is spread over ORT's intra-op pool by (batch, head).
#include "cat_decode_common.h"
#include <algorithm>
#include <cmath>

namespace catonnx {
namespace {

template <typename E>
void Attend(void* data, size_t item) {
  const DecodeProblem& p = *static_cast<const DecodeProblem*>(data);
  using T = typename E::T;
  const int64_t b = (int64_t)item / p.H, h = (int64_t)item % p.H, kh = h / (p.H / p.Hkv), hd = p.hd;
  T* y = static_cast<T*>(p.y) + (b * p.H + h) * hd;
  const int64_t n = p.seqlens[b];
  if (n < 0 || n >= p.S) {
    for (int64_t d = 0; d < hd; d++) E::st(y, d, 0.0f);
    return;
  }
  const T* q = static_cast<const T*>(p.q) + (b * p.H + h) * hd;
  const T* k = static_cast<const T*>(p.present_k) + (b * p.Hkv + kh) * p.S * hd;
  const T* v = static_cast<const T*>(p.present_v) + (b * p.Hkv + kh) * p.S * hd;
  std::vector<double> score(n + 1), acc(hd, 0.0);
  double mx = -INFINITY;
  for (int64_t j = 0; j <= n; j++) {
    double dot = 0;
    for (int64_t d = 0; d < hd; d++) dot += (double)E::ld(q, d) * (double)E::ld(k, j * hd + d);
    score[j] = dot * (double)p.scale;
    mx = std::max(mx, score[j]);
  }
  double sum = 0;
  for (int64_t j = 0; j <= n; j++) {
    const double w = std::exp(score[j] - mx);
    sum += w;
    for (int64_t d = 0; d < hd; d++) acc[d] += w * (double)E::ld(v, j * hd + d);
  }
  for (int64_t d = 0; d < hd; d++) E::st(y, d, (float)(acc[d] / sum));
}

OrtStatus* ORT_API_CALL ComputeDecodeCpu(void* kernel, OrtKernelContext* ctx) {
  DecodeProblem p;
  CAT_TRY(PrepareDecode(*static_cast<DecodeAttrs*>(kernel), ctx, p));
  if (p.B == 0 || p.H == 0 || p.hd == 0) return nullptr;
  const size_t es = p.ElementBytes();
  if (p.present_k != p.past_k) std::memcpy(p.present_k, p.past_k, p.CacheBytes());
  if (p.present_v != p.past_v) std::memcpy(p.present_v, p.past_v, p.CacheBytes());
  for (int64_t b = 0; b < p.B; b++) {   // the new entries first: every head of a group reads them
    const int64_t n = p.seqlens[b];
    if (n < 0 || n >= p.S) continue;
    for (int64_t kh = 0; kh < p.Hkv; kh++) {
      const size_t dst = (size_t)(((b * p.Hkv + kh) * p.S + n) * p.hd) * es, src = (size_t)((b * p.Hkv + kh) * p.hd) * es;
      std::memcpy(static_cast<char*>(p.present_k) + dst, static_cast<const char*>(p.k) + src, p.hd * es);
      std::memcpy(static_cast<char*>(p.present_v) + dst, static_cast<const char*>(p.v) + src, p.hd * es);
    }
  }
  void (*fn)(void*, size_t) = p.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT ? Attend<HostF32>
                            : p.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 ? Attend<HostF16> : Attend<HostBF16>;
  const size_t total = (size_t)(p.B * p.H);
  if (total == 1) { fn(&p, 0); return nullptr; }
  return g_ort->KernelContext_ParallelFor(ctx, fn, total, 0, &p);
}

const char* ORT_API_CALL EpDecodeCpu(const OrtCustomOp*) { return "CPUExecutionProvider"; }
OrtCustomOp g_decode_cpu_op = MakeDecodeOp(EpDecodeCpu, ComputeDecodeCpu);

}  // namespace

OrtCustomOp* DecodeCpuOp() { return &g_decode_cpu_op; }
}  // namespace catonnx
