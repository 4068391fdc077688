// CatDecodeAttention, CPU kernel: plain loops (accumulated in double), the reference the CUDA
// kernel is tested against. The new entries (key rotated) are written first, then work is spread
// over ORT's intra-op pool by (batch, head).
#include "cat_decode_common.h"
#include <algorithm>
#include <cmath>

namespace catonnx {
namespace {

// Row b's rotary position, or -1 when the row is skipped (n outside [0, S), position outside [0, P)).
int64_t RowPosition(const DecodeProblem& p, int64_t b) {
  const int64_t n = p.seqlens[b];
  if (n < 0 || n >= p.S) return -1;
  if (p.R == 0) return 0;
  const int64_t pos = p.position[p.npos == 1 ? 0 : b];
  return pos >= 0 && pos < p.P ? pos : -1;
}

// One head (hd elements) as float, rotated (first R, half-split) at pos and rounded to the element
// type, as com.microsoft RotaryEmbedding's output would be; unrotated when R = 0. Each product is
// rounded before the sum (built with -ffp-contract=off), like the CUDA kernel's __fmul_rn.
template <typename E>
void LoadHead(const DecodeProblem& p, const typename E::T* x, int64_t pos, float* out) {
  using T = typename E::T;
  for (int64_t d = 0; d < p.hd; d++) out[d] = E::ld(x, d);
  const int64_t half = p.R / 2;
  const T* c = static_cast<const T*>(p.cos) + pos * half;
  const T* s = static_cast<const T*>(p.sin) + pos * half;
  T r;
  for (int64_t i = 0; i < half; i++) {
    const float x1 = out[i], x2 = out[i + half], ci = E::ld(c, i), si = E::ld(s, i);
    E::st(&r, 0, x1 * ci - x2 * si); out[i] = E::ld(&r, 0);
    E::st(&r, 0, x2 * ci + x1 * si); out[i + half] = E::ld(&r, 0);
  }
}

// The new key (rotated) and value of every kv head of row b into slot n: every head of a group reads them.
template <typename E>
void WriteNew(const DecodeProblem& p, int64_t b, int64_t pos) {
  using T = typename E::T;
  const int64_t n = p.seqlens[b], hd = p.hd;
  std::vector<float> kf(hd);
  for (int64_t kh = 0; kh < p.Hkv; kh++) {
    const int64_t src = b * p.kv_stride + kh * hd, dst = ((b * p.Hkv + kh) * p.S + n) * hd;
    LoadHead<E>(p, static_cast<const T*>(p.k) + src, pos, kf.data());
    for (int64_t d = 0; d < hd; d++) E::st(static_cast<T*>(p.present_k) + dst, d, kf[d]);
    std::memcpy(static_cast<T*>(p.present_v) + dst, static_cast<const T*>(p.v) + src, hd * sizeof(T));
  }
}

template <typename E>
void Attend(void* data, size_t item) {
  const DecodeProblem& p = *static_cast<const DecodeProblem*>(data);
  using T = typename E::T;
  const int64_t b = (int64_t)item / p.H, h = (int64_t)item % p.H, kh = h / (p.H / p.Hkv), hd = p.hd;
  T* y = static_cast<T*>(p.y) + (b * p.H + h) * hd;
  const int64_t n = p.seqlens[b], pos = RowPosition(p, b);
  if (pos < 0) {
    for (int64_t d = 0; d < hd; d++) E::st(y, d, 0.0f);
    return;
  }
  std::vector<float> q(hd);
  LoadHead<E>(p, static_cast<const T*>(p.q) + b * p.q_stride + h * hd, pos, q.data());
  const T* k = static_cast<const T*>(p.present_k) + (b * p.Hkv + kh) * p.S * hd;
  const T* v = static_cast<const T*>(p.present_v) + (b * p.Hkv + kh) * p.S * hd;
  std::vector<double> score(n + 1), acc(hd, 0.0);
  double mx = -INFINITY;
  for (int64_t j = 0; j <= n; j++) {
    double dot = 0;
    for (int64_t d = 0; d < hd; d++) dot += (double)q[d] * (double)E::ld(k, j * hd + d);
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

template <typename E>
OrtStatus* Run(OrtKernelContext* ctx, DecodeProblem& p) {
  for (int64_t b = 0; b < p.B; b++) {   // the new entries first: every head of a group reads them
    const int64_t pos = RowPosition(p, b);
    if (pos >= 0) WriteNew<E>(p, b, pos);
  }
  const size_t total = (size_t)(p.B * p.H);
  if (total == 1) { Attend<E>(&p, 0); return nullptr; }
  return g_ort->KernelContext_ParallelFor(ctx, Attend<E>, total, 0, &p);
}

OrtStatus* ORT_API_CALL ComputeDecodeCpu(void* kernel, OrtKernelContext* ctx) {
  DecodeProblem p;
  CAT_TRY(PrepareDecode(*static_cast<DecodeAttrs*>(kernel), ctx, p));
  if (p.B == 0 || p.H == 0 || p.hd == 0) return nullptr;
  if (p.present_k != p.past_k) std::memcpy(p.present_k, p.past_k, p.CacheBytes());
  if (p.present_v != p.past_v) std::memcpy(p.present_v, p.past_v, p.CacheBytes());
  return p.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT ? Run<HostF32>(ctx, p)
       : p.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 ? Run<HostF16>(ctx, p) : Run<HostBF16>(ctx, p);
}

const char* ORT_API_CALL EpDecodeCpu(const OrtCustomOp*) { return "CPUExecutionProvider"; }
OrtCustomOp g_decode_cpu_op = MakeDecodeOp(EpDecodeCpu, ComputeDecodeCpu);

}  // namespace

OrtCustomOp* DecodeCpuOp() { return &g_decode_cpu_op; }
}  // namespace catonnx
