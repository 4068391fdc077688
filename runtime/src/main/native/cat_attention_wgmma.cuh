// CatAttention on Hopper warpgroup MMA (wgmma.mma_async, sm_90a), FlashAttention-3 style; included
// by cat_attention_kernels.cuh, whose header comment gives the operator, and whose tc:: helpers
// (cp.async, Pack, Exp2) this kernel reuses. Same key set, masking and softmax as
// tc::TensorCoreKernel (see its comment): summaries k[c * S] of the blocks before the tile's first
// block (unmasked), then the contiguous range [local0, qlast] masked per element.
//
// WgmmaKernel<T, HD, BK>: one CTA = one warpgroup (4 warps, 128 threads) = 64 query rows;
// grid (ceil(N / 64), H, B), blockIdx.x reversed so the heaviest (latest) tiles start first.
// Several CTAs share an SM (at head_dim 64, 5 with BK 64 and 6 with BK 32; at 128, 2 with BK 64
// and 4 with BK 32), so one CTA's softmax overlaps another's MMAs. BK = keys per tile, 32 or 64
// (WgmmaKeyTile). The kernel is bound by its instruction stream (Nsight Compute), hence the lean
// loop: S starts at zero through wgmma's scale-d, descriptors are offsets of three bases, a tile
// of summaries is loaded through one pointer and stride, the mask is a 64-bit column mask per row,
// and after the first tile no row max is taken: P = 2^(s sl2 - ms) against a reference ms that
// moves only when a thread's partial row sum of a tile passes 2^8 (Rebase; O / l does not depend
// on the reference, as in FlashAttention-4's lazy rescaling, and P stays <= 2^8).
//   S = Q K^T   wgmma m64n{BK}k16, A = Q and B = K both from shared memory (K-major), HD / 16 steps
//   O += P V    wgmma m64n{HD}k16, A = P from registers (the RS form), B = V from shared memory,
//               N-major (V is [key][d]: transpose bit set), BK / 16 steps
// Accumulators (f32) in the wgmma D layout: warp w of the warpgroup, g = lane / 4, t = lane % 4,
// register 4j + x holds row 16w + g + 8 (x >> 1), column 8j + 2t + (x & 1): per n8 tile j the
// c0..c3 of mma.sync m16n8k16, so the mask, the online softmax (rows g and g + 8, quad shuffles)
// and the S -> P repacking are those of tc::TensorCoreKernel. The RS A fragment of k-step kk
// (keys 16kk..16kk+15) is the m16n8k16 A fragment: pack(S tile 2kk c0, c1), pack(2kk c2, c3),
// pack(2kk+1 c0, c1), pack(2kk+1 c2, c3).
//
// Shared memory: Q [64][HD], and per stage K, V [BK][HD], each stored as HD / 64 panels of
// [rows][64 elements = 128 bytes] with the 128-byte swizzle: the 16-byte chunk c (0..7) of row r
// lies at chunk c ^ (r % 8) of that row; panels start on 1024-byte boundaries (the swizzle
// atom: 8 rows x 128 bytes). Descriptors (swizzle mode 1 = 128B in bits 62-63):
//   Q, K (K-major): start = panel + 32 bytes per 16-element k-step inside the 128-byte row (the
//       hardware applies the XOR to the final address), SBO = 1024 (next 8 rows), LBO unused (1).
//   V (N-major):    start = V + 16 keys * 128 bytes per k-step, SBO = 1024 (next 8 keys),
//                   LBO = BK * 128 (next panel: d + 64).
// Q: one TMA box a panel of a 3-d tensor map (d, position, head; RowMap) on an mbarrier of its own, rows
// past N zero-filled; y: staged in the Q tile, then one TMA store a warp and panel, rows past N clipped
// (the store of y by TMA measured 1.02-1.08x, Q 1.00-1.04x; cp.async and 16-byte stores without maps).
// Loads: K and V of one key tile per stage, three stages with one barrier per tile: the barrier
// publishing tile t also proves every warp done with tile t - 1, whose stage then receives tile
// t + 2 (kAhead = 2 tiles in flight behind the MMAs), issued while S of tile t runs; at head_dim
// 128 / BK 32 and 64 / BK 64 two stages, tile t + 1 (kTwoStages: the smaller CTA lets one more
// share an SM). Tiles of summaries only are rows c S, c = t0 .. t0 + BK - 1: at head_dim 128 and
// at 64 / BK 64 (kTma) one TMA box per panel of a 4-d tensor map (d, position in block, block,
// head; SummaryMap) lands them, swizzled, on the stage's mbarrier; every other tile is cp.async by
// all 128 threads, one commit group per tile (empty for TMA tiles), which each thread waits for
// and fences into the async proxy (fence.proxy.async) before the CTA barrier publishes them to
// wgmma. kDeferPV (head_dim 128, BK 64): P V of tile t is waited for together with S of tile t + 1,
// so the two MMAs run back to back; a barrier then proves only tile t - 2's P V done, and loads run
// kAhead = 1 tile ahead.
// Every key tile is computed whole (a warpgroup MMA spans all 64 rows): with 64 rows every local
// key is seen by some row, so only fully masked padding would be skippable, and there is none.
//
// Measured and rejected on the H200 (docs/results/kernel-bench-wgmma-variants.md): two stages
// (a second barrier per tile), two warpgroups per CTA (128 query rows sharing each K / V stage)
// and FA3's intra-warpgroup overlap (S of tile t + 1 issued before P V of tile t, its softmax
// while P V runs): each slower than this kernel or no faster. Also FA3's whole structure (a
// producer warpgroup, mbarrier pipeline, ping-pong consumers, persistent CTAs) and a persistent
// form of this kernel (docs/results/kernel-bench-ws-variants.md): both slower; 128-key tiles;
// Q in registers (S in the RS form), row sums by an MMA against ones, exp2 on packed 16-bit pairs
// (docs/results/kernel-bench-session7.md): none faster. Session 9 (kernel-bench-session9.md):
// FA3's overlap once more, now with the loads split (K two tiles ahead, V one), 0.77-0.95x except
// 1.06-1.10x at head_dim 128 / BK 64, where kDeferPV gives more; kDeferPV at BK 32 0.89-1.03x.
// Session 11 (kernel-bench-session11.md): longest-first CTA order across heads, a half-width S for
// a last tile at most half full, and part of the exponentials as an FMA polynomial: all slower.
// Session 12 (kernel-bench-session12.md): the local keys first, per warp on mma.sync, then a loop over
// summaries only (0.77-0.97x; that loop alone is 1.11-1.52x, so the local keys cost the difference);
// the tile loop unrolled over its stages (0.99-1.01x). Session 13 (kernel-bench-session13.md): y staged in a
// free stage so that the epilogue needs no CTA barrier (0.995-1.009x); every key tile by TMA in 8-row boxes,
// the local keys from an 8-aligned candidate (0.81-0.995x); Q in registers at head_dim 128 / BK 32, S in the RS
// form (3 CTAs an SM instead of 4: 0.85-1.00x); 48-key tiles at head_dim 64 (0.95-0.97x). Session 14
// (kernel-bench-session14.md): a narrow last key tile at BK 64 (0.98-1.01x); two warpgroups a CTA whose
// MMA blocks take turns, FA3's ping-pong (0.84-0.92x).
#pragma once
#include <atomic>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <cuda.h>           // CUtensorMap (a type only: the encoder is found through the runtime)
#include <cudaTypedefs.h>   // PFN_cuTensorMapEncodeTiled

namespace catonnx {
namespace gpu {
namespace wg {

using tc::CpAsync16;
using tc::CpAsyncCommit;
using tc::Exp2;
using tc::Pack;
using tc::SmemAddr;

constexpr int kBQ = 64;          // query rows per CTA (one warpgroup)
constexpr int kThreads = 128;

template <int HD, int BK>
struct Config {
  static_assert(HD % 64 == 0 && HD <= 128 && (BK == 32 || BK == 64), "head_dim 64 / 128, BK 32 / 64 (the mask is 64 bits)");
  static constexpr int kChunks = HD / 8;            // 16-byte chunks per row
  static constexpr int kQBytes = kBQ * HD * 2;
  static constexpr int kTileBytes = BK * HD * 2;    // one K or V stage
  // Tiles of summaries by TMA (one mbarrier per stage, after the stages) at head_dim 128 and at 64 with
  // BK 64 (there with two stages, below); at 64 with BK 32 it measured 2-3% slower.
  static constexpr bool kTma = HD == 128 || BK == 64;
  // P V waited for at the next tile's S wait (the two MMAs back to back) instead of at once; a stage
  // is then free only one tile ahead. Pays where 2 CTAs share an SM (1.12-1.15x), not with more.
  static constexpr bool kDeferPV = HD == 128 && BK == 64;
  // Two stages, loads one tile ahead, at head_dim 128 / BK 32: 48 KiB and 121 registers a CTA let a
  // fourth CTA onto an SM (three with three stages), 1.04-1.10x (docs/PERFORMANCE.md, session 10).
  // At head_dim 64 / BK 64 five CTAs instead of four (40 KiB, 96 registers, 12 bytes of spills), and
  // the freed shared memory takes TMA's mbarriers: 1.05-1.14x at L = 8192 (session 11; two stages
  // without TMA measured 1.00-1.02x, TMA with three stages and three CTAs 0.93-0.99x).
  static constexpr bool kTwoStages = HD == 128 ? BK == 32 : BK == 64;
  static constexpr int kStages = kTwoStages ? 2 : 3;
  static constexpr int kAhead = kDeferPV || kTwoStages ? 1 : 2;   // key tiles in flight behind the one computed
  // the stages' mbarriers (kTma), then Q's (when the launcher could encode the Q and y tensor maps)
  static constexpr int kBarBytes = kTma ? 8 * kStages + 8 : 8;
  // No alignment slack: the dynamic shared memory of a kernel without static shared memory starts
  // 1024-aligned on sm_90 (the kernel traps otherwise), and every byte counts toward the CTAs an SM
  // holds (head_dim 64 / BK 64: 5 x (40 KiB + 24 bytes + 1 KiB reserved) of 228 KiB).
  static constexpr int kSmemBytes = kQBytes + 2 * kStages * kTileBytes + kBarBytes;
  // CTAs per SM the shared memory allows (228 KiB per SM, 1 KiB reserved per CTA), at most 6, and
  // the registers (64 Ki per SM; the estimates a thread: 80 at hd 64 / BK 32, 102 at hd 64 / BK 64,
  // 128 at hd 128 / BK 32, 168 at hd 128 / BK 64), which __launch_bounds__ turns into register caps
  static constexpr int kSmemBlocks = (228 * 1024) / (kSmemBytes + 1024) > 6 ? 6
                                   : (228 * 1024) / (kSmemBytes + 1024) < 1 ? 1 : (228 * 1024) / (kSmemBytes + 1024);
  static constexpr int kRegBlocks = 65536 / (kThreads * (HD == 64 && BK == 32 ? 80 : HD == 64 && BK == 64 ? 102 : BK == 32 ? 128 : 168));
  static constexpr int kMinBlocks = kSmemBlocks < kRegBlocks ? kSmemBlocks : kRegBlocks < 1 ? 1 : kRegBlocks;
};

// Byte offset of 16-byte chunk c (0 .. HD / 8 - 1) of row r in a 128B-swizzled [rows][HD] tile.
__device__ __forceinline__ uint32_t Swz(int rows, int r, int c) {
  return (uint32_t)((c >> 3) * rows * 128 + r * 128 + (((c & 7) ^ (r & 7)) << 4));
}

// wgmma shared-memory matrix descriptor, 128-byte swizzle, base offset 0 (atoms 1024-aligned)
__device__ __forceinline__ uint64_t Desc(uint32_t addr, uint32_t lbo, uint32_t sbo) {
  return (uint64_t)((addr & 0x3FFFF) >> 4) | (uint64_t)((lbo & 0x3FFFF) >> 4) << 16 |
         (uint64_t)((sbo & 0x3FFFF) >> 4) << 32 | 1ull << 62;
}


#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
__device__ __forceinline__ void WgFence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void WgCommit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void WgWaitAll() { asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory"); }
__device__ __forceinline__ void FenceProxyAsync() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }
__device__ __forceinline__ void CpAsyncWait1() { asm volatile("cp.async.wait_group 1;\n" ::: "memory"); }
__device__ __forceinline__ void CpAsyncWait2() { asm volatile("cp.async.wait_group 2;\n" ::: "memory"); }
__device__ __forceinline__ void CpAsyncWait0() { asm volatile("cp.async.wait_group 0;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void PinA(uint32_t (&r)[N][4]) {
#pragma unroll
  for (int i = 0; i < N; i++) asm volatile("" : "+r"(r[i][0]), "+r"(r[i][1]), "+r"(r[i][2]), "+r"(r[i][3])::"memory");
}

// mbarriers of the TMA loads: one arrival (the issuing thread's expect_tx) plus the bytes per phase
__device__ __forceinline__ void MbarInit(uint32_t bar) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;\n" ::"r"(bar) : "memory");
}
__device__ __forceinline__ void FenceMbarInit() { asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory"); }
__device__ __forceinline__ void MbarExpectTx(uint32_t bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}
__device__ __forceinline__ void MbarWait(uint32_t bar, uint32_t parity) {
  asm volatile("{\n.reg .pred p;\nWAIT:\n"
               "mbarrier.try_wait.parity.shared::cta.b64 p, [%0], %1;\n"
               "@!p bra WAIT;\n}\n" ::"r"(bar), "r"(parity) : "memory");
}
// box (c0, c1, c2) of a 3-d tensor map into shared memory at dst, completing on bar; rows past the
// map's bounds land as zeros
__device__ __forceinline__ void TmaLoad3d(uint32_t dst, const CUtensorMap* map, int c0, int c1, int c2, uint32_t bar) {
  asm volatile("cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4}], [%5];\n"
               ::"r"(dst), "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(bar) : "memory");
}
// shared memory at src to box (c0, c1, c2) of a 3-d tensor map (rows past its bounds are not
// written); Commit + WaitRead before the CTA may exit (src must stay until read)
__device__ __forceinline__ void TmaStore3d(const CUtensorMap* map, uint32_t src, int c0, int c1, int c2) {
  asm volatile("cp.async.bulk.tensor.3d.global.shared::cta.bulk_group [%0, {%1, %2, %3}], [%4];\n"
               ::"l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(src) : "memory");
}
__device__ __forceinline__ void BulkCommit() { asm volatile("cp.async.bulk.commit_group;\n" ::: "memory"); }
__device__ __forceinline__ void BulkWaitRead() { asm volatile("cp.async.bulk.wait_group.read 0;\n" ::: "memory"); }
__device__ __forceinline__ void PrefetchTensorMap(const CUtensorMap* map) {
  asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<uint64_t>(map)) : "memory");
}
// box (c0, c1, c2, c3) of a 4-d tensor map into shared memory at dst, completing on bar
__device__ __forceinline__ void TmaLoad4d(uint32_t dst, const CUtensorMap* map, int c0, int c1, int c2, int c3, uint32_t bar) {
  asm volatile("cp.async.bulk.tensor.4d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4, %5}], [%6];\n"
               ::"r"(dst), "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(c3), "r"(bar) : "memory");
}

// Keeps the compiler from moving accesses of accumulator registers across wgmma issue / wait.
template <int N>
__device__ __forceinline__ void Pin(float (&r)[N]) {
#pragma unroll
  for (int i = 0; i < N; i++) asm volatile("" : "+f"(r[i])::"memory");
}

// d = A B + (acc ? d : 0) (SS) or d += A B (RS), m64nNk16, f32 accumulate. SS: A and B from
// descriptors, both K-major; acc = 0 starts d at zero without writing its registers.
// RS: A (64 x 16) from registers, B from a descriptor, N-major (transpose bit 1).
template <typename T, int N> __device__ __forceinline__ void WgmmaSS(float (&d)[N / 2], uint64_t a, uint64_t b, int acc);
template <typename T, int N> __device__ __forceinline__ void WgmmaRS(float (&d)[N / 2], const uint32_t (&a)[4], uint64_t b);
// The accumulator operands: N / 2 floats a thread, "+f"(d[0]) ... in order.
#define CAT_WG_ACC8(i) "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3]), \
                       "+f"(d[i + 4]), "+f"(d[i + 5]), "+f"(d[i + 6]), "+f"(d[i + 7])
#define CAT_WG_ACC16 CAT_WG_ACC8(0), CAT_WG_ACC8(8)
#define CAT_WG_ACC32 CAT_WG_ACC16, CAT_WG_ACC8(16), CAT_WG_ACC8(24)
#define CAT_WG_ACC64 CAT_WG_ACC32, CAT_WG_ACC8(32), CAT_WG_ACC8(40), CAT_WG_ACC8(48), CAT_WG_ACC8(56)
#define CAT_WG_REGS16 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15}, "
#define CAT_WG_REGS32 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "            \
                      "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, "
#define CAT_WG_REGS64 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "            \
                      "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "   \
                      "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "   \
                      "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
// One SS and one RS specialization for element type T (PTX name P) and N; A0 = the first operand
// after the accumulators ("32" or "64"), then the next indices as strings.
#define CAT_WG_PAIR(T, P, N, REGS, ACC, A0, A1, A2, A3, A4)                                                \
  template <> __device__ __forceinline__ void WgmmaSS<T, N>(float (&d)[N / 2], uint64_t a, uint64_t b, int acc) { \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %" A2 ", 0;\n"                                       \
                 "wgmma.mma_async.sync.aligned.m64n" #N "k16.f32." P "." P " " REGS                      \
                 "%" A0 ", %" A1 ", p, 1, 1, 0, 0;\n}\n" : ACC : "l"(a), "l"(b), "r"(acc));                 \
  }                                                                                                        \
  template <> __device__ __forceinline__ void WgmmaRS<T, N>(float (&d)[N / 2], const uint32_t (&a)[4], uint64_t b) { \
    asm volatile("wgmma.mma_async.sync.aligned.m64n" #N "k16.f32." P "." P " " REGS                      \
                 "{%" A0 ", %" A1 ", %" A2 ", %" A3 "}, %" A4 ", 1, 1, 1, 1;\n"                              \
                 : ACC : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b));                               \
  }
CAT_WG_PAIR(__nv_bfloat16, "bf16", 32, CAT_WG_REGS16, CAT_WG_ACC16, "16", "17", "18", "19", "20")
CAT_WG_PAIR(__half, "f16", 32, CAT_WG_REGS16, CAT_WG_ACC16, "16", "17", "18", "19", "20")
CAT_WG_PAIR(__nv_bfloat16, "bf16", 64, CAT_WG_REGS32, CAT_WG_ACC32, "32", "33", "34", "35", "36")
CAT_WG_PAIR(__nv_bfloat16, "bf16", 128, CAT_WG_REGS64, CAT_WG_ACC64, "64", "65", "66", "67", "68")
CAT_WG_PAIR(__half, "f16", 64, CAT_WG_REGS32, CAT_WG_ACC32, "32", "33", "34", "35", "36")
CAT_WG_PAIR(__half, "f16", 128, CAT_WG_REGS64, CAT_WG_ACC64, "64", "65", "66", "67", "68")
#undef CAT_WG_PAIR
#undef CAT_WG_REGS64
#undef CAT_WG_REGS32
#undef CAT_WG_ACC64
#undef CAT_WG_ACC32
#undef CAT_WG_ACC16
#undef CAT_WG_REGS16
#undef CAT_WG_ACC8
#endif  // __CUDA_ARCH_FEAT_SM90_ALL

// Gathers BK key candidates from t0 (tc::LoadKeyTile's enumeration) of one [N, HD] head of k and
// of v into the swizzled tiles at dk, dv (shared addresses); candidates >= total are zero rows.
template <typename T, int HD, int BK>
__device__ __forceinline__ void LoadKVTile(uint32_t dk, uint32_t dv, const T* __restrict__ kh, const T* __restrict__ vh,
                                           int t0, int C, int total, int S, int local0) {
  constexpr int kChunks = HD / 8;
  constexpr int kRowsPerPass = kThreads / kChunks;   // a multiple of 8: one swizzle phase per thread
  static_assert(BK % kRowsPerPass == 0 && kRowsPerPass % 8 == 0, "whole passes of whole swizzle atoms");
  const int c = threadIdx.x % kChunks, r0 = threadIdx.x / kChunks;   // this thread's chunk, first row
  const T* kc = kh + c * 8;
  const T* vc = vh + c * 8;
#pragma unroll
  for (int it = 0; it < BK / kRowsPerPass; it++) {
    const int r = r0 + it * kRowsPerPass;
    const int cand = t0 + r;
    const bool valid = cand < total;
    const int j = !valid ? 0 : cand < C ? cand * S : cand + (local0 - C);
    CpAsync16(dk + Swz(BK, r, c), kc + (size_t)j * HD, valid);
    CpAsync16(dv + Swz(BK, r, c), vc + (size_t)j * HD, valid);
  }
}

// LoadKVTile for a tile of summaries only (t0 + BK <= C): candidate r is row (t0 + r) S, an
// arithmetic progression, so a thread's rows are one pointer and a stride (no per-row selects).
template <typename T, int HD, int BK>
__device__ __forceinline__ void LoadKVSummaries(uint32_t dk, uint32_t dv, const T* __restrict__ kh, const T* __restrict__ vh,
                                                int t0, int S) {
  constexpr int kChunks = HD / 8;
  constexpr int kRowsPerPass = kThreads / kChunks;
  const int c = threadIdx.x % kChunks, r0 = threadIdx.x / kChunks;
  const size_t first = (size_t)(t0 + r0) * S * HD + c * 8, step = (size_t)kRowsPerPass * S * HD;
  const T* kp = kh + first;
  const T* vp = vh + first;
#pragma unroll
  for (int it = 0; it < BK / kRowsPerPass; it++) {
    const int r = r0 + it * kRowsPerPass;
    CpAsync16(dk + Swz(BK, r, c), kp + it * step, true);
    CpAsync16(dv + Swz(BK, r, c), vp + it * step, true);
  }
}

// Key tile t0 into the stage at dk, dv: the summaries-only path when the whole tile lies below C.
template <typename T, int HD, int BK>
__device__ __forceinline__ void LoadKeyTile(uint32_t dk, uint32_t dv, const T* __restrict__ kh, const T* __restrict__ vh,
                                            int t0, int C, int total, int S, int local0) {
  if (t0 + BK <= C) LoadKVSummaries<T, HD, BK>(dk, dv, kh, vh, t0, S);
  else LoadKVTile<T, HD, BK>(dk, dv, kh, vh, t0, C, total, S, local0);
}

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
// The summaries t0 .. t0 + BK - 1 of head bh (= b Hkv + hk) by TMA, issued by one thread: per
// tensor HD / 64 boxes of 64 elements x BK blocks (SummaryMap), each one swizzled panel.
template <int HD, int BK>
__device__ __forceinline__ void LoadSummariesTma(uint32_t dk, uint32_t dv, const CUtensorMap* tmk, const CUtensorMap* tmv,
                                                 int t0, int bh, uint32_t bar) {
  MbarExpectTx(bar, 2u * BK * HD * 2u);
#pragma unroll
  for (int p = 0; p < HD / 64; p++) {
    TmaLoad4d(dk + p * BK * 128, tmk, 64 * p, 0, t0, bh, bar);
    TmaLoad4d(dv + p * BK * 128, tmv, 64 * p, 0, t0, bh, bar);
  }
}
#endif

// Columns 0..x of a 64-column tile as bits (none for x < 0, all for x >= 63).
__device__ __forceinline__ uint64_t ColsUpTo(int x) {
  return x < 0 ? 0ull : x >= 63 ? ~0ull : (2ull << x) - 1ull;
}

// The visible columns (bit j: candidate t0 + j, base = t0 - C) of row hf of a tile of at most 64
// keys, by tc::LocalMask's rule: every summary (candidate < C); a local key at offset
// off = base + j, 0 <= off <= min(row_off, nloc - 1), when it lies in the row's block
// (off >= row_start) or is a block start (LocalMask's bits of the multiples of S below 128).
__device__ __forceinline__ uint64_t VisibleCols(const tc::LocalMask& mask, int hf, int base) {
  uint64_t starts;                                          // bit j: offset base + j is a block start
  if (base >= 0) starts = base >= 128 ? 0ull : base >= 64 ? mask.hi >> (base - 64)
                        : base == 0 ? mask.lo : (mask.lo >> base) | (mask.hi << (64 - base));
  else starts = -base >= 64 ? 0ull : mask.lo << -base;
  const uint64_t own_block = ~ColsUpTo(mask.row_start[hf] - base - 1);
  return ColsUpTo(-base - 1) | ((own_block | starts) & ColsUpTo(min(mask.row_off[hf], mask.nloc - 1) - base));
}

// Masks row hf of this thread's S fragment (column 8 nt + 2 t4 + e = s[4 nt + 2 hf + e]) by its
// visible columns (base = t0 - C): bit 8 nt + e of the column mask shifted by 2 t4.
template <int BK>
__device__ __forceinline__ void MaskRow(float (&s)[BK / 2], const tc::LocalMask& mask, int hf, int base, int t4) {
  const uint64_t vis = VisibleCols(mask, hf, base) >> (2 * t4);
  const uint32_t lo32 = (uint32_t)vis, hi32 = (uint32_t)(vis >> 32);
#pragma unroll
  for (int nt = 0; nt < BK / 8; nt++)
#pragma unroll
    for (int e = 0; e < 2; e++) {
      const int bit = 8 * nt + e;
      if (!(((bit < 32 ? lo32 : hi32) >> (bit & 31)) & 1u)) s[4 * nt + 2 * hf + e] = -INFINITY;
    }
}

// Element j (0 .. BK / 4 - 1) of row hf in a thread's S fragment: column 8 (j / 2) + 2 t4 + j % 2.
__device__ __forceinline__ constexpr int RowElem(int hf, int j) { return 4 * (j >> 1) + 2 * hf + (j & 1); }

constexpr int kNoMask = INT_MIN;   // Rebase's base for a tile of summaries only

template <typename T> __device__ __forceinline__ float2 Unpack(uint32_t x);
template <> __device__ __forceinline__ float2 Unpack<__nv_bfloat16>(uint32_t x) {
  return __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&x));
}
template <> __device__ __forceinline__ float2 Unpack<__half>(uint32_t x) {
  return __half22float2(*reinterpret_cast<const __half2*>(&x));
}

// q_row . k_col from the swizzled Q tile and K stage (f32, CUDA cores; Rebase's rare path).
template <typename T, int HD, int BK>
__device__ __forceinline__ float Dot(const unsigned char* sq, const unsigned char* skt, int row, int col) {
  float acc = 0.f;
#pragma unroll 2
  for (int c = 0; c < HD / 8; c++) {
    const uint4 a = *reinterpret_cast<const uint4*>(sq + Swz(kBQ, row, c));
    const uint4 b = *reinterpret_cast<const uint4*>(skt + Swz(BK, col, c));
    const uint32_t aw[4] = {a.x, a.y, a.z, a.w}, bw[4] = {b.x, b.y, b.z, b.w};
#pragma unroll
    for (int w = 0; w < 4; w++) {
      const float2 x = Unpack<T>(aw[w]), y = Unpack<T>(bw[w]);
      acc = fmaf(x.x, y.x, fmaf(x.y, y.y, acc));
    }
  }
  return acc;
}

// Moves the references of a tile whose P (computed against ms) may pass 2^8 (some thread's
// partial row sum ts did): the whole warp calls it, each quad decides for its row together.
// - P finite (ts < 2^100): ms rises by e, the exponent of the row's largest P, and P, ts, l and
//   O are scaled by 2^-e, exactly (a power of two).
// - Otherwise (some P overflowed, or ms = -inf: nothing was visible before): the raw scores are
//   recomputed from shared memory (base: the mask's, or kNoMask) and the row restarts from its max.
template <typename T, int HD, int BK>
__device__ __forceinline__ void Rebase(float (&s)[BK / 2], float (&o)[HD / 2], float (&ms)[2], float (&ts)[2], float (&l)[2],
                                       const unsigned char* sq, const unsigned char* skt, const tc::LocalMask& mask,
                                       int base, float sl2, int warp, int g, int t4) {
  float corr[2];
#pragma unroll
  for (int hf = 0; hf < 2; hf++) {
    int bad = !(ts[hf] < 0x1p100f);
    bad |= __shfl_xor_sync(0xffffffffu, bad, 1);
    bad |= __shfl_xor_sync(0xffffffffu, bad, 2);
    float cand = -INFINITY;   // bad: the row's max scaled score, else its largest P
    if (bad) {   // (a rolled loop: the register array is written through selects, not indexed)
      const int row = 16 * warp + g + 8 * hf;
#pragma unroll 1
      for (int j = 0; j < BK / 4; j++) {
        const float x = Dot<T, HD, BK>(sq, skt, row, 8 * (j >> 1) + 2 * t4 + (j & 1)) * sl2;
#pragma unroll
        for (int jj = 0; jj < BK / 4; jj++)
          if (jj == j) s[RowElem(hf, jj)] = x;
      }
      if (base != kNoMask) MaskRow<BK>(s, mask, hf, base, t4);
    }
#pragma unroll
    for (int j = 0; j < BK / 4; j++) cand = fmaxf(cand, s[RowElem(hf, j)]);
    cand = fmaxf(cand, __shfl_xor_sync(0xffffffffu, cand, 1));
    cand = fmaxf(cand, __shfl_xor_sync(0xffffffffu, cand, 2));
    if (bad) {
      const float m_new = fmaxf(ms[hf], cand);
      const float ref = m_new == -INFINITY ? 0.f : m_new;
      corr[hf] = Exp2(ms[hf] - ref);                      // 0 while ms was -inf (O, l are 0)
      float sum = 0.f;
#pragma unroll
      for (int j = 0; j < BK / 4; j++) {
        const int i = RowElem(hf, j);
        s[i] = Exp2(s[i] - ref);
        sum += s[i];
      }
      ts[hf] = sum;
      ms[hf] = m_new;
    } else {
      const int e = cand > 1.f ? (int)(__float_as_uint(cand) >> 23) - 126 : 0;   // cand 2^-e in [0.5, 1)
      corr[hf] = __uint_as_float((uint32_t)(127 - e) << 23);
      if (e > 0) {
#pragma unroll
        for (int j = 0; j < BK / 4; j++) s[RowElem(hf, j)] *= corr[hf];
        ts[hf] *= corr[hf];
        ms[hf] += (float)e;
      }
    }
    l[hf] *= corr[hf];
  }
  if (corr[0] != 1.f || corr[1] != 1.f) {
#pragma unroll
    for (int dt = 0; dt < HD / 8; dt++) {
      o[4 * dt] *= corr[0]; o[4 * dt + 1] *= corr[0];
      o[4 * dt + 2] *= corr[1]; o[4 * dt + 3] *= corr[1];
    }
  }
}

// Arguments as tc::TensorCoreKernel's (sl2 = |scale| log2(e); negate: scale < 0, folded into Q).
// Compiled only into the sm_90a image; elsewhere an empty stub that the launcher never runs
// (Available).
template <typename T, int HD, int BK>
__global__ void __launch_bounds__(kThreads, Config<HD, BK>::kMinBlocks)
WgmmaKernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v, T* __restrict__ y,
            int H, int Hkv, int N, int S, tc::BlockGeometry geo, float sl2, bool negate,
            const __grid_constant__ CUtensorMap tmk, const __grid_constant__ CUtensorMap tmv, bool tma,
            const __grid_constant__ CUtensorMap tmq, const __grid_constant__ CUtensorMap tmy, bool tqy) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  using Cfg = Config<HD, BK>;
  constexpr int kChunks = Cfg::kChunks, kTB = Cfg::kTileBytes;
  constexpr int kNT = BK / 8;    // n8 tiles of S
  constexpr int kDT = HD / 8;    // n8 tiles of O
  extern __shared__ unsigned char smem_raw[];
  // 1024-byte aligned base: swizzle atoms must start on 1024-byte boundaries
  const uint32_t raw = SmemAddr(smem_raw);
  if (raw & 1023u) __trap();                                  // swizzle atoms need 1024-byte alignment
  const uint32_t sq = raw;                                    // Q [64][HD]; at the end, y staging
  unsigned char* const sq_ptr = smem_raw;
  const unsigned char* const sk_ptr = smem_raw + Cfg::kQBytes;
  const uint32_t sk = sq + Cfg::kQBytes;                      // K stage s at sk + s * kTB
  const uint32_t sv = sk + Cfg::kStages * kTB;                // V stage s at sv + s * kTB
  const uint32_t bar0 = sv + Cfg::kStages * kTB;              // kTma: stage s's mbarrier at bar0 + 8 s
  const uint32_t barq = bar0 + Cfg::kBarBytes - 8;            // Q's (tqy)

  const int tile = gridDim.x - 1 - blockIdx.x;
  const int h = blockIdx.y, b = blockIdx.z;
  const int hk = H == Hkv ? h : h / (H / Hkv);   // (integer division costs ~20 instructions)
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int g = lane >> 2, t4 = lane & 3;

  const tc::TileKeys keys(tile, kBQ, BK, N, geo);
  const int q0 = keys.q0, C = keys.C, local0 = keys.local0, total = keys.total, ntiles = keys.ntiles;
  const int bh = b * Hkv + hk;

  const T* qh = q + ((size_t)b * H + h) * (size_t)N * HD;
  const T* kh = k + ((size_t)b * Hkv + hk) * (size_t)N * HD;
  const T* vh = v + ((size_t)b * Hkv + hk) * (size_t)N * HD;
  T* yh = y + ((size_t)b * H + h) * (size_t)N * HD;

  // ---- prologue: Q (rows >= N zero) by TMA on its mbarrier (tqy) or as a commit group of
  // cp.async (empty with TMA), then one commit group for each of the first kAhead key tiles
  static_assert(kBQ * kChunks % kThreads == 0, "whole chunks per thread");
  const int ntma = Cfg::kTma && tma ? C / BK : 0;   // tiles 0 .. ntma - 1 (summaries only) by TMA
  // (the loop's first barrier publishes the mbarriers initialised here)
  if (threadIdx.x == 0 && (tqy || ntma > 0)) {
    if (tqy) PrefetchTensorMap(&tmq);
    if (ntma > 0) {
      PrefetchTensorMap(&tmk);
      PrefetchTensorMap(&tmv);
    }
#pragma unroll
    for (int i = 0; i < Cfg::kBarBytes / 8; i++) MbarInit(bar0 + 8 * i);
    FenceMbarInit();
    if (tqy) {
      MbarExpectTx(barq, (uint32_t)Cfg::kQBytes);
#pragma unroll
      for (int p = 0; p < HD / 64; p++) TmaLoad3d(sq + p * kBQ * 128, &tmq, 64 * p, q0, b * H + h, barq);
    }
  }
  if (!tqy) {
#pragma unroll
    for (int it = 0; it < kBQ * kChunks / kThreads; it++) {
      const int e = threadIdx.x + it * kThreads;
      const int r = e / kChunks, c = e % kChunks;
      const bool valid = q0 + r < N;
      CpAsync16(sq + Swz(kBQ, r, c), valid ? qh + (size_t)(q0 + r) * HD + c * 8 : qh, valid);
    }
  }
  CpAsyncCommit();
  // key tile i (< ntiles) into stage st: by TMA (thread 0) when i < ntma, else cp.async by all threads
  auto load_tile = [&](int i, int st) {
    if (i < ntma) {
      if constexpr (Cfg::kTma)
        if (threadIdx.x == 0) LoadSummariesTma<HD, BK>(sk + st * kTB, sv + st * kTB, &tmk, &tmv, i * BK, bh, bar0 + 8 * st);
    } else {
      LoadKeyTile<T, HD, BK>(sk + st * kTB, sv + st * kTB, kh, vh, i * BK, C, total, S, local0);
    }
  };
#pragma unroll
  for (int st = 0; st < Cfg::kAhead; st++) {
    if (st < ntiles) load_tile(st, st);
    CpAsyncCommit();
  }
  if (negate) {  // flip the sign bits of this thread's own Q chunks (visible to it after the wait)
    if (tqy) {
      __syncthreads();   // publishes Q's mbarrier
      MbarWait(barq, 0u);
    } else if constexpr (Cfg::kAhead == 2) {
      CpAsyncWait2();
    } else {
      CpAsyncWait1();
    }
#pragma unroll
    for (int it = 0; it < kBQ * kChunks / kThreads; it++) {
      const int e = threadIdx.x + it * kThreads;
      uint4* p = reinterpret_cast<uint4*>(sq_ptr + Swz(kBQ, e / kChunks, e % kChunks));
      uint4 x = *p;
      x.x ^= 0x80008000u; x.y ^= 0x80008000u; x.z ^= 0x80008000u; x.w ^= 0x80008000u;
      *p = x;
    }
  }

  // this thread's rows: 16 warp + g (hf = 0) and + 8 (hf = 1), as offsets from local0
  const tc::LocalMask mask(geo, C, total, q0 + 16 * warp + g - local0, q0 + 16 * warp + g + 8 - local0);
  // descriptors of Q, K stage 0 and V stage 0; a k-step, panel or stage adds its byte offset / 16
  const uint64_t dq = Desc(sq, 16, 1024), dk = Desc(sk, 16, 1024), dv = Desc(sv, BK * 128, 1024);

  float o[HD / 2];
#pragma unroll
  for (int i = 0; i < HD / 2; i++) o[i] = 0.f;
  float ms[2] = {-INFINITY, -INFINITY};  // the rows' reference (scaled score units): P = 2^(s sl2 - ms) <= 2^8
  float l[2] = {0.f, 0.f};               // this thread's part of the running sum (both set by tile 0)
  uint32_t phase = 0u;                   // bit s: the parity of stage s's mbarrier's next phase
  uint32_t pa[BK / 16][4] = {};          // P as RS A fragments (kDeferPV: read by P V until the next S wait)

  int t = 0, stage = 0;
  do {   // ntiles >= 1 (a query sees itself): no path around the loop joins o's zeros with the last P V
    const int t0 = t * BK;
    if constexpr (Cfg::kAhead == 2) CpAsyncWait1(); else CpAsyncWait0();   // this thread's copies of tile t (and Q) landed
    // ... and are visible to the async proxy (wgmma): only tiles by cp.async, and at tile 0 Q (by
    // cp.async or flipped by negate) need the fence; wgmma's reads of tile t - 1, done before the
    // barrier, precede TMA's writes into its stage without one (both are the async proxy)
    if (t == 0 || t >= ntma) FenceProxyAsync();
    __syncthreads();       // ... for every thread's copies; also: every warp is done with tile t - 1
    if (t == 0 && tqy) MbarWait(barq, 0u);   // Q landed
    if (t < ntma) {        // a TMA tile: its bytes landed (the mbarrier's phase completes)
      MbarWait(bar0 + 8 * stage, (phase >> stage) & 1u);
      phase ^= 1u << stage;
    }

    // ---- S = Q K^T (64 x BK raw scores); k-step kd: d 16kd.., panel kd / 4, +32 bytes per step
    float s[BK / 2];
    WgFence();
    const uint64_t dkt = dk + (uint32_t)(stage * kTB >> 4);
#pragma unroll
    for (int kd = 0; kd < HD / 16; kd++)   // the first k-step starts S at zero
      WgmmaSS<T, BK>(s, dq + (((kd >> 2) * kBQ * 128 + (kd & 3) * 32) >> 4),
                        dkt + (((kd >> 2) * BK * 128 + (kd & 3) * 32) >> 4), kd);
    WgCommit();

    // ---- while it runs: tile t + kAhead into a stage every warp is done with, by the barrier
    // above: tile t - 1's (it takes t + 2; with two stages, t + 1), or with kDeferPV, whose P V of
    // t - 1 may still run, t - 2's
    if (t + Cfg::kAhead < ntiles)
      load_tile(t + Cfg::kAhead, Cfg::kAhead == 2 ? (stage == 0 ? Cfg::kStages - 1 : stage - 1) : (stage == Cfg::kStages - 1 ? 0 : stage + 1));
    CpAsyncCommit();       // possibly empty: keeps one group per tile for the wait at the top
    WgWaitAll();           // S of tile t (kDeferPV: and so the P V of tile t - 1)
    Pin(s);
    if constexpr (Cfg::kDeferPV) {
      PinA(pa);
      Pin(o);
    }

    // ---- mask (only tiles reaching past the summaries)
    if (t0 + BK > C) {
#pragma unroll
      for (int hf = 0; hf < 2; hf++) MaskRow<BK>(s, mask, hf, t0 - C, t4);
    }

    // ---- online softmax, rows g (hf = 0) and g + 8 (hf = 1), against the reference ms (scaled):
    // tile 0 sets it to the row max; later tiles exponentiate at once, without a row max, and a
    // tile whose partial row sum passes 2^8 (so some P may) moves it (Rebase): rarely
    if (t == 0) {
#pragma unroll
      for (int hf = 0; hf < 2; hf++) {
        float mx = -INFINITY;
#pragma unroll
        for (int nt = 0; nt < kNT; nt++) mx = fmaxf(mx, fmaxf(s[4 * nt + 2 * hf], s[4 * nt + 2 * hf + 1]));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        ms[hf] = mx * sl2;                               // -inf: nothing visible yet (Rebase handles it)
        const float ref = mx == -INFINITY ? 0.f : ms[hf];
        float sum = 0.f;
#pragma unroll
        for (int j = 0; j < kNT * 2; j++) {
          const int i = RowElem(hf, j);
          s[i] = Exp2(fmaf(s[i], sl2, -ref));
          sum += s[i];
        }
        l[hf] = sum;
      }
    } else {
      float ts[2];
#pragma unroll
      for (int hf = 0; hf < 2; hf++) {
        float sum = 0.f;
#pragma unroll
        for (int j = 0; j < kNT * 2; j++) {
          const int i = RowElem(hf, j);
          s[i] = Exp2(fmaf(s[i], sl2, -ms[hf]));       // masked: exp2(-inf) = 0
          sum += s[i];
        }
        ts[hf] = sum;
      }
      // not (<= 2^8) also catches inf and NaN (a score 128 log2 units past ms, or ms = -inf)
      if (__any_sync(0xffffffffu, !(ts[0] <= 256.f && ts[1] <= 256.f)))
        Rebase<T, HD, BK>(s, o, ms, ts, l, sq_ptr, sk_ptr + stage * kTB, mask, t0 + BK > C ? t0 - C : kNoMask, sl2, warp, g, t4);
      l[0] += ts[0];
      l[1] += ts[1];
    }

    // ---- O += P V; k-step kk: keys 16kk.. = 2048 bytes into the V stage
#pragma unroll
    for (int kk = 0; kk < BK / 16; kk++) {
      pa[kk][0] = Pack<T>(s[8 * kk + 0], s[8 * kk + 1]);
      pa[kk][1] = Pack<T>(s[8 * kk + 2], s[8 * kk + 3]);
      pa[kk][2] = Pack<T>(s[8 * kk + 4], s[8 * kk + 5]);
      pa[kk][3] = Pack<T>(s[8 * kk + 6], s[8 * kk + 7]);
    }
    Pin(o);
    WgFence();
#pragma unroll
    for (int kk = 0; kk < BK / 16; kk++)
      WgmmaRS<T, HD>(o, pa[kk], dv + (uint32_t)((stage * kTB + kk * 16 * 128) >> 4));
    WgCommit();
    if constexpr (!Cfg::kDeferPV) {
      WgWaitAll();
      Pin(o);
    }                      // else: the next tile's S queues behind it, and its wait covers both
    stage = stage == Cfg::kStages - 1 ? 0 : stage + 1;
  } while (++t < ntiles);
  if constexpr (Cfg::kDeferPV) {
    WgWaitAll();
    Pin(o);
    PinA(pa);
  }
  __syncthreads();         // every warp's MMAs are done with Q before the y staging overwrites it

  // ---- epilogue: y = O / l, staged through the (swizzled) Q tile, so the global stores are
  // 16-byte and row-contiguous
#pragma unroll
  for (int hf = 0; hf < 2; hf++) {
    l[hf] += __shfl_xor_sync(0xffffffffu, l[hf], 1);
    l[hf] += __shfl_xor_sync(0xffffffffu, l[hf], 2);
  }
  const float inv0 = 1.f / l[0], inv1 = 1.f / l[1];   // l >= 1 for rows < N: a query sees itself
  const int r0 = 16 * warp + g;
#pragma unroll
  for (int dt = 0; dt < kDT; dt++) {   // d 8dt + 2t, +1 = chunk dt, bytes 4t
    *reinterpret_cast<uint32_t*>(sq_ptr + Swz(kBQ, r0, dt) + 4 * t4) = Pack<T>(o[4 * dt] * inv0, o[4 * dt + 1] * inv0);
    *reinterpret_cast<uint32_t*>(sq_ptr + Swz(kBQ, r0 + 8, dt) + 4 * t4) = Pack<T>(o[4 * dt + 2] * inv1, o[4 * dt + 3] * inv1);
  }
  if (tqy) {                           // each warp's 16 rows as one TMA box a panel (rows >= N clipped)
    FenceProxyAsync();                 // this thread's staging writes, visible to the bulk copy
    __syncwarp();
    if (lane == 0) {
#pragma unroll
      for (int p = 0; p < HD / 64; p++) TmaStore3d(&tmy, sq + p * kBQ * 128 + 16 * warp * 128, 64 * p, q0 + 16 * warp, b * H + h);
      BulkCommit();
      BulkWaitRead();                  // the staging must outlive the copy's reads
    }
  } else {
    __syncwarp();                      // each warp stores its own 16 rows
#pragma unroll
    for (int it = 0; it < 16 * kChunks / 32; it++) {
      const int e = lane + 32 * it;
      const int r = 16 * warp + e / kChunks, c = e % kChunks;
      if (q0 + r < N)
        *reinterpret_cast<uint4*>(yh + (size_t)(q0 + r) * HD + c * 8) = *reinterpret_cast<const uint4*>(sq_ptr + Swz(kBQ, r, c));
    }
  }
#endif  // __CUDA_ARCH_FEAT_SM90_ALL
}

// Whether this binary holds an sm_90a image that the current device loads. Only that image
// declares kProbeInts ints of static shared memory in ArchProbeKernel, and cudaFuncGetAttributes
// reports the image the runtime picked for the device (any other device or build gets the sm_90 /
// sm_80 image or JIT PTX, none of which has them). No launch, so it is safe during stream capture.
constexpr int kProbeInts = 64;
__global__ void ArchProbeKernel(int* sink) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  __shared__ int marker[kProbeInts];
  marker[threadIdx.x % kProbeInts] = threadIdx.x;
  __syncthreads();
  if (sink) sink[threadIdx.x] = marker[(threadIdx.x + 1) % kProbeInts];
#else
  (void)sink;
#endif
}

inline bool Available() {
  constexpr int kMaxDevices = 64;
  static std::atomic<int> known[kMaxDevices];   // 0 not asked yet, 1 yes, 2 no
  int dev = 0;
  if (cudaGetDevice(&dev) != cudaSuccess) { cudaGetLastError(); return false; }
  if (dev < 0 || dev >= kMaxDevices) return false;
  int state = known[dev].load(std::memory_order_relaxed);
  if (state == 0) {
    cudaFuncAttributes fa;
    const bool ok = cudaFuncGetAttributes(&fa, ArchProbeKernel) == cudaSuccess;
    if (!ok) cudaGetLastError();
    state = ok && fa.sharedSizeBytes == kProbeInts * sizeof(int) ? 1 : 2;
    known[dev].store(state, std::memory_order_relaxed);
  }
  return state == 1;
}

// cuTensorMapEncodeTiled from the driver, through the runtime (the library links no libcuda);
// null when the driver has none.
inline PFN_cuTensorMapEncodeTiled_v12000 TensorMapEncoder() {
  static const PFN_cuTensorMapEncodeTiled_v12000 fn = [] {
    void* f = nullptr;
    cudaDriverEntryPointQueryResult q = cudaDriverEntryPointSymbolNotFound;
#if CUDART_VERSION >= 12050   // the versioned lookup (the unversioned one is deprecated since)
    const cudaError_t e = cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &f, 12000, cudaEnableDefault, &q);
#else
    const cudaError_t e = cudaGetDriverEntryPoint("cuTensorMapEncodeTiled", &f, cudaEnableDefault, &q);
#endif
    if (e != cudaSuccess || q != cudaDriverEntryPointSuccess) {
      cudaGetLastError();
      f = nullptr;
    }
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(f);
  }();
  return fn;
}

// False when the environment sets CATONNX_WGMMA_TMA=0: every load by cp.async and y by plain
// stores, the paths taken when the driver cannot encode a tensor map (so tests can reach them).
inline bool TmaAllowed() {
  static const bool on = [] {
    const char* e = std::getenv("CATONNX_WGMMA_TMA");
    return !(e && std::strcmp(e, "0") == 0);
  }();
  return on;
}

// A tensor map of 16-bit elements over base, rank dims with the given byte strides (all but the
// innermost) and box, 128-byte swizzled as our shared-memory tiles are; out-of-bounds rows read as
// zeros and are not written. False without TMA (TmaAllowed) or when the driver cannot encode it.
template <int R>
inline bool SwizzledMap(CUtensorMap* map, const void* base, const cuuint64_t (&dims)[R], const cuuint64_t (&strides)[R - 1],
                        const cuuint32_t (&box)[R]) {
  if (!TmaAllowed()) return false;
  const PFN_cuTensorMapEncodeTiled_v12000 encode = TensorMapEncoder();
  if (!encode) return false;
  cuuint32_t unit[R];
  for (int i = 0; i < R; i++) unit[i] = 1;
  return encode(map, CU_TENSOR_MAP_DATA_TYPE_UINT16, R, const_cast<void*>(base), dims, strides, box, unit,
                CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_128B,
                CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_SUCCESS;
}

// The summaries of k (or v) [B][Hkv][N][hd] as a 4-d tensor: (d < hd, position in block < S,
// block < N / S, b Hkv + hk), so that the box (64, 1, BK, 1) at (64 p, 0, c, bh) is panel p of the
// summaries c .. c + BK - 1 (rows c S), 128 bytes a row, written with the 128-byte swizzle of our
// stages. Only whole blocks: a query tile's summaries are blocks before its own. False if the
// driver cannot encode it (the kernel then loads every tile with cp.async).
template <int BK>
inline bool SummaryMap(CUtensorMap* map, const void* base, const Problem& p) {
  if (p.N / p.S < 1) return false;
  const cuuint64_t dims[4] = {(cuuint64_t)p.hd, (cuuint64_t)p.S, (cuuint64_t)(p.N / p.S), (cuuint64_t)(p.B * p.Hkv)};
  const cuuint64_t strides[3] = {(cuuint64_t)p.hd * 2, (cuuint64_t)(p.S * p.hd * 2), (cuuint64_t)(p.N * p.hd * 2)};
  const cuuint32_t box[4] = {64, 1, BK, 1};
  return SwizzledMap(map, base, dims, strides, box);
}

// q or y [B][H][N][hd] as a 3-d tensor (d < hd, position < N, b H + h), so that the box (64, rows, 1)
// at (64 p, q0, bh) is panel p of rows q0 .. q0 + rows - 1 of one head, 128 bytes a row, with the
// 128-byte swizzle of our Q tile; rows past N read as zeros and are not written. False if the
// driver cannot encode it (the kernel then moves Q and y with cp.async and plain stores).
inline bool RowMap(CUtensorMap* map, const void* base, const Problem& p, int rows) {
  const cuuint64_t dims[3] = {(cuuint64_t)p.hd, (cuuint64_t)p.N, (cuuint64_t)(p.B * p.H)};
  const cuuint64_t strides[2] = {(cuuint64_t)p.hd * 2, (cuuint64_t)(p.N * p.hd * 2)};
  const cuuint32_t box[3] = {64, (cuuint32_t)rows, 1};
  return SwizzledMap(map, base, dims, strides, box);
}

template <typename T, int HD, int BK>
cudaError_t Launch(const Problem& p, cudaStream_t stream) {
  using Cfg = Config<HD, BK>;
  auto kernel = WgmmaKernel<T, HD, BK>;
  cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, Cfg::kSmemBytes);
  if (e != cudaSuccess) return e;
  const float sl2 = std::fabs(p.scale) * 1.4426950408889634f;  // |scale| * log2(e)
  CUtensorMap tmk = {}, tmv = {};
  const bool tma = Cfg::kTma && SummaryMap<BK>(&tmk, p.k, p) && SummaryMap<BK>(&tmv, p.v, p);
  CUtensorMap tmq = {}, tmy = {};   // Q as one box of kBQ rows a panel, y as one of 16 (a warp's rows)
  const bool tqy = RowMap(&tmq, p.q, p, kBQ) && RowMap(&tmy, p.y, p, 16);
  dim3 grid((unsigned)((p.N + kBQ - 1) / kBQ), (unsigned)p.H, (unsigned)p.B);
  kernel<<<grid, kThreads, Cfg::kSmemBytes, stream>>>(
      static_cast<const T*>(p.q), static_cast<const T*>(p.k), static_cast<const T*>(p.v), static_cast<T*>(p.y),
      (int)p.H, (int)p.Hkv, (int)p.N, (int)p.S, tc::BlockGeometry((int)p.S), sl2, p.scale < 0.f, tmk, tmv, tma,
      tmq, tmy, tqy);
  return cudaGetLastError();
}

template <typename T, int BK>
cudaError_t LaunchType(const Problem& p, cudaStream_t stream) {
  return p.hd == 64 ? Launch<T, 64, BK>(p, stream) : Launch<T, 128, BK>(p, stream);
}

}  // namespace wg
}  // namespace gpu
}  // namespace catonnx
