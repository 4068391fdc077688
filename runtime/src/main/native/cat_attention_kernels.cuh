// CatAttention CUDA kernels and their launcher (issue 8). No ONNX Runtime dependency: the
// library (cat_attention_cuda.cu) adapts its Problem to gpu::Problem below, and the standalone
// harness runtime/src/test/native/cat_attention_bench.cu uses this header directly.
//
//   q [B, H, N, hd], k/v [B, Hkv, N, hd], y [B, H, N, hd], all contiguous (row-major);
//   query head h reads kv head h / (H / Hkv); attrs S (block_len) and scale.
//   Query i attends to key j iff j <= i AND (j / S == i / S OR j % S == 0);
//   y_i = sum_j softmax_j(scale * q_i . k_j) v_j over the allowed keys, accumulated in float32.
//
// Three kernels:
//   - ScalarKernel<T>: CUDA cores, any head_dim <= 128, float32 / float16 / bfloat16. It is the
//     float32 path and the reference the tensor-core kernels are checked against.
//   - TensorCoreKernel<T, HD, WARPS>: float16 / bfloat16, head_dim 64 or 128, FlashAttention-2
//     style with mma.sync m16n8k16 (f32 accumulate), ldmatrix and cp.async (see its comment).
//   - wg::WgmmaKernel<T, HD, BK> (cat_attention_wgmma.cuh): the same on Hopper warpgroup MMA
//     (wgmma.mma_async), compiled into the sm_90a image only.
// LaunchCatAttention picks a tensor-core kernel whenever one applies (unless force_scalar): the
// wgmma one (32 or 64 keys per tile, WgmmaKeyTile) when the device runs the sm_90a image, else the
// mma.sync one.
#pragma once
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include "cat_cuda_elem.cuh"
#include <cmath>
#include <cstdint>

namespace catonnx {
namespace gpu {

enum class DType : int { kFloat32 = 0, kFloat16 = 1, kBFloat16 = 2 };

/** One call: shapes, element type and device pointers (q, k, v, y of that type). */
struct Problem {
  int64_t B = 0, H = 0, Hkv = 0, N = 0, hd = 0, S = 0;
  float scale = 1.0f;
  DType type = DType::kFloat32;
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  void* y = nullptr;
};

// ================================================================ scalar kernel (CUDA cores)
//
// One CTA per (query tile of TQ consecutive positions, head, batch). The keys a tile can see are
// the first vectors of the blocks before the tile's first block, then the contiguous range from
// that block's start to the tile's last query: at most K1 + S + TQ keys. They are staged through
// shared memory in tiles of TK keys (converted to float32); each warp owns QPW queries, its lanes
// split head_dim (lane d, d+32, d+64, d+96), and runs an online softmax (running max, running
// sum, rescaled accumulator) over the keys its query may see: a masked (query, key) pair costs one
// warp-uniform predicate, never a dot product; no score matrix is materialised.
// Accumulation in float32 for every element type; head_dim up to 128.
namespace scalar {

constexpr int kWarps = 4;
constexpr int kQueriesPerWarp = 4;
constexpr int kTileQ = kWarps * kQueriesPerWarp;  // queries per CTA
constexpr int kTileK = 32;                        // keys per shared-memory stage
constexpr int kMaxHeadDim = 128;
constexpr int kPerLane = kMaxHeadDim / 32;


template <typename T>
__global__ void __launch_bounds__(kWarps * 32)
CatAttentionKernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v, T* __restrict__ y,
                   int H, int Hkv, int N, int hd, int S, float scale) {
  __shared__ float ks[kTileK][kMaxHeadDim];
  __shared__ float vs[kTileK][kMaxHeadDim];
  __shared__ int kpos[kTileK];

  const int h = blockIdx.y, b = blockIdx.z;
  const int hk = h / (H / Hkv);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int q0 = blockIdx.x * kTileQ;
  const int qlast = min(N, q0 + kTileQ) - 1;
  const int first_block = q0 / S;
  const int local0 = first_block * S;                      // start of the tile's first block
  const int candidates = first_block + (qlast - local0 + 1);
  const size_t qbase = ((size_t)b * H + h) * (size_t)N * hd;
  const size_t kbase = ((size_t)b * Hkv + hk) * (size_t)N * hd;

  // queries interleaved over warps (i = q0 + r * kWarps + warp) so causal work is balanced
  int qi[kQueriesPerWarp], qb[kQueriesPerWarp];
  float qr[kQueriesPerWarp][kPerLane], acc[kQueriesPerWarp][kPerLane], mx[kQueriesPerWarp], sum[kQueriesPerWarp];
#pragma unroll
  for (int r = 0; r < kQueriesPerWarp; r++) {
    qi[r] = q0 + r * kWarps + warp;
    qb[r] = qi[r] / S;
    mx[r] = -INFINITY;
    sum[r] = 0.f;
#pragma unroll
    for (int t = 0; t < kPerLane; t++) {
      const int d = lane + 32 * t;
      qr[r][t] = (qi[r] < N && d < hd) ? Ld(q + qbase + (size_t)qi[r] * hd + d) * scale : 0.f;
      acc[r][t] = 0.f;
    }
  }

  for (int t0 = 0; t0 < candidates; t0 += kTileK) {
    const int count = min(kTileK, candidates - t0);
    __syncthreads();  // previous stage consumed
    for (int e = threadIdx.x; e < count * hd; e += blockDim.x) {
      const int c = e / hd, d = e - c * hd;
      const int cand = t0 + c;
      const int j = cand < first_block ? cand * S : local0 + (cand - first_block);
      ks[c][d] = Ld(k + kbase + (size_t)j * hd + d);
      vs[c][d] = Ld(v + kbase + (size_t)j * hd + d);
      if (d == 0) kpos[c] = j;
    }
    __syncthreads();
    for (int c = 0; c < count; c++) {
      const int j = kpos[c];
      const bool block_start = j % S == 0;
      const int jb = j / S;
      float kv[kPerLane], vv[kPerLane];
#pragma unroll
      for (int t = 0; t < kPerLane; t++) {
        const int d = lane + 32 * t;
        kv[t] = d < hd ? ks[c][d] : 0.f;
        vv[t] = d < hd ? vs[c][d] : 0.f;
      }
#pragma unroll
      for (int r = 0; r < kQueriesPerWarp; r++) {
        // warp-uniform: all lanes hold the same query and key
        if (qi[r] >= N || j > qi[r] || !(jb == qb[r] || block_start)) continue;
        float dot = 0.f;
#pragma unroll
        for (int t = 0; t < kPerLane; t++) dot = fmaf(qr[r][t], kv[t], dot);
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, o);
        const float m_new = fmaxf(mx[r], dot);
        const float corr = expf(mx[r] - m_new);  // 0 on the first key (mx = -inf)
        const float p = expf(dot - m_new);
        sum[r] = sum[r] * corr + p;
#pragma unroll
        for (int t = 0; t < kPerLane; t++) acc[r][t] = fmaf(p, vv[t], acc[r][t] * corr);
        mx[r] = m_new;
      }
    }
  }

#pragma unroll
  for (int r = 0; r < kQueriesPerWarp; r++) {
    if (qi[r] >= N) continue;
    const float inv = 1.f / sum[r];  // sum >= 1: every query sees itself
#pragma unroll
    for (int t = 0; t < kPerLane; t++) {
      const int d = lane + 32 * t;
      if (d < hd) y[qbase + (size_t)qi[r] * hd + d] = St<T>(acc[r][t] * inv);
    }
  }
}

template <typename T>
cudaError_t Launch(const Problem& p, cudaStream_t stream) {
  dim3 grid((unsigned)((p.N + kTileQ - 1) / kTileQ), (unsigned)p.H, (unsigned)p.B);
  CatAttentionKernel<T><<<grid, kWarps * 32, 0, stream>>>(
      static_cast<const T*>(p.q), static_cast<const T*>(p.k), static_cast<const T*>(p.v), static_cast<T*>(p.y),
      (int)p.H, (int)p.Hkv, (int)p.N, (int)p.hd, (int)p.S, p.scale);
  return cudaGetLastError();
}

}  // namespace scalar

// ================================================================ tensor-core kernel
//
// FlashAttention-2 style, float16 / bfloat16 in, float32 accumulation and softmax.
//
// Grid (ceil(N / BQ), H, B), BQ = 16 * WARPS query rows per CTA (blockIdx.x is reversed so the
// latest, i.e. heaviest, query tiles start first). Warp w owns the 16 rows q0 + 16w .. q0 + 16w + 15
// and keeps their Q fragments in registers for the whole kernel; its score tile S = Q K^T
// (16 x BK), probabilities P and output accumulator O (16 x HD) live in mma fragments.
//
// Key set of the tile [q0, qlast] (qlast = min(N, q0 + BQ) - 1), with first_block = q0 / S,
// local0 = first_block * S, enumerated by a "candidate" index cand in [0, C + L),
// L = qlast - local0 + 1:
//   (a) cand < C = first_block:  key j = cand * S  (the first vector of every earlier block;
//       every query of the tile sees all of them: no mask),
//   (b) cand >= C:               key j = local0 + (cand - C), the contiguous range [local0, qlast]
//       where the mask (j <= i AND (same block OR j % S == 0)) is applied per element.
// The candidates are cut into tiles of BK = 64 and gathered row by row (16-byte cp.async chunks)
// into shared memory; candidates past the end are zero-filled and masked. Only tiles that reach
// past C (at most ceil((S + BQ) / BK) + 1 of them) evaluate the mask, and there each warp skips
// (no MMA for S nor for P V) the 16-key groups none of its 16 rows may see (LiveGroups): keys after
// its last row, and keys of earlier blocks that are not block starts.
//
// Pipeline (one shared-memory buffer each for Q, K and V; FA2's overlap scheme): the prologue
// loads Q and K(0), then each warp copies its Q fragments to registers; per key tile t:
//   wait + __syncthreads      K(t) landed; every warp is done with V(t-1)
//   issue V(t)                (in flight during S = Q K(t)^T and the softmax)
//   S = Q K^T, mask, online softmax
//   wait + __syncthreads      V(t) landed; every warp is done with K(t)
//   issue K(t+1)              (in flight during O += P V(t))
//   O += P V
// Shared-memory rows are padded to HD + 8 elements (row stride = 16 bytes mod 128) so the 8 row
// addresses of every ldmatrix phase hit 8 different 16-byte bank groups: conflict-free.
//
// Softmax: scores stay raw (q . k) in the fragments; with sl2 = |scale| * log2(e),
//   m = running max of the raw scores, p = exp2(s * sl2 - m * sl2), l = running sum of p,
//   on a new max: O *= exp2((m_old - m_new) * sl2), l likewise.
// A negative scale is folded into Q (exact sign flip of the fragments), so sl2 > 0 always and the
// raw max is the scaled max. Masked scores are -inf; a row whose running max is still -inf (all
// its candidates so far masked) uses 0 in place of m * sl2, so p = exp2(-inf) = 0 and no inf - inf
// NaN arises. scale == 0 or non-finite goes to the scalar kernel (-inf * 0 would be NaN here).
//
// ---- mma.sync.aligned.m16n8k16.row.col.f32.{f16,bf16}.{f16,bf16}.f32 fragments (PTX ISA,
//      "Matrix Fragments for mma.m16n8k16 with floating point type"); g = lane / 4 (groupID),
//      t = lane % 4 (threadID_in_group); a .b32 register holds two 16-bit elements, the lower
//      column (A) / lower row (B) index in the low half:
//   A (16 x 16, row-major), a0..a3:  a0 = A[g    ][2t, 2t+1]     a1 = A[g + 8][2t, 2t+1]
//                                    a2 = A[g    ][2t+8, 2t+9]   a3 = A[g + 8][2t+8, 2t+9]
//   B (16 x 8 = K x N, "col"), b0,b1: b0 = B[2t, 2t+1][g]        b1 = B[2t+8, 2t+9][g]
//   C/D (16 x 8, f32), c0..c3:        c0 = C[g][2t]  c1 = C[g][2t+1]  c2 = C[g+8][2t]  c3 = C[g+8][2t+1]
// ---- ldmatrix.sync.aligned.m8n8.x4[.trans].shared.b16: lanes 8m .. 8m+7 give the addresses of
//      rows 0..7 of matrix m (each row = 8 contiguous 16-bit elements = 16 bytes); destination
//      register m of lane l receives, without .trans, M_m[l / 4][2(l % 4), 2(l % 4) + 1] and, with
//      .trans, M_m[2(l % 4)][l / 4], M_m[2(l % 4) + 1][l / 4] (low half = first element).
// Derived uses (all shared-memory tiles are row-major [row][d]):
//   Q as A (k-step kd: d 16kd..16kd+15):  matrices m = (rows +8 * (m & 1), d +8 * (m >> 1)) give
//       M[g][2t..] = Q[g + 8(m & 1)][16kd + 8(m >> 1) + 2t ..] = exactly a_m.
//   K as B of S = Q K^T (B[k = d][n = key] = K[key][d], i.e. "col" = K rows): non-trans matrices
//       m = (keys +8 * (m >> 1), d +8 * (m & 1)) give M[g][2t..] = K[key g][d 2t..] = b0 (m = 0),
//       b1 (m = 1) of n-tile 2np and b0, b1 of n-tile 2np + 1 (m = 2, 3).
//   V as B of O = P V (B[k = key][n = d] = V[key][d], k strided in smem): .trans matrices
//       m = (keys +8 * (m & 1), d +8 * (m >> 1)) give M[2t..][g] = V[key 2t..][d g] = b0 (m = 0),
//       b1 (m = 1) of d-tile 2dp and b0, b1 of d-tile 2dp + 1 (m = 2, 3).
//   P as A of O = P V (k-step kk = keys 16kk..16kk+15): the S accumulators of n-tiles 2kk and 2kk+1
//       hold C[g][2t..], C[g+8][2t..] of keys 16kk + 2t.. and 16kk + 8 + 2t.., so
//       a0 = pack(S[2kk].c0, c1), a1 = pack(S[2kk].c2, c3), a2 = pack(S[2kk+1].c0, c1),
//       a3 = pack(S[2kk+1].c2, c3): no data movement between the two GEMMs.
//   Rows: lane holds rows g (c0, c1) and g + 8 (c2, c3) of its warp's 16; a row's values are spread
//       over the 4 lanes of a quad (same g), so row reductions are shuffles with xor 1 and 2.
namespace tc {

constexpr int kBK = 64;  // keys per shared-memory tile

template <int HD, int WARPS>
struct Config {
  static_assert(HD % 16 == 0 && HD <= 128, "head_dim must be a multiple of 16, at most 128");
  static constexpr int kWarps = WARPS;
  static constexpr int kThreads = 32 * WARPS;
  static constexpr int kBQ = 16 * WARPS;         // query rows per CTA
  static constexpr int kStride = HD + 8;         // smem row stride in elements (+16 bytes)
  static constexpr int kChunks = HD / 8;         // 16-byte chunks per row
  static constexpr int kSmemBytes = (kBQ + 2 * kBK) * kStride * 2;  // Q, K, V tiles (16-bit)
};

__device__ __forceinline__ uint32_t SmemAddr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16-byte global -> shared copy, bypassing L1; valid == false writes 16 zero bytes (src-size 0,
// nothing is read; src must still be a valid address expression, callers pass the tensor base).
__device__ __forceinline__ void CpAsync16(uint32_t dst, const void* src, bool valid) {
  const int src_bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(src_bytes) : "memory");
}
__device__ __forceinline__ void CpAsyncCommit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
__device__ __forceinline__ void CpAsyncWaitAll() { asm volatile("cp.async.wait_group 0;\n" ::: "memory"); }

__device__ __forceinline__ void LdMatrixX4(uint32_t (&r)[4], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(addr));
}
__device__ __forceinline__ void LdMatrixX4Trans(uint32_t (&r)[4], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(addr));
}

// d += a * b (16x8x16), f32 accumulate
template <typename T>
__device__ __forceinline__ void Mma(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1);
template <>
__device__ __forceinline__ void Mma<__nv_bfloat16>(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
template <>
__device__ __forceinline__ void Mma<__half>(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// two floats -> one .b32 register of two 16-bit values, lo in the low half (round to nearest even)
template <typename T> __device__ __forceinline__ uint32_t Pack(float lo, float hi);
template <> __device__ __forceinline__ uint32_t Pack<__nv_bfloat16>(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}
template <> __device__ __forceinline__ uint32_t Pack<__half>(float lo, float hi) {
  const __half2 v = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}

// 2^x (MUFU.EX2; exp2(-inf) = +0, relative error ~2^-22)
__device__ __forceinline__ float Exp2(float x) {
  float r;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(r) : "f"(x));
  return r;
}

// S = Q K^T for one key tile: s[nt] = 16 x 8 scores of keys 8nt..8nt+7 (raw dot products).
// Loop over 16-key groups np (n-tiles 2np, 2np+1), then the k-steps kd of head_dim. A group whose
// bit in live is clear is not computed: its scores are set to -inf (every pair in it is masked).
template <typename T, int HD, bool kAllLive>
__device__ __forceinline__ void ScoreTile(float (&s)[kBK / 8][4], const uint32_t (&qf)[HD / 16][4],
                                          const T* k_src, unsigned live) {
  constexpr int kStride = HD + 8;
#pragma unroll
  for (int np = 0; np < kBK / 16; np++) {
#pragma unroll
    for (int x = 0; x < 4; x++) s[2 * np][x] = s[2 * np + 1][x] = 0.f;
    if (kAllLive || ((live >> np) & 1u)) {
#pragma unroll
      for (int kd = 0; kd < HD / 16; kd++) {
        uint32_t bk[4];
        LdMatrixX4(bk, SmemAddr(k_src + 16 * np * kStride + 16 * kd));
        Mma<T>(s[2 * np], qf[kd], bk[0], bk[1]);
        Mma<T>(s[2 * np + 1], qf[kd], bk[2], bk[3]);
      }
    } else {
#pragma unroll
      for (int x = 0; x < 4; x++) s[2 * np][x] = s[2 * np + 1][x] = -INFINITY;
    }
  }
}

// O += P V for one key tile, P in the S fragments (probabilities); k-step kk = keys 16kk..16kk+15
// (skipped when its live bit is clear: all its probabilities are 0).
template <typename T, int HD, bool kAllLive>
__device__ __forceinline__ void AccumulatePV(float (&o)[HD / 8][4], const float (&p)[kBK / 8][4],
                                             const T* v_src, unsigned live) {
  constexpr int kStride = HD + 8;
#pragma unroll
  for (int kk = 0; kk < kBK / 16; kk++) {
    if (kAllLive || ((live >> kk) & 1u)) {
      uint32_t pa[4];
      pa[0] = Pack<T>(p[2 * kk][0], p[2 * kk][1]);
      pa[1] = Pack<T>(p[2 * kk][2], p[2 * kk][3]);
      pa[2] = Pack<T>(p[2 * kk + 1][0], p[2 * kk + 1][1]);
      pa[3] = Pack<T>(p[2 * kk + 1][2], p[2 * kk + 1][3]);
#pragma unroll
      for (int dp = 0; dp < HD / 16; dp++) {
        uint32_t bv[4];
        LdMatrixX4Trans(bv, SmemAddr(v_src + 16 * kk * kStride + 16 * dp));
        Mma<T>(o[2 * dp], pa, bv[0], bv[1]);
        Mma<T>(o[2 * dp + 1], pa, bv[2], bv[3]);
      }
    }
  }
}

// Constants of block_len S that the kernels would otherwise derive per thread with integer divisions
// (~20 instructions each; the wgmma kernel's prologue had five): n / S for 0 <= n < 2^31 as a multiply
// and shift (Granlund and Montgomery: mul = floor(2^32 (2^l - S) / S) + 1, l = ceil(log2 S)), and
// LocalMask's bits of the multiples of S below 128.
struct BlockGeometry {
  uint32_t mul = 1u;
  int shift = 0, S = 1;
  uint64_t starts_lo = 1u, starts_hi = 0u;   // bit i: i (lo) / 64 + i (hi) is a multiple of S

  BlockGeometry() = default;
  explicit BlockGeometry(int S_) : S(S_) {
    while ((1ull << shift) < (unsigned long long)S) shift++;
    mul = (uint32_t)(((1ull << 32) * ((1ull << shift) - (unsigned long long)S)) / (unsigned long long)S + 1ull);
    starts_lo = starts_hi = 0u;
    for (int i = 0; i < 128; i += S) (i < 64 ? starts_lo : starts_hi) |= 1ull << (i & 63);
  }
  __host__ __device__ __forceinline__ int Div(int n) const {   // n / S for 0 <= n < 2^31
#ifdef __CUDA_ARCH__
    const uint32_t hi = __umulhi((uint32_t)n, mul);
#else
    const uint32_t hi = (uint32_t)(((uint64_t)(uint32_t)n * mul) >> 32);
#endif
    return (int)((hi + (uint32_t)n) >> shift);
  }
};

// A query tile's key candidates (both tensor-core kernels): the tile holds queries q0 .. qlast;
// candidates are the C summaries k[c * S] of the blocks before its first block, then the contiguous
// keys local0 .. qlast; ntiles key tiles of BK candidates cover them (BK a power of two).
struct TileKeys {
  int q0, C, local0, total, ntiles;
  __host__ __device__ __forceinline__ TileKeys(int tile, int BQ, int BK, int N, const BlockGeometry& geo) {
    q0 = tile * BQ;
    const int qlast = (N < q0 + BQ ? N : q0 + BQ) - 1;
    C = geo.Div(q0);
    local0 = C * geo.S;
    total = C + (qlast - local0 + 1);
    ntiles = (total + BK - 1) / BK;
  }
};

// The mask of a thread's two fragment rows (bit hf) over one query tile's candidates: every
// compressed candidate (< C) is visible; a local key (offset off = cand - C from local0) is visible
// to a row when it is not after the row and is a block start or lies in the row's own block; none
// past total. No division per key (once per thread it costs more than the rest of the test):
// block starts come from a bitmask of the multiples of S below 128. A start b decides visibility
// only for rows of later blocks (offsets >= b + S), and a tile's rows lie below S - 1 + block_q
// <= S + 127, so every start that matters is below 128 (which also makes the off == S term
// redundant; it stays because the kernels were measured and checked with it).
struct LocalMask {
  uint64_t lo, hi;           // bit i: offset i (lo) / 64 + i (hi) is a multiple of S
  int S, nloc;               // local keys: offsets 0 .. nloc - 1
  int row_off[2], row_start[2];  // each row's offset and the offset of its block's start

  // from the host's constants (no division, no loop); off0, off1 >= 0
  __device__ __forceinline__ LocalMask(const BlockGeometry& geo, int C, int total, int off0, int off1)
      : lo(geo.starts_lo), hi(geo.starts_hi), S(geo.S), nloc(total - C) {
    row_off[0] = off0; row_start[0] = geo.Div(off0) * geo.S;
    row_off[1] = off1; row_start[1] = geo.Div(off1) * geo.S;
  }
  // rows (bit hf) that may see candidate C + off; bitwise, not short-circuit, so no branches
  __device__ __forceinline__ unsigned Rows(int off) const {
    const bool start = ((off < 128) & (bool)(((off < 64 ? lo : hi) >> (off & 63)) & 1u)) | (off == S);
    unsigned rows = 0u;
#pragma unroll
    for (int hf = 0; hf < 2; hf++)
      rows |= (unsigned)((off <= row_off[hf]) & (start | (off >= row_start[hf]))) << hf;
    return off < 0 ? 3u : off < nloc ? rows : 0u;
  }
  // Masks a tile's S fragments: s[4 nt + 2 hf + e] is row hf, column 2t + e of n8 tile nt (the
  // m16n8k16 c0..c3, also wgmma's accumulator order); its candidate is C + off0 + 8 nt + e, where
  // off0 = t0 - C + 2t.
  template <int NT>
  __device__ __forceinline__ void Apply(float* s, int off0) const {
#pragma unroll
    for (int nt = 0; nt < NT; nt++) {
#pragma unroll
      for (int e = 0; e < 2; e++) {
        const unsigned rows = Rows(off0 + 8 * nt + e);
#pragma unroll
        for (int hf = 0; hf < 2; hf++)
          if (!(rows >> hf & 1u)) s[4 * nt + 2 * hf + e] = -INFINITY;
      }
    }
  }
};

// Which 16-key groups of the tile at candidate t0 (bit kk: candidates t0 + 16kk .. t0 + 16kk + 15)
// hold a key that some row of a warp may see; the warp's valid rows have local offsets
// (i - local0) lo..hi. A group is live iff it holds a compressed candidate (seen by every row), or
// a local key at offset a..b (b clipped to hi: later keys are causally masked) that is a block
// start or lies at or after the start of row lo's block (then row max(key, lo) sees it). Any other
// local key is in an earlier block than every row and not a block start: masked for all rows.
__device__ __forceinline__ unsigned LiveGroups(int t0, int C, int total, int S, int lo, int hi) {
  const int lo_block_start = lo / S * S;
  unsigned live = 0u;
#pragma unroll
  for (int kk = 0; kk < kBK / 16; kk++) {
    const int c0 = t0 + 16 * kk, c1 = min(c0 + 15, total - 1);
    if (c0 >= total) continue;                       // padding only
    if (c0 < C) { live |= 1u << kk; continue; }      // a compressed key
    const int a = c0 - C, b = min(c1 - C, hi);
    if (a > b) continue;                             // all after the warp's last row
    const int first_start = (a + S - 1) / S * S;     // first block start >= a
    if (b >= lo_block_start || first_start <= b) live |= 1u << kk;
  }
  return live;
}

// Gathers BK key candidates starting at t0 (see the key-set comment above) of one [N, HD] head
// into dst[BK][kStride]; candidates >= total are zero rows.
template <typename T, int HD, int WARPS>
__device__ __forceinline__ void LoadKeyTile(T* dst, const T* __restrict__ src, int t0, int C, int total,
                                            int S, int local0) {
  using Cfg = Config<HD, WARPS>;
  static_assert(kBK * Cfg::kChunks % Cfg::kThreads == 0, "whole chunks per thread");
#pragma unroll
  for (int it = 0; it < kBK * Cfg::kChunks / Cfg::kThreads; it++) {
    const int e = threadIdx.x + it * Cfg::kThreads;
    const int r = e / Cfg::kChunks, c = e % Cfg::kChunks;
    const int cand = t0 + r;
    const bool valid = cand < total;
    const int j = cand < C ? cand * S : local0 + (cand - C);
    CpAsync16(SmemAddr(dst + r * Cfg::kStride + c * 8), valid ? src + (size_t)j * HD + c * 8 : src, valid);
  }
}

// Occupancy target: 16 resident warps per SM for head_dim 64 (<= 128 registers a thread), 8 for
// head_dim 128 (Q, O and S fragments alone take 32 + 64 + 32 registers a thread).
template <typename T, int HD, int WARPS>
__global__ void __launch_bounds__(32 * WARPS, (HD <= 64 ? 16 : 8) / WARPS)
TensorCoreKernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v, T* __restrict__ y,
                 int H, int Hkv, int N, int S, BlockGeometry geo, float sl2, bool negate) {
  using Cfg = Config<HD, WARPS>;
  constexpr int kStride = Cfg::kStride, kBQ = Cfg::kBQ, kChunks = Cfg::kChunks;
  constexpr int kDK = HD / 16;   // k-steps of S = Q K^T (over head_dim)
  constexpr int kNT = kBK / 8;   // n-tiles (8 keys) of S
  constexpr int kDT = HD / 8;    // n-tiles (8 dims) of O
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* sq = reinterpret_cast<T*>(smem_raw);   // [kBQ][kStride]; later each warp's output staging
  T* sk = sq + kBQ * kStride;               // [kBK][kStride]
  T* sv = sk + kBK * kStride;               // [kBK][kStride]

  const int tile = gridDim.x - 1 - blockIdx.x;
  const int h = blockIdx.y, b = blockIdx.z;
  const int hk = h / (H / Hkv);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int g = lane >> 2, t4 = lane & 3;     // mma groupID, threadID_in_group
  const int lm = lane >> 3, lr = lane & 7;    // ldmatrix: matrix this lane addresses, row in it

  const TileKeys keys(tile, kBQ, kBK, N, geo);
  const int q0 = keys.q0, C = keys.C, local0 = keys.local0, total = keys.total, ntiles = keys.ntiles;

  const T* qh = q + ((size_t)b * H + h) * (size_t)N * HD;
  const T* kh = k + ((size_t)b * Hkv + hk) * (size_t)N * HD;
  const T* vh = v + ((size_t)b * Hkv + hk) * (size_t)N * HD;
  T* yh = y + ((size_t)b * H + h) * (size_t)N * HD;

  // ---- prologue: Q tile (rows >= N zero) and K tile 0
  static_assert(kBQ * kChunks % Cfg::kThreads == 0, "whole chunks per thread");
#pragma unroll
  for (int it = 0; it < kBQ * kChunks / Cfg::kThreads; it++) {
    const int e = threadIdx.x + it * Cfg::kThreads;
    const int r = e / kChunks, c = e % kChunks;
    const bool valid = q0 + r < N;
    CpAsync16(SmemAddr(sq + r * kStride + c * 8), valid ? qh + (size_t)(q0 + r) * HD + c * 8 : qh, valid);
  }
  LoadKeyTile<T, HD, WARPS>(sk, kh, 0, C, total, S, local0);
  CpAsyncCommit();
  CpAsyncWaitAll();
  __syncthreads();

  // This warp's rows: row0 + g (fragment c0, c1) and row0 + g + 8 (c2, c3).
  const int row0 = q0 + 16 * warp;
  const bool warp_active = row0 < N;            // has a row < N (rows >= N are computed, not stored)
  const int row_lo_off = row0 - local0;         // local offsets of the warp's first and last valid row
  const int row_hi_off = min(row0 + 15, N - 1) - local0;
  const LocalMask mask(geo, C, total, row0 + g - local0, row0 + g + 8 - local0);   // rows g, g + 8

  // Q fragments (A operand), k-step kd covers d 16kd..16kd+15: matrix lm = rows +8(lm & 1), d +8(lm >> 1).
  uint32_t qf[kDK][4];
  {
    const T* src = sq + (16 * warp + 8 * (lm & 1) + lr) * kStride + 8 * (lm >> 1);
#pragma unroll
    for (int kd = 0; kd < kDK; kd++) {
      LdMatrixX4(qf[kd], SmemAddr(src + 16 * kd));
      if (negate) {
#pragma unroll
        for (int x = 0; x < 4; x++) qf[kd][x] ^= 0x80008000u;  // flip both halves' sign bits
      }
    }
  }

  float o[kDT][4];                              // O accumulator: d-tile dt holds d 8dt + 2t, +1
#pragma unroll
  for (int dt = 0; dt < kDT; dt++) o[dt][0] = o[dt][1] = o[dt][2] = o[dt][3] = 0.f;
  float m[2] = {-INFINITY, -INFINITY};          // running max of raw scores, rows g and g + 8
  float l[2] = {0.f, 0.f};                      // this lane's part of the running sum

  // ldmatrix source rows (see the fragment comment): K non-trans keys +8(lm >> 1), d +8(lm & 1);
  // V trans keys +8(lm & 1), d +8(lm >> 1).
  const T* k_src = sk + (8 * (lm >> 1) + lr) * kStride + 8 * (lm & 1);
  const T* v_src = sv + (8 * (lm & 1) + lr) * kStride + 8 * (lm >> 1);

  for (int t = 0; t < ntiles; t++) {
    const int t0 = t * kBK;
    CpAsyncWaitAll();
    __syncthreads();                            // K(t) visible; all warps done reading V(t-1)
    LoadKeyTile<T, HD, WARPS>(sv, vh, t0, C, total, S, local0);
    CpAsyncCommit();

    // live: the 16-key groups of this tile holding a key that some row of this warp may see
    // (warp-uniform; all four for tiles of compressed keys only).
    unsigned live = 0u;
    if (warp_active) live = t0 + kBK <= C ? 0xfu : LiveGroups(t0, C, total, S, row_lo_off, row_hi_off);
    float s[kNT][4];
    if (live) {
      // ---- S = Q K^T: 16 x 64 raw scores
      if (live == 0xfu) ScoreTile<T, HD, true>(s, qf, k_src, live);
      else ScoreTile<T, HD, false>(s, qf, k_src, live);
      // ---- mask (only tiles reaching past the compressed keys)
      if (t0 + kBK > C) mask.Apply<kNT>(&s[0][0], t0 - C + 2 * t4);
      // ---- online softmax, rows g (hf = 0) and g + 8 (hf = 1)
#pragma unroll
      for (int hf = 0; hf < 2; hf++) {
        float mx = -INFINITY;
#pragma unroll
        for (int nt = 0; nt < kNT; nt++) mx = fmaxf(mx, fmaxf(s[nt][2 * hf], s[nt][2 * hf + 1]));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));   // the row's 4 lanes (a quad)
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        const float m_new = fmaxf(m[hf], mx);
        const float m_scaled = m_new == -INFINITY ? 0.f : m_new * sl2;
        const float corr = Exp2(m[hf] * sl2 - m_scaled);     // 0 while m was -inf (O, l are 0)
        m[hf] = m_new;
        float sum = 0.f;
#pragma unroll
        for (int nt = 0; nt < kNT; nt++) {
#pragma unroll
          for (int e = 0; e < 2; e++) {
            const float p = Exp2(fmaf(s[nt][2 * hf + e], sl2, -m_scaled));  // masked: exp2(-inf) = 0
            s[nt][2 * hf + e] = p;
            sum += p;
          }
        }
        l[hf] = l[hf] * corr + sum;
#pragma unroll
        for (int dt = 0; dt < kDT; dt++) {
          o[dt][2 * hf] *= corr;
          o[dt][2 * hf + 1] *= corr;
        }
      }
    }

    CpAsyncWaitAll();
    __syncthreads();                            // V(t) visible; all warps done reading K(t)
    if (t + 1 < ntiles) {
      LoadKeyTile<T, HD, WARPS>(sk, kh, t0 + kBK, C, total, S, local0);
      CpAsyncCommit();
    }

    if (live) {
      // ---- O += P V: P (16 x 64) straight from the S fragments
      if (live == 0xfu) AccumulatePV<T, HD, true>(o, s, v_src, live);
      else AccumulatePV<T, HD, false>(o, s, v_src, live);
    }
  }

  if (!warp_active) return;
  // ---- epilogue: y = O / l, staged through this warp's own 16 Q rows in smem (read only by this
  // warp, into qf, before the loop) so the global stores are 16-byte, row-contiguous.
#pragma unroll
  for (int hf = 0; hf < 2; hf++) {
    l[hf] += __shfl_xor_sync(0xffffffffu, l[hf], 1);
    l[hf] += __shfl_xor_sync(0xffffffffu, l[hf], 2);
  }
  const float inv0 = 1.f / l[0], inv1 = 1.f / l[1];   // l >= 1 for rows < N: a query sees itself
  T* so = sq + 16 * warp * kStride;
#pragma unroll
  for (int dt = 0; dt < kDT; dt++) {
    *reinterpret_cast<uint32_t*>(so + g * kStride + 8 * dt + 2 * t4) = Pack<T>(o[dt][0] * inv0, o[dt][1] * inv0);
    *reinterpret_cast<uint32_t*>(so + (g + 8) * kStride + 8 * dt + 2 * t4) = Pack<T>(o[dt][2] * inv1, o[dt][3] * inv1);
  }
  __syncwarp();
#pragma unroll
  for (int it = 0; it < 16 * kChunks / 32; it++) {
    const int e = lane + 32 * it;
    const int r = e / kChunks, c = e % kChunks;
    if (row0 + r < N)
      *reinterpret_cast<uint4*>(yh + (size_t)(row0 + r) * HD + c * 8) =
          *reinterpret_cast<const uint4*>(so + r * kStride + c * 8);
  }
}

template <typename T, int HD, int WARPS>
cudaError_t Launch(const Problem& p, cudaStream_t stream) {
  using Cfg = Config<HD, WARPS>;
  auto kernel = TensorCoreKernel<T, HD, WARPS>;
  if (Cfg::kSmemBytes > 48 * 1024) {
    cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, Cfg::kSmemBytes);
    if (e != cudaSuccess) return e;
  }
  const float sl2 = std::fabs(p.scale) * 1.4426950408889634f;  // |scale| * log2(e)
  dim3 grid((unsigned)((p.N + Cfg::kBQ - 1) / Cfg::kBQ), (unsigned)p.H, (unsigned)p.B);
  kernel<<<grid, Cfg::kThreads, Cfg::kSmemBytes, stream>>>(
      static_cast<const T*>(p.q), static_cast<const T*>(p.k), static_cast<const T*>(p.v), static_cast<T*>(p.y),
      (int)p.H, (int)p.Hkv, (int)p.N, (int)p.S, BlockGeometry((int)p.S), sl2, p.scale < 0.f);
  return cudaGetLastError();
}

template <typename T>
cudaError_t LaunchType(const Problem& p, cudaStream_t stream, int block_q) {
  if (p.hd == 64) return block_q == 64 ? Launch<T, 64, 4>(p, stream) : Launch<T, 64, 8>(p, stream);
  return block_q == 64 ? Launch<T, 128, 4>(p, stream) : Launch<T, 128, 8>(p, stream);
}

}  // namespace tc

}  // namespace gpu
}  // namespace catonnx

#include "cat_attention_wgmma.cuh"  // wg::WgmmaKernel (sm_90a); uses the tc:: helpers above

namespace catonnx {
namespace gpu {

// Default query rows per CTA of the tensor-core kernel (64 = 4 warps, 128 = 8 warps). 128 halves
// the K/V traffic from L2 into shared memory per query, yet 64 measured 1.1-1.4x faster on every
// benchmark shape on the H200 (more CTAs per SM; docs/results/kernel-bench-bq*.md).
constexpr int kDefaultBlockQ = 64;

inline bool Aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

/** True when LaunchCatAttention(p, s, false) runs the tensor-core kernel for p. */
inline bool UsesTensorCores(const Problem& p) {
  return (p.type == DType::kFloat16 || p.type == DType::kBFloat16) && (p.hd == 64 || p.hd == 128) &&
         std::isfinite(p.scale) && p.scale != 0.f &&
         Aligned16(p.q) && Aligned16(p.k) && Aligned16(p.v) && Aligned16(p.y);
}

/** The tensor-core kernel with a chosen block_q (64 or 128); p must satisfy UsesTensorCores. */
inline cudaError_t LaunchTensorCore(const Problem& p, cudaStream_t stream, int block_q = kDefaultBlockQ) {
  if (!UsesTensorCores(p) || (block_q != 64 && block_q != 128)) return cudaErrorInvalidValue;
  if (p.B == 0 || p.H == 0 || p.N == 0) return cudaSuccess;
  return p.type == DType::kFloat16 ? tc::LaunchType<__half>(p, stream, block_q)
                                   : tc::LaunchType<__nv_bfloat16>(p, stream, block_q);
}

/** True when p takes a tensor-core kernel and the device runs this binary's sm_90a image. */
inline bool UsesWgmma(const Problem& p) { return UsesTensorCores(p) && wg::Available(); }

/** The warpgroup-MMA kernel with BK keys per tile (32 or 64; the library's choice: WgmmaKeyTile);
 *  p must satisfy UsesWgmma. */
template <int BK = 64>
inline cudaError_t LaunchWgmma(const Problem& p, cudaStream_t stream) {
  if (!UsesWgmma(p)) return cudaErrorInvalidValue;
  if (p.B == 0 || p.H == 0 || p.N == 0) return cudaSuccess;
  return p.type == DType::kFloat16 ? wg::LaunchType<__half, BK>(p, stream)
                                   : wg::LaunchType<__nv_bfloat16, BK>(p, stream);
}

/**
 * Keys per tile of the library's wgmma kernel for p. At head_dim 128 always 32: its two-stage BK-32
 * form fits 4 CTAs on an SM (BK 64: 2) and measured faster at every benchmark shape, up to 1,639
 * blocks (L = 8192, chunk 4: 1.01x; chunk 8: 1.05-1.07x; docs/PERFORMANCE.md, session 11). At
 * head_dim 64, 32 where a query tile's loop is short (at most 128 blocks): finer tiles waste less of
 * the partly filled local tiles that dominate a short loop; longer loops run faster on 64-key tiles
 * (measured in sessions 6, 9 and 11).
 */
inline int WgmmaKeyTile(const Problem& p) {
  const int64_t blocks = (p.N + p.S - 1) / p.S;
  return p.hd == 128 || blocks <= 128 ? 32 : 64;
}

/** The wgmma kernel with the library's key tile (WgmmaKeyTile); p must satisfy UsesWgmma. */
inline cudaError_t LaunchWgmmaAuto(const Problem& p, cudaStream_t stream) {
  return WgmmaKeyTile(p) == 32 ? LaunchWgmma<32>(p, stream) : LaunchWgmma<64>(p, stream);
}

/** Name of the kernel LaunchCatAttention(p, s, false) runs: "wgmma", "mma.sync" or "scalar". */
inline const char* ChosenKernel(const Problem& p) {
  return UsesWgmma(p) ? "wgmma" : UsesTensorCores(p) ? "mma.sync" : "scalar";
}

/**
 * Runs y = CatAttention(q, k, v) on the stream: for float16 / bfloat16 with head_dim 64 or 128
 * (finite non-zero scale, 16-byte aligned pointers) a tensor-core kernel, wgmma (key tile WgmmaKeyTile)
 * when the device runs the sm_90a image (UsesWgmma), else mma.sync; otherwise the scalar kernel (head_dim <= 128).
 * force_scalar: always the scalar kernel. The caller checks the shapes (Hkv divides H, S > 0,
 * H and B <= 65535, N and S <= 2^30); returns the launch error.
 */
inline cudaError_t LaunchCatAttention(const Problem& p, cudaStream_t stream, bool force_scalar) {
  if (p.B == 0 || p.H == 0 || p.N == 0 || p.hd == 0) return cudaSuccess;
  if (p.hd > scalar::kMaxHeadDim) return cudaErrorInvalidValue;
  // wgmma measured 1.2-1.6x mma.sync on every benchmark shape on the H200 (docs/PERFORMANCE.md)
  if (!force_scalar && UsesTensorCores(p)) return UsesWgmma(p) ? LaunchWgmmaAuto(p, stream) : LaunchTensorCore(p, stream);
  switch (p.type) {
    case DType::kFloat32: return scalar::Launch<float>(p, stream);
    case DType::kFloat16: return scalar::Launch<__half>(p, stream);
    default: return scalar::Launch<__nv_bfloat16>(p, stream);
  }
}

}  // namespace gpu
}  // namespace catonnx
