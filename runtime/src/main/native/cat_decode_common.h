// CatDecodeAttention (issue 8's decode-step form): op "CatDecodeAttention", domain org.catonnx.
// One new position per row against a fixed-size cache whose valid length is read on the device,
// so a replayed CUDA graph attends to exactly the valid entries (ONNX Runtime's
// GroupQueryAttention bakes its host-side total length in and measured 37% of a CAT decoding
// step's GPU time, docs/results/ncu-h200-bound-cat8-b64.txt).
//
//   inputs  q [B,1,H*hd], k [B,1,Hkv*hd], v [B,1,Hkv*hd] (after RoPE; one element type: float32,
//           float16 or bfloat16), past_k / past_v [B,Hkv,S,hd] (same type), seqlens int32 [B]
//   attrs   num_heads (H), kv_num_heads (Hkv, divides H), scale (float)
//   outputs y [B,1,H*hd], present_k / present_v [B,Hkv,S,hd]
//
// Row b writes the new key/value to slot n = seqlens[b] of present (= past elsewhere) and attends
// to slots 0..n; query head h reads kv head h / (H / Hkv). Bind present to past's buffer and
// only slot n is written; otherwise past is copied first. A row with n outside [0, S) gets y = 0
// and no write (the device cannot report it; callers keep n < S).
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
  const void *q = nullptr, *k = nullptr, *v = nullptr, *past_k = nullptr, *past_v = nullptr;
  const int32_t* seqlens = nullptr;
  void *y = nullptr, *present_k = nullptr, *present_v = nullptr;
  size_t ElementBytes() const { return type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT ? 4 : 2; }
  size_t CacheBytes() const { return (size_t)(B * Hkv * S * hd) * ElementBytes(); }
};

inline OrtStatus* DecodeFail(const std::string& msg) {
  return g_ort->CreateStatus(ORT_INVALID_ARGUMENT, ("CatDecodeAttention: " + msg).c_str());
}

inline OrtStatus* PrepareDecode(const DecodeAttrs& a, OrtKernelContext* ctx, DecodeProblem& p) {
  const OrtValue* in[6];
  std::vector<int64_t> d[6];
  ONNXTensorElementDataType t[6];
  for (size_t i = 0; i < 6; i++) CAT_TRY(InputShape(ctx, i, &in[i], d[i], t[i]));
  for (size_t i = 1; i < 5; i++) if (t[i] != t[0]) return DecodeFail("q, k, v, past_k and past_v must have one element type");
  if (t[0] != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT && t[0] != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 &&
      t[0] != ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16)
    return DecodeFail("element type must be float32, float16 or bfloat16");
  if (t[5] != ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32) return DecodeFail("seqlens must be int32");
  if (d[0].size() != 3 || d[1].size() != 3 || d[2].size() != 3 || d[0][1] != 1)
    return DecodeFail("q, k, v must be [B, 1, heads*head_dim]");
  if (d[3].size() != 4 || d[3] != d[4]) return DecodeFail("past_k and past_v must be one shape [B, kv_heads, S, head_dim]");
  p.B = d[0][0]; p.H = a.heads; p.Hkv = a.kv_heads; p.S = d[3][2]; p.hd = d[3][3];
  if (d[3][0] != p.B || d[3][1] != p.Hkv) return DecodeFail("past [B, kv_heads, S, head_dim] does not match q's batch or kv_num_heads");
  if (d[0][2] != p.H * p.hd || d[1][2] != p.Hkv * p.hd || d[2][2] != p.Hkv * p.hd || d[1][0] != p.B || d[2][0] != p.B)
    return DecodeFail("q must be [B,1,num_heads*head_dim] and k, v [B,1,kv_num_heads*head_dim]");
  if (d[5].size() != 1 || d[5][0] != p.B) return DecodeFail("seqlens must be [B]");
  p.scale = a.scale;
  p.type = t[0];
  OrtValue* out[3];
  CAT_TRY(g_ort->KernelContext_GetOutput(ctx, 0, d[0].data(), 3, &out[0]));
  CAT_TRY(g_ort->KernelContext_GetOutput(ctx, 1, d[3].data(), 4, &out[1]));
  CAT_TRY(g_ort->KernelContext_GetOutput(ctx, 2, d[4].data(), 4, &out[2]));
  void* ptr = nullptr;
  const void** ins[6] = {&p.q, &p.k, &p.v, &p.past_k, &p.past_v, reinterpret_cast<const void**>(&p.seqlens)};
  for (size_t i = 0; i < 6; i++) {
    CAT_TRY(g_ort->GetTensorMutableData(const_cast<OrtValue*>(in[i]), &ptr));
    *ins[i] = ptr;
  }
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
inline size_t ORT_API_CALL Six(const OrtCustomOp*) { return 6; }
inline size_t ORT_API_CALL ThreeOut(const OrtCustomOp*) { return 3; }
inline void ORT_API_CALL DestroyDecodeAttrs(void* k) { delete static_cast<DecodeAttrs*>(k); }
inline OrtStatus* ORT_API_CALL CreateDecodeKernel(const OrtCustomOp*, const OrtApi*, const OrtKernelInfo* info, void** k) {
  DecodeAttrs a;
  CAT_TRY(ReadDecodeAttrs(info, a));
  *k = new DecodeAttrs(a);
  return nullptr;
}

inline OrtStatus* ORT_API_CALL InferDecodeShape(const OrtCustomOp*, OrtShapeInferContext* ctx) {
  CAT_TRY(SameTypeShape(ctx, 0, 0));
  CAT_TRY(SameTypeShape(ctx, 3, 1));
  return SameTypeShape(ctx, 4, 2);
}

inline OrtCustomOp MakeDecodeOp(const char* (ORT_API_CALL *ep)(const OrtCustomOp*),
                                OrtStatus* (ORT_API_CALL *compute)(void*, OrtKernelContext*)) {
  OrtCustomOp op = MakeOp(ep, compute);
  op.GetName = DecodeOpName;
  op.GetInputTypeCount = Six;
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
