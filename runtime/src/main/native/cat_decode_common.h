// CatDecodeAttention (issue 8's decode-step form): op "CatDecodeAttention", domain org.catonnx.
// One new position per row against a fixed-size cache whose valid length is read on the device,
// so a replayed CUDA graph attends to exactly the valid entries (ONNX Runtime's
// GroupQueryAttention bakes its host-side total length in and measured 37% of a CAT decoding
// step's GPU time, docs/results/ncu-h200-bound-cat8-b64.txt).
//
//   inputs  0 q [B,1,H*hd], 1 k [B,1,Hkv*hd] (optional), 2 v [B,1,Hkv*hd] (optional),
//           3 past_k, 4 past_v [B,Hkv,S,hd], 5 seqlens int32 [B],
//           6 position int64 [1] or [B] (optional), 7 cos_cache, 8 sin_cache [P,R/2] (optional)
//           q, k, v, past and cos/sin share one element type: float32, float16 or bfloat16
//   attrs   num_heads (H), kv_num_heads (Hkv, divides H), scale (float)
//   outputs y [B,1,H*hd], present_k / present_v [B,Hkv,S,hd]
//
// k and v both absent: q is packed [B,1,(H+2*Hkv)*hd], laid out q | k | v (one fused wqkv
// projection); both given: separate, as in the 6-input form.
// cos/sin given (then position too): rotary of dim R = 2*cos.shape[1] (2 <= R <= hd) on the first
// R elements of every query head and of the new key, half-split (GPT-NeoX; com.microsoft
// RotaryEmbedding with interleaved=0): for i < R/2 with c = cos[pos,i], s = sin[pos,i]:
// y[i] = x[i]*c - x[i+R/2]*s, y[i+R/2] = x[i+R/2]*c + x[i]*s, computed in float32 and rounded to
// the element type (as RotaryEmbedding's output would be); the rotated key is what slot n holds.
// pos = position[0] for every row if position is [1], else position[b].
//
// Row b writes the new key/value to slot n = seqlens[b] of present (= past elsewhere) and attends
// to slots 0..n; query head h reads kv head h / (H / Hkv). Bind present to past's buffer and
// only slot n is written; otherwise past is copied first. A row with n outside [0, S), or with a
// rotary position outside [0, P), gets y = 0 and no write (the device cannot report it; callers
// keep n < S and pos < P).
#pragma once
#include "cat_attention_common.h"

namespace catonnx {

struct DecodeAttrs {
  int64_t heads = 0, kv_heads = 0;
  float scale = 1.0f;
};

struct DecodeProblem {
  int64_t B = 0, H = 0, Hkv = 0, S = 0, hd = 0;
  float scale = 1.0f;
  ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  // row b, head h of q at q + b*q_stride + h*hd; k and v alike with kv_stride (elements). Packed:
  // k and v point into q's buffer and all three strides are (H+2*Hkv)*hd.
  const void *q = nullptr, *k = nullptr, *v = nullptr, *past_k = nullptr, *past_v = nullptr;
  int64_t q_stride = 0, kv_stride = 0;
  const int32_t* seqlens = nullptr;
  // rotary (R > 0): position int64 [npos] (npos 1 or B), cos/sin [P, R/2]
  int64_t R = 0, P = 1, npos = 0;
  const int64_t* position = nullptr;
  const void *cos = nullptr, *sin = nullptr;
  void *y = nullptr, *present_k = nullptr, *present_v = nullptr;
  size_t ElementBytes() const { return type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT ? 4 : 2; }
  size_t CacheBytes() const { return (size_t)(B * Hkv * S * hd) * ElementBytes(); }
};

inline OrtStatus* DecodeFail(const std::string& msg) {
  return g_ort->CreateStatus(ORT_INVALID_ARGUMENT, ("CatDecodeAttention: " + msg).c_str());
}

constexpr size_t kDecodeInputs = 9;

inline OrtStatus* PrepareDecode(const DecodeAttrs& a, OrtKernelContext* ctx, DecodeProblem& p) {
  static const char* names[kDecodeInputs] = {"q", "k", "v", "past_k", "past_v", "seqlens", "position", "cos_cache", "sin_cache"};
  size_t count = 0;
  CAT_TRY(g_ort->KernelContext_GetInputCount(ctx, &count));
  const OrtValue* in[kDecodeInputs] = {};
  std::vector<int64_t> d[kDecodeInputs];
  ONNXTensorElementDataType t[kDecodeInputs] = {};
  for (size_t i = 0; i < kDecodeInputs && i < count; i++) {
    CAT_TRY(g_ort->KernelContext_GetInput(ctx, i, &in[i]));  // null: an omitted optional input
    if (in[i]) CAT_TRY(InputShape(ctx, i, &in[i], d[i], t[i]));
  }
  for (size_t i : {0, 3, 4, 5}) if (!in[i]) return DecodeFail(std::string("input ") + names[i] + " is required");
  if (!in[1] != !in[2]) return DecodeFail("k and v must both be given, or both omitted for a packed q|k|v");
  const bool rotary = in[7] || in[8];
  if (rotary && !(in[7] && in[8])) return DecodeFail("cos_cache and sin_cache must be given together");
  if (rotary && !in[6]) return DecodeFail("position (int64) is required with cos_cache/sin_cache");
  if (!rotary && in[6]) return DecodeFail("position is given without cos_cache/sin_cache");
  const bool packed = !in[1];
  for (size_t i : {1, 2, 3, 4, 7, 8})
    if (in[i] && t[i] != t[0]) return DecodeFail(std::string(names[i]) + " must have q's element type");
  if (t[0] != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT && t[0] != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 &&
      t[0] != ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16)
    return DecodeFail("element type must be float32, float16 or bfloat16");
  if (t[5] != ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32) return DecodeFail("seqlens must be int32");
  if (d[0].size() != 3 || d[0][1] != 1 || (!packed && (d[1].size() != 3 || d[2].size() != 3)))
    return DecodeFail("q, k, v must be [B, 1, heads*head_dim]");
  if (d[3].size() != 4 || d[3] != d[4]) return DecodeFail("past_k and past_v must be one shape [B, kv_heads, S, head_dim]");
  p.B = d[0][0]; p.H = a.heads; p.Hkv = a.kv_heads; p.S = d[3][2]; p.hd = d[3][3];
  if (d[3][0] != p.B || d[3][1] != p.Hkv) return DecodeFail("past [B, kv_heads, S, head_dim] does not match q's batch or kv_num_heads");
  if (packed) {
    const int64_t width = (p.H + 2 * p.Hkv) * p.hd;
    if (d[0][2] != width)
      return DecodeFail("packed q|k|v must be [B,1,(num_heads+2*kv_num_heads)*head_dim] = [B,1," + std::to_string(width) +
                        "], got last dim " + std::to_string(d[0][2]));
  } else if (d[0][2] != p.H * p.hd || d[1][2] != p.Hkv * p.hd || d[2][2] != p.Hkv * p.hd || d[1][0] != p.B || d[2][0] != p.B ||
             d[1][1] != 1 || d[2][1] != 1) {
    return DecodeFail("q must be [B,1,num_heads*head_dim] and k, v [B,1,kv_num_heads*head_dim]");
  }
  if (d[5].size() != 1 || d[5][0] != p.B) return DecodeFail("seqlens must be [B]");
  if (rotary) {
    if (t[6] != ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64) return DecodeFail("position must be int64");
    if (d[6].size() != 1 || (d[6][0] != 1 && d[6][0] != p.B)) return DecodeFail("position must be [1] or [B]");
    if (d[7].size() != 2 || d[7] != d[8]) return DecodeFail("cos_cache and sin_cache must be one shape [max_position, rotary_dim/2]");
    p.R = 2 * d[7][1]; p.P = d[7][0]; p.npos = d[6][0];
    if (p.R < 2 || p.R > p.hd)
      return DecodeFail("rotary_dim = 2*cos_cache.shape[1] = " + std::to_string(p.R) + " must be in [2, head_dim = " +
                        std::to_string(p.hd) + "]");
  }
  p.scale = a.scale;
  p.type = t[0];
  const int64_t y_dims[3] = {p.B, 1, p.H * p.hd};
  OrtValue* out[3];
  CAT_TRY(g_ort->KernelContext_GetOutput(ctx, 0, y_dims, 3, &out[0]));
  CAT_TRY(g_ort->KernelContext_GetOutput(ctx, 1, d[3].data(), 4, &out[1]));
  CAT_TRY(g_ort->KernelContext_GetOutput(ctx, 2, d[4].data(), 4, &out[2]));
  const void* ptr[kDecodeInputs] = {};
  for (size_t i = 0; i < kDecodeInputs; i++) {
    if (!in[i]) continue;
    void* x = nullptr;
    CAT_TRY(g_ort->GetTensorMutableData(const_cast<OrtValue*>(in[i]), &x));
    ptr[i] = x;
  }
  const size_t es = p.ElementBytes();
  p.q = ptr[0]; p.past_k = ptr[3]; p.past_v = ptr[4];
  p.seqlens = static_cast<const int32_t*>(ptr[5]);
  if (packed) {
    p.q_stride = p.kv_stride = (p.H + 2 * p.Hkv) * p.hd;
    p.k = static_cast<const char*>(p.q) + (size_t)(p.H * p.hd) * es;
    p.v = static_cast<const char*>(p.q) + (size_t)((p.H + p.Hkv) * p.hd) * es;
  } else {
    p.q_stride = p.H * p.hd; p.kv_stride = p.Hkv * p.hd;
    p.k = ptr[1]; p.v = ptr[2];
  }
  p.position = static_cast<const int64_t*>(ptr[6]);
  p.cos = ptr[7]; p.sin = ptr[8];
  CAT_TRY(g_ort->GetTensorMutableData(out[0], &p.y));
  CAT_TRY(g_ort->GetTensorMutableData(out[1], &p.present_k));
  CAT_TRY(g_ort->GetTensorMutableData(out[2], &p.present_v));
  return nullptr;
}

inline OrtStatus* ReadDecodeAttrs(const OrtKernelInfo* info, DecodeAttrs& a) {
  CAT_TRY(g_ort->KernelInfoGetAttribute_int64(info, "num_heads", &a.heads));
  CAT_TRY(g_ort->KernelInfoGetAttribute_int64(info, "kv_num_heads", &a.kv_heads));
  OrtStatus* s = g_ort->KernelInfoGetAttribute_float(info, "scale", &a.scale);
  if (s) { g_ort->ReleaseStatus(s); return DecodeFail("attribute scale (float) is required"); }
  if (a.heads <= 0 || a.kv_heads <= 0 || a.heads % a.kv_heads != 0)
    return DecodeFail("kv_num_heads must divide num_heads (both positive)");
  return nullptr;
}

// ---------------------------------------------------------------- OrtCustomOp boilerplate
inline const char* ORT_API_CALL DecodeOpName(const OrtCustomOp*) { return "CatDecodeAttention"; }
inline size_t ORT_API_CALL DecodeInputCount(const OrtCustomOp*) { return kDecodeInputs; }
// k, v (packed q|k|v when omitted), position, cos_cache, sin_cache
inline OrtCustomOpInputOutputCharacteristic ORT_API_CALL DecodeInputCharacteristic(const OrtCustomOp*, size_t i) {
  return i == 1 || i == 2 || i >= 6 ? INPUT_OUTPUT_OPTIONAL : INPUT_OUTPUT_REQUIRED;
}
inline size_t ORT_API_CALL ThreeOut(const OrtCustomOp*) { return 3; }
inline void ORT_API_CALL DestroyDecodeAttrs(void* k) { delete static_cast<DecodeAttrs*>(k); }
inline OrtStatus* ORT_API_CALL CreateDecodeKernel(const OrtCustomOp*, const OrtApi*, const OrtKernelInfo* info, void** k) {
  DecodeAttrs a;
  CAT_TRY(ReadDecodeAttrs(info, a));
  *k = new DecodeAttrs(a);
  return nullptr;
}

// y: q's shape with the last dim H*hd (q may be packed), hd from past_k; presents: the pasts'.
inline OrtStatus* ORT_API_CALL InferDecodeShape(const OrtCustomOp*, OrtShapeInferContext* ctx) {
  TypeShape y, past;
  CAT_TRY(GetTypeShape(ctx, 0, y));
  CAT_TRY(GetTypeShape(ctx, 3, past));
  int64_t heads = 0;
  const int64_t hd = past.dims.size() == 4 ? past.dims[3] : -1;
  SetLastDim(y, ShapeAttrInt(ctx, "num_heads", heads) && heads > 0 && hd >= 0 ? heads * hd : -1);
  CAT_TRY(SetTypeShape(ctx, 0, y));
  CAT_TRY(SameTypeShape(ctx, 3, 1));
  return SameTypeShape(ctx, 4, 2);
}

inline OrtCustomOp MakeDecodeOp(const char* (ORT_API_CALL *ep)(const OrtCustomOp*),
                                OrtStatus* (ORT_API_CALL *compute)(void*, OrtKernelContext*)) {
  OrtCustomOp op = MakeOp(ep, compute);
  op.GetName = DecodeOpName;
  op.GetInputTypeCount = DecodeInputCount;
  op.GetInputCharacteristic = DecodeInputCharacteristic;
  op.GetOutputTypeCount = ThreeOut;
  op.KernelDestroy = DestroyDecodeAttrs;
  op.CreateKernelV2 = CreateDecodeKernel;
  op.InferOutputShapeFn = InferDecodeShape;
  return op;
}

/** The CPU kernel's decode op (cat_decode_cpu.cc), linked into both libraries. */
OrtCustomOp* DecodeCpuOp();
/** The CUDA kernel's decode op (cat_decode_cuda.cu), CUDA library only. */
OrtCustomOp* DecodeCudaOp();

}  // namespace catonnx
