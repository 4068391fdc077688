// Shared parts of the CatAttention custom operator (issue 8): op "CatAttention", domain
// "org.catonnx", opset 1, registered through ONNX Runtime's plain C API (OrtCustomOp structs).
//
//   inputs  q [B, H, N, hd], k [B, Hkv, N, hd], v [B, Hkv, N, hd]  (same element type:
//           float32, float16 or bfloat16; Hkv divides H; query head h reads kv head h / (H / Hkv))
//   attrs   block_len (int, S), scale (float)
//   output  y [B, H, N, hd], the input element type
//
// Query i attends to key j iff j <= i AND (j / S == i / S OR j % S == 0) (CAT.md section 3):
// y_i = sum_j softmax_j(scale * q_i . k_j) v_j over the allowed keys, accumulated in float32.
// N need not be a multiple of S (the mask is defined for any N).
#pragma once
#include <onnxruntime_c_api.h>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace catonnx {

extern const OrtApi* g_ort;

#define CAT_TRY(expr) do { OrtStatus* _s = (expr); if (_s) return _s; } while (0)

inline OrtStatus* Fail(const std::string& msg) {
  return g_ort->CreateStatus(ORT_INVALID_ARGUMENT, ("CatAttention: " + msg).c_str());
}

struct Attrs {
  int64_t block_len = 0;
  float scale = 1.0f;
};

/** One call's problem: shapes, element type, data pointers (host or device, by provider). */
struct Problem {
  int64_t B = 0, H = 0, Hkv = 0, N = 0, hd = 0, S = 0;
  float scale = 1.0f;
  ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  void* y = nullptr;
};

inline OrtStatus* InputShape(OrtKernelContext* ctx, size_t i, const OrtValue** value,
                             std::vector<int64_t>& dims, ONNXTensorElementDataType& type) {
  CAT_TRY(g_ort->KernelContext_GetInput(ctx, i, value));
  if (!*value) return Fail("input " + std::to_string(i) + " missing");
  OrtTensorTypeAndShapeInfo* info = nullptr;
  CAT_TRY(g_ort->GetTensorTypeAndShape(*value, &info));
  size_t nd = 0;
  OrtStatus* s = g_ort->GetDimensionsCount(info, &nd);
  if (!s) { dims.assign(nd, 0); s = g_ort->GetDimensions(info, dims.data(), nd); }
  if (!s) s = g_ort->GetTensorElementType(info, &type);
  g_ort->ReleaseTensorTypeAndShapeInfo(info);  // ours (from GetTensorTypeAndShape), unlike shape inference's
  return s;
}

/** Reads and checks the inputs, allocates the output. */
inline OrtStatus* Prepare(const Attrs& a, OrtKernelContext* ctx, Problem& p) {
  const OrtValue* in[3];
  std::vector<int64_t> d[3];
  ONNXTensorElementDataType t[3];
  static const char* names[3] = {"q", "k", "v"};
  for (size_t i = 0; i < 3; i++) {
    CAT_TRY(InputShape(ctx, i, &in[i], d[i], t[i]));
    if (d[i].size() != 4) return Fail(std::string(names[i]) + " must have rank 4 [B, heads, N, head_dim]");
  }
  if (t[1] != t[0] || t[2] != t[0]) return Fail("q, k and v must have one element type");
  if (t[0] != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT && t[0] != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 &&
      t[0] != ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16)
    return Fail("element type must be float32, float16 or bfloat16, got " + std::to_string((int)t[0]));
  if (d[1] != d[2]) return Fail("k and v shapes differ");
  p.B = d[0][0]; p.H = d[0][1]; p.N = d[0][2]; p.hd = d[0][3]; p.Hkv = d[1][1];
  if (d[1][0] != p.B || d[1][2] != p.N || d[1][3] != p.hd)
    return Fail("k/v [B, Hkv, N, hd] do not match q [B, H, N, hd]");
  if (p.Hkv <= 0 || p.H % p.Hkv != 0)
    return Fail("kv heads (" + std::to_string(p.Hkv) + ") must divide query heads (" + std::to_string(p.H) + ")");
  if (a.block_len <= 0) return Fail("attribute block_len must be positive");
  p.S = a.block_len;
  p.scale = a.scale;
  p.type = t[0];
  OrtValue* out = nullptr;
  CAT_TRY(g_ort->KernelContext_GetOutput(ctx, 0, d[0].data(), 4, &out));
  void* ptr = nullptr;
  CAT_TRY(g_ort->GetTensorMutableData(const_cast<OrtValue*>(in[0]), &ptr)); p.q = ptr;
  CAT_TRY(g_ort->GetTensorMutableData(const_cast<OrtValue*>(in[1]), &ptr)); p.k = ptr;
  CAT_TRY(g_ort->GetTensorMutableData(const_cast<OrtValue*>(in[2]), &ptr)); p.v = ptr;
  CAT_TRY(g_ort->GetTensorMutableData(out, &p.y));
  return nullptr;
}

inline OrtStatus* ReadAttrs(const OrtKernelInfo* info, Attrs& a) {
  CAT_TRY(g_ort->KernelInfoGetAttribute_int64(info, "block_len", &a.block_len));
  OrtStatus* s = g_ort->KernelInfoGetAttribute_float(info, "scale", &a.scale);
  if (s) { g_ort->ReleaseStatus(s); return Fail("attribute scale (float) is required"); }
  if (a.block_len <= 0) return Fail("attribute block_len must be positive");
  return nullptr;
}

// ---------------------------------------------------------------- OrtCustomOp boilerplate
inline const char* ORT_API_CALL OpName(const OrtCustomOp*) { return "CatAttention"; }
// UNDEFINED = any tensor type: each input gets its own constraint; Prepare() checks they agree.
inline ONNXTensorElementDataType ORT_API_CALL AnyType(const OrtCustomOp*, size_t) { return ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED; }
inline size_t ORT_API_CALL Three(const OrtCustomOp*) { return 3; }
inline size_t ORT_API_CALL One(const OrtCustomOp*) { return 1; }
inline OrtCustomOpInputOutputCharacteristic ORT_API_CALL Required(const OrtCustomOp*, size_t) { return INPUT_OUTPUT_REQUIRED; }
inline OrtMemType ORT_API_CALL MemDefault(const OrtCustomOp*, size_t) { return OrtMemTypeDefault; }
inline int ORT_API_CALL IntOne(const OrtCustomOp*) { return 1; }
inline int ORT_API_CALL IntZero(const OrtCustomOp*) { return 0; }
inline size_t ORT_API_CALL NoPairs(int** a, int** b) { *a = nullptr; *b = nullptr; return 0; }
inline void ORT_API_CALL ReleasePairs(int*, int*) {}
inline void ORT_API_CALL DestroyAttrs(void* k) { delete static_cast<Attrs*>(k); }
inline OrtStatus* ORT_API_CALL CreateKernel(const OrtCustomOp*, const OrtApi*, const OrtKernelInfo* info, void** k) {
  Attrs a;
  CAT_TRY(ReadAttrs(info, a));
  *k = new Attrs(a);
  return nullptr;
}
// Shape inference over ORT's info objects. ORT (1.21) reports an unknown dim without a name as -1,
// and SetOutputTypeShape would write -1 as a fixed dim_value, so SetTypeShape gives such dims a
// fresh name. Infos from the context belong to ORT: never released.
struct TypeShape {
  ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  std::vector<int64_t> dims;     // -1: unknown
  std::vector<std::string> syms; // "" unless symbolic
};

inline OrtStatus* GetTypeShape(OrtShapeInferContext* ctx, size_t i, TypeShape& ts) {
  OrtTensorTypeAndShapeInfo* in = nullptr;
  CAT_TRY(g_ort->ShapeInferContext_GetInputTypeShape(ctx, i, &in));
  size_t nd = 0;
  CAT_TRY(g_ort->GetDimensionsCount(in, &nd));
  CAT_TRY(g_ort->GetTensorElementType(in, &ts.type));
  ts.dims.assign(nd, 0);
  std::vector<const char*> syms(nd, nullptr);
  CAT_TRY(g_ort->GetDimensions(in, ts.dims.data(), nd));
  CAT_TRY(g_ort->GetSymbolicDimensions(in, syms.data(), nd));
  ts.syms.assign(nd, "");
  for (size_t d = 0; d < nd; d++) if (syms[d]) ts.syms[d] = syms[d];
  return nullptr;
}

inline OrtStatus* SetTypeShape(OrtShapeInferContext* ctx, size_t o, TypeShape ts) {
  static std::atomic<uint64_t> fresh{0};
  const size_t nd = ts.dims.size();
  std::vector<const char*> out_syms(nd);
  for (size_t d = 0; d < nd; d++) {
    if (ts.dims[d] < 0 && ts.syms[d].empty()) ts.syms[d] = "catattn_dim_" + std::to_string(fresh++);
    out_syms[d] = ts.syms[d].c_str();
  }
  OrtTensorTypeAndShapeInfo* out = nullptr;
  CAT_TRY(g_ort->CreateTensorTypeAndShapeInfo(&out));
  OrtStatus* s = g_ort->SetTensorElementType(out, ts.type);
  if (!s) s = g_ort->SetDimensions(out, ts.dims.data(), nd);
  if (!s) s = g_ort->SetSymbolicDimensions(out, out_syms.data(), nd);
  if (!s) s = g_ort->ShapeInferContext_SetOutputTypeShape(ctx, o, out);
  g_ort->ReleaseTensorTypeAndShapeInfo(out);  // ours
  return s;
}

/** Replaces the last dim of ts (rank >= 1) by a fixed size, or by an unknown one when size < 0. */
inline void SetLastDim(TypeShape& ts, int64_t size) {
  if (ts.dims.empty()) return;
  ts.dims.back() = size < 0 ? -1 : size;
  ts.syms.back().clear();
}

// Output o's type and shape = input i's.
inline OrtStatus* SameTypeShape(OrtShapeInferContext* ctx, size_t i, size_t o) {
  TypeShape ts;
  CAT_TRY(GetTypeShape(ctx, i, ts));
  return SetTypeShape(ctx, o, ts);
}

/** An int attribute during shape inference (false when absent or not an int). */
inline bool ShapeAttrInt(OrtShapeInferContext* ctx, const char* name, int64_t& value) {
  const OrtOpAttr* attr = nullptr;
  OrtStatus* s = g_ort->ShapeInferContext_GetAttribute(ctx, name, &attr);
  size_t len = 0;
  if (!s) s = g_ort->ReadOpAttr(attr, ORT_OP_ATTR_INT, &value, sizeof value, &len);
  if (s) { g_ort->ReleaseStatus(s); return false; }
  return true;
}

// CatAttention's output: q's type and shape.
inline OrtStatus* ORT_API_CALL InferShape(const OrtCustomOp*, OrtShapeInferContext* ctx) { return SameTypeShape(ctx, 0, 0); }

inline OrtCustomOp MakeOp(const char* (ORT_API_CALL *ep)(const OrtCustomOp*),
                          OrtStatus* (ORT_API_CALL *compute)(void*, OrtKernelContext*)) {
  OrtCustomOp op;
  std::memset(&op, 0, sizeof op);
  op.version = ORT_API_VERSION;
  op.GetName = OpName;
  op.GetExecutionProviderType = ep;
  op.GetInputType = AnyType; op.GetInputTypeCount = Three;
  op.GetOutputType = AnyType; op.GetOutputTypeCount = One;
  op.KernelDestroy = DestroyAttrs;
  op.GetInputCharacteristic = Required; op.GetOutputCharacteristic = Required;
  op.GetInputMemoryType = MemDefault;
  op.GetVariadicInputMinArity = IntOne; op.GetVariadicInputHomogeneity = IntZero;
  op.GetVariadicOutputMinArity = IntOne; op.GetVariadicOutputHomogeneity = IntZero;
  op.CreateKernelV2 = CreateKernel;
  op.KernelComputeV2 = compute;
  op.InferOutputShapeFn = InferShape;
  op.GetStartVersion = IntOne; op.GetEndVersion = IntOne;
  op.GetMayInplace = NoPairs; op.ReleaseMayInplace = ReleasePairs;
  op.GetAliasMap = NoPairs; op.ReleaseAliasMap = ReleasePairs;
  return op;
}

/** The CPU kernel's op (cat_attention_cpu.cc), linked into both libraries. */
OrtCustomOp* CpuOp();

inline OrtStatus* Register(OrtSessionOptions* options, const OrtApiBase* api_base, OrtCustomOp** ops, size_t n) {
  g_ort = api_base->GetApi(ORT_API_VERSION);
  if (!g_ort) return nullptr;  // ORT older than our headers: nothing to build a status with
  OrtCustomOpDomain* domain = nullptr;
  CAT_TRY(g_ort->CreateCustomOpDomain("org.catonnx", &domain));
  for (size_t i = 0; i < n; i++) CAT_TRY(g_ort->CustomOpDomain_Add(domain, ops[i]));
  return g_ort->AddCustomOpDomain(options, domain);  // the domain lives as long as the process
}

// ---------------------------------------------------------------- host-side float16 / bfloat16
inline float Bits2Float(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }
inline uint32_t Float2Bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }

inline float HalfToFloat(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ffu;
  if (exp == 0x1f) return Bits2Float(sign | 0x7f800000u | (man << 13));
  if (exp == 0) {
    if (man == 0) return Bits2Float(sign);
    float f = (float)man * 5.9604644775390625e-08f;  // 2^-24
    return sign ? -f : f;
  }
  return Bits2Float(sign | ((exp + 112) << 23) | (man << 13));
}

inline uint16_t FloatToHalf(float f) {  // round to nearest even
  uint32_t x = Float2Bits(f), sign = (x >> 16) & 0x8000u;
  uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) return (uint16_t)(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u : 0));
  if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);  // rounds to >= 65520: inf
  if (ax < 0x38800000u) {  // below the smallest normal half: subnormal or zero
    float r = Bits2Float(ax) + 0.5f;  // 0.5 = 2^-1: adds the implicit scaling, rounds to nearest even
    return (uint16_t)(sign | (Float2Bits(r) - 0x3f000000u));
  }
  uint32_t mant_odd = (ax >> 13) & 1u;
  ax += 0xc8000fffu + mant_odd;  // rebias exponent (-112 << 23) and round
  return (uint16_t)(sign | (ax >> 13));
}

inline float Bf16ToFloat(uint16_t b) { return Bits2Float((uint32_t)b << 16); }
inline uint16_t FloatToBf16(float f) {
  uint32_t x = Float2Bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u);  // quiet NaN
  x += 0x7fffu + ((x >> 16) & 1u);
  return (uint16_t)(x >> 16);
}

// Element access for the CPU kernels, converting to float.
struct HostF32 { using T = float; static float ld(const T* p, int64_t i) { return p[i]; } static void st(T* p, int64_t i, float x) { p[i] = x; } };
struct HostF16 { using T = uint16_t; static float ld(const T* p, int64_t i) { return HalfToFloat(p[i]); } static void st(T* p, int64_t i, float x) { p[i] = FloatToHalf(x); } };
struct HostBF16 { using T = uint16_t; static float ld(const T* p, int64_t i) { return Bf16ToFloat(p[i]); } static void st(T* p, int64_t i, float x) { p[i] = FloatToBf16(x); } };

}  // namespace catonnx
