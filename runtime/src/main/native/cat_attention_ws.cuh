// CatAttention on Hopper, warp-specialized and persistent (FlashAttention-3's structure); included
// by cat_attention_kernels.cuh after cat_attention_wgmma.cuh, whose shared-memory layout (128-byte
// swizzle, Swz), descriptors (Desc), wgmma wrappers, key enumeration (LoadKeyTile) and per-element
// mask and online softmax this kernel reuses. Same key set as wg::WgmmaKernel.
//
// WsKernel<T, HD>: one CTA per SM, looping over work items (b, h, query tile of kBQ = 64 * kNC rows),
// heaviest tiles first. Warpgroup 0 is the producer: it loads each item's Q (two buffers) and its
// key tiles (kStages stages of K and V, 64 keys each) with cp.async, each thread signalling an
// mbarrier when its copies land (cp.async.mbarrier.arrive.noinc), and waits for consumers to free
// a buffer (the "empty" mbarriers) before refilling it; so loads run ahead across tiles and items.
// Warpgroups 1 .. kNC are consumers, one 64-row slice of the item's tile each, all reading the same
// K / V stages. Per key tile u a consumer takes one turn: it issues S(u) = Q K(u)^T and
// O += P(u-1) V(u-1), then lets the next consumer issue (named barriers, round robin: "ping-pong"),
// then runs the softmax of S(u) while the other consumers' MMAs occupy the tensor cores.
// kNC = 3 at head_dim 64 (softmax is a larger share of the work), 2 at 128 (registers).
#pragma once

namespace catonnx {
namespace gpu {
namespace ws {

using tc::CpAsync16;
using tc::Exp2;
using tc::Pack;
using tc::SmemAddr;

constexpr int kBK = 64;  // keys per tile

#ifndef CAT_WS_NC64
#define CAT_WS_NC64 3
#endif
#ifndef CAT_WS_ST64
#define CAT_WS_ST64 8
#endif
#ifndef CAT_WS_ST128
#define CAT_WS_ST128 5
#endif
#ifndef CAT_WS_PINGPONG
#define CAT_WS_PINGPONG 1
#endif
template <int HD>
struct Config {
  static constexpr int kNC = HD == 64 ? CAT_WS_NC64 : 2;        // consumer warpgroups
  static constexpr int kBQ = 64 * kNC;               // query rows per work item
  static constexpr int kThreads = 128 * (kNC + 1);   // + the producer warpgroup
  static constexpr int kStages = HD == 64 ? CAT_WS_ST64 : CAT_WS_ST128;
  static constexpr int kChunks = HD / 8;
  static constexpr int kQBytes = kBQ * HD * 2;
  static constexpr int kTileBytes = kBK * HD * 2;    // one K or V stage
  static constexpr int kBars = 2 * kStages + 4;      // kv full / empty, q full / empty (x2)
  static constexpr int kSmemBytes = 2 * kQBytes + 2 * kStages * kTileBytes + 8 * kBars + 1024;
};

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
__device__ __forceinline__ void MbarInit(uint32_t bar, int count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
__device__ __forceinline__ void MbarArrive(uint32_t bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
// Waits until the phase of parity `parity` has completed.
__device__ __forceinline__ void MbarWait(uint32_t bar, int parity) {
  asm volatile(
      "{\n.reg .pred p;\nWAIT:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 p, [%0], %1;\n"
      "@!p bra WAIT;\n}\n" ::"r"(bar), "r"(parity) : "memory");
}
// Arrives on bar once every cp.async this thread issued so far has landed.
__device__ __forceinline__ void CpAsyncArrive(uint32_t bar) {
  asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];\n" ::"r"(bar) : "memory");
}
__device__ __forceinline__ void NamedSync(int id, int threads) {
  asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}
__device__ __forceinline__ void NamedArrive(int id, int threads) {
  asm volatile("bar.arrive %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}
__device__ __forceinline__ void WgWait1() { asm volatile("wgmma.wait_group.sync.aligned 1;\n" ::: "memory"); }
// Keeps registers an in-flight RS wgmma reads from being reused before its wait.
template <int N>
__device__ __forceinline__ void PinA(uint32_t (&a)[N][4]) {
#pragma unroll
  for (int i = 0; i < N; i++)
#pragma unroll
    for (int x = 0; x < 4; x++) asm volatile("" : "+r"(a[i][x])::"memory");
}
#endif

// One work item's geometry (a query tile of kBQ rows of head (b, h)); as wg::WgmmaKernel's.
struct Item {
  int b, h, q0, C, local0, total, ntiles;
};

template <int BQ>
__device__ __forceinline__ Item Decode(int i, int B, int H, int N, int S) {
  const int ntq = (N + BQ - 1) / BQ;
  const int BH = B * H;
  Item it;
  const int bh = i % BH;
  it.b = bh / H;
  it.h = bh % H;
  it.q0 = (ntq - 1 - i / BH) * BQ;   // heaviest (latest) tiles first
  const int qlast = min(N, it.q0 + BQ) - 1;
  it.C = it.q0 / S;
  it.local0 = it.C * S;
  it.total = it.C + (qlast - it.local0 + 1);
  it.ntiles = (it.total + kBK - 1) / kBK;
  return it;
}

template <typename T, int HD>
__global__ void __launch_bounds__(Config<HD>::kThreads, 1)
WsKernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v, T* __restrict__ y,
         int B, int H, int Hkv, int N, int S, float sl2, bool negate) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  using Cfg = Config<HD>;
  constexpr int kNC = Cfg::kNC, kBQ = Cfg::kBQ, kStages = Cfg::kStages, kChunks = Cfg::kChunks;
  constexpr int kTB = Cfg::kTileBytes;
  constexpr int kNT = kBK / 8, kDT = HD / 8;
  extern __shared__ unsigned char smem_raw[];
  const uint32_t raw = SmemAddr(smem_raw);
  const uint32_t sq = (raw + 1023u) & ~1023u;                   // Q buffer qb at sq + qb * kQBytes
  unsigned char* const sq_ptr = smem_raw + (sq - raw);
  const uint32_t sk = sq + 2 * Cfg::kQBytes;                     // K stage s at sk + s * kTB
  const uint32_t sv = sk + kStages * kTB;                        // V stage s at sv + s * kTB
  const uint32_t bars = sv + kStages * kTB;
  const uint32_t kv_full = bars, kv_empty = bars + 8 * kStages;  // + 8 * stage
  const uint32_t q_full = bars + 16 * kStages, q_empty = q_full + 16;  // + 8 * buffer

  // warp-uniform by construction (a broadcast), so ptxas treats branches on it as non-divergent and
  // does not serialize the wgmmas under them
  const int wgi = __shfl_sync(0xffffffffu, (int)(threadIdx.x >> 7), 0);
  if (threadIdx.x == 0) {
    for (int s = 0; s < kStages; s++) {
      MbarInit(kv_full + 8 * s, 128);          // one arrival per producer thread
      MbarInit(kv_empty + 8 * s, 4 * kNC);     // one per consumer warp
    }
    for (int b = 0; b < 2; b++) {
      MbarInit(q_full + 8 * b, 128);
      MbarInit(q_empty + 8 * b, 4 * kNC);
    }
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  __syncthreads();   // the last CTA-wide barrier: from here on the warpgroups sync through mbarriers
  const int items = B * H * ((N + kBQ - 1) / kBQ);

  if (wgi == 0) {
    // ---------------- producer
    int it = 0, qi = 0;
    for (int i = blockIdx.x; i < items; i += gridDim.x, qi++) {
      const Item w = Decode<kBQ>(i, B, H, N, S);
      const int hk = w.h / (H / Hkv);
      const T* qh = q + ((size_t)w.b * H + w.h) * (size_t)N * HD;
      const T* kh = k + ((size_t)w.b * Hkv + hk) * (size_t)N * HD;
      const T* vh = v + ((size_t)w.b * Hkv + hk) * (size_t)N * HD;
      const int qb = qi & 1;
      MbarWait(q_empty + 8 * qb, ((qi >> 1) & 1) ^ 1);
      const uint32_t sqb = sq + qb * Cfg::kQBytes;
#pragma unroll
      for (int x = 0; x < kBQ * kChunks / 128; x++) {
        const int e = threadIdx.x + x * 128;
        const int r = e / kChunks, c = e % kChunks;
        const bool valid = w.q0 + r < N;
        CpAsync16(sqb + wg::Swz(kBQ, r, c), valid ? qh + (size_t)(w.q0 + r) * HD + c * 8 : qh, valid);
      }
      CpAsyncArrive(q_full + 8 * qb);
      for (int t = 0; t < w.ntiles; t++, it++) {
        const int st = it % kStages;
        MbarWait(kv_empty + 8 * st, ((it / kStages) & 1) ^ 1);
        wg::LoadKeyTile<T, HD, kBK>(sk + st * kTB, kh, t * kBK, w.C, w.total, S, w.local0);
        wg::LoadKeyTile<T, HD, kBK>(sv + st * kTB, vh, t * kBK, w.C, w.total, S, w.local0);
        CpAsyncArrive(kv_full + 8 * st);
      }
    }
    asm volatile("cp.async.wait_all;\n" ::: "memory");
    return;
  }

  // ---------------- consumers: warpgroup cw = rows 64 cw .. 64 cw + 63 of each item's tile
  const int cw = wgi - 1;
  const int tid = threadIdx.x & 127;
  const int warp = tid >> 5, lane = tid & 31;
  const int g = lane >> 2, t4 = lane & 3;
  const int my_bar = 1 + cw, next_bar = 1 + (cw + 1) % kNC;    // turn barriers (ids 1 .. kNC)
  if (CAT_WS_PINGPONG && kNC > 1 && cw == kNC - 1) NamedArrive(1, 256);           // consumer 0 takes the first turn
  int it = 0, qi = 0;
  for (int i = blockIdx.x; i < items; i += gridDim.x, qi++) {
    const Item w = Decode<kBQ>(i, B, H, N, S);
    const int qrow0 = w.q0 + 64 * cw;
    const int qb = qi & 1;
    const uint32_t sqb = sq + qb * Cfg::kQBytes;
    MbarWait(q_full + 8 * qb, (qi >> 1) & 1);
    wg::FenceProxyAsync();

    int row_off[2], row_blk[2];
#pragma unroll
    for (int hf = 0; hf < 2; hf++) {
      row_off[hf] = qrow0 + 16 * warp + g + 8 * hf - w.local0;
      row_blk[hf] = row_off[hf] / S;
    }
    float o[HD / 2];
#pragma unroll
    for (int x = 0; x < HD / 2; x++) o[x] = 0.f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f}, corr[2] = {1.f, 1.f};
    float s[kBK / 2];
    uint32_t pa[kBK / 16][4];

    // Key tiles this slice needs: candidates up to its last row's own key (at least one: a slice
    // wholly past N computes tile 0 and stores nothing). Later tiles hold only keys after its rows.
    const int nt_me = qrow0 < N ? (w.C + (min(N - 1, qrow0 + 63) - w.local0) + kBK) / kBK : 1;
    auto wait_tile = [&](int u) {
      MbarWait(kv_full + 8 * ((it + u) % kStages), ((it + u) / kStages) & 1);
      wg::FenceProxyAsync();
    };
    auto issue_s = [&](int u) {   // S(u) = Q K(u)^T
      const uint32_t skt = sk + ((it + u) % kStages) * kTB;
#pragma unroll
      for (int x = 0; x < kBK / 2; x++) s[x] = 0.f;
      wg::Pin(s);
      wg::WgFence();
#pragma unroll
      for (int kd = 0; kd < HD / 16; kd++)
        wg::WgmmaSS<T, kBK>(s, wg::Desc(sqb + (kd >> 2) * kBQ * 128 + cw * 64 * 128 + (kd & 3) * 32, 16, 1024),
                               wg::Desc(skt + (kd >> 2) * kBK * 128 + (kd & 3) * 32, 16, 1024));
      wg::WgCommit();
    };
    auto issue_pv = [&](int u) {  // O = O * corr(u) + P(u) V(u)
      const uint32_t svt = sv + ((it + u) % kStages) * kTB;
#pragma unroll
      for (int dt = 0; dt < kDT; dt++) {
        o[4 * dt] *= corr[0]; o[4 * dt + 1] *= corr[0];
        o[4 * dt + 2] *= corr[1]; o[4 * dt + 3] *= corr[1];
      }
      wg::Pin(o);
      wg::WgFence();
#pragma unroll
      for (int kk = 0; kk < kBK / 16; kk++)
        wg::WgmmaRS<T, HD>(o, pa[kk], wg::Desc(svt + kk * 16 * 128, kBK * 128, 1024));
      wg::WgCommit();
    };
    auto softmax = [&](int u) {   // S(u) -> P(u) in s; m, l, corr
      wg::Pin(s);
      const int t0 = u * kBK;
      if (negate) {
#pragma unroll
        for (int x = 0; x < kBK / 2; x++) s[x] = -s[x];
      }
      if (t0 + kBK > w.C) {   // mask: candidate of s[4nt + 2hf + e] is t0 + 8nt + 2t + e
#pragma unroll
        for (int nt = 0; nt < kNT; nt++)
#pragma unroll
          for (int e = 0; e < 2; e++) {
            const unsigned rows = tc::AllowedRows(t0 + 8 * nt + 2 * t4 + e, w.C, w.total, S, row_off, row_blk);
#pragma unroll
            for (int hf = 0; hf < 2; hf++)
              if (!(rows >> hf & 1u)) s[4 * nt + 2 * hf + e] = -INFINITY;
          }
      }
#pragma unroll
      for (int hf = 0; hf < 2; hf++) {   // online softmax, rows g (hf 0) and g + 8 (hf 1)
        float mx = -INFINITY;
#pragma unroll
        for (int nt = 0; nt < kNT; nt++) mx = fmaxf(mx, fmaxf(s[4 * nt + 2 * hf], s[4 * nt + 2 * hf + 1]));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        const float m_new = fmaxf(m[hf], mx);
        const float m_scaled = m_new == -INFINITY ? 0.f : m_new * sl2;
        corr[hf] = Exp2(m[hf] * sl2 - m_scaled);
        m[hf] = m_new;
        float sum = 0.f;
#pragma unroll
        for (int nt = 0; nt < kNT; nt++)
#pragma unroll
          for (int e = 0; e < 2; e++) {
            const float p = Exp2(fmaf(s[4 * nt + 2 * hf + e], sl2, -m_scaled));
            s[4 * nt + 2 * hf + e] = p;
            sum += p;
          }
        l[hf] = l[hf] * corr[hf] + sum;
      }
    };
    auto pack = [&] {
#pragma unroll
      for (int kk = 0; kk < kBK / 16; kk++) {
        pa[kk][0] = Pack<T>(s[8 * kk + 0], s[8 * kk + 1]);
        pa[kk][1] = Pack<T>(s[8 * kk + 2], s[8 * kk + 3]);
        pa[kk][2] = Pack<T>(s[8 * kk + 4], s[8 * kk + 5]);
        pa[kk][3] = Pack<T>(s[8 * kk + 6], s[8 * kk + 7]);
      }
    };
    auto release = [&](int u) {   // K(u) read by S(u), V(u) by P(u) V(u): both done
      __syncwarp();
      if (lane == 0) MbarArrive(kv_empty + 8 * ((it + u) % kStages));
    };

    // One turn per key tile plus one, the same count in every slice (the turn barriers pair up):
    // turn u issues S(u) and P(u - 1) V(u - 1); turns past the slice's own tiles only pass the turn
    // on and release their stage. The loops keep every wgmma out of branches, whose commit groups
    // ptxas could not count (it then serializes all of them).
    wait_tile(0);
    if (CAT_WS_PINGPONG) NamedSync(my_bar, 256);
    issue_s(0);
    if (CAT_WS_PINGPONG && kNC > 1) NamedArrive(next_bar, 256);
    wg::WgWaitAll();
    softmax(0);
    pack();
    for (int u = 1; u < nt_me; u++) {
      wait_tile(u);
      if (CAT_WS_PINGPONG) NamedSync(my_bar, 256);
      issue_s(u);
      issue_pv(u - 1);
      if (CAT_WS_PINGPONG && kNC > 1) NamedArrive(next_bar, 256);
      WgWait1();          // S(u) landed; P(u - 1) V(u - 1) may still run under the softmax
      softmax(u);
      wg::WgWaitAll();
      wg::Pin(o);
      PinA(pa);
      pack();
      release(u - 1);
    }
    if (CAT_WS_PINGPONG) NamedSync(my_bar, 256);
    issue_pv(nt_me - 1);
    if (CAT_WS_PINGPONG && kNC > 1) NamedArrive(next_bar, 256);
    wg::WgWaitAll();
    wg::Pin(o);
    PinA(pa);
    release(nt_me - 1);
    for (int u = nt_me + 1; u <= w.ntiles; u++) {
      if (CAT_WS_PINGPONG) NamedSync(my_bar, 256);
      if (CAT_WS_PINGPONG && kNC > 1) NamedArrive(next_bar, 256);
      wait_tile(u - 1);   // filled (so its previous use was released by all) before this release
      release(u - 1);
    }
    it += w.ntiles;

    // ---- epilogue: y = O / l through this slice's rows of the Q buffer (16-byte row stores)
    {
      T* yh = y + ((size_t)w.b * H + w.h) * (size_t)N * HD;
#pragma unroll
      for (int hf = 0; hf < 2; hf++) {
        l[hf] += __shfl_xor_sync(0xffffffffu, l[hf], 1);
        l[hf] += __shfl_xor_sync(0xffffffffu, l[hf], 2);
      }
      const float inv0 = 1.f / l[0], inv1 = 1.f / l[1];
      const int r0 = 64 * cw + 16 * warp + g;
#pragma unroll
      for (int dt = 0; dt < kDT; dt++) {
        *reinterpret_cast<uint32_t*>(sq_ptr + qb * Cfg::kQBytes + wg::Swz(kBQ, r0, dt) + 4 * t4) =
            Pack<T>(o[4 * dt] * inv0, o[4 * dt + 1] * inv0);
        *reinterpret_cast<uint32_t*>(sq_ptr + qb * Cfg::kQBytes + wg::Swz(kBQ, r0 + 8, dt) + 4 * t4) =
            Pack<T>(o[4 * dt + 2] * inv1, o[4 * dt + 3] * inv1);
      }
      __syncwarp();
#pragma unroll
      for (int x = 0; x < 16 * kChunks / 32; x++) {
        const int e = lane + 32 * x;
        const int r = 64 * cw + 16 * warp + e / kChunks, c = e % kChunks;
        if (w.q0 + r < N)
          *reinterpret_cast<uint4*>(yh + (size_t)(w.q0 + r) * HD + c * 8) =
              *reinterpret_cast<const uint4*>(sq_ptr + qb * Cfg::kQBytes + wg::Swz(kBQ, r, c));
      }
    }
    __syncwarp();
    if (lane == 0) MbarArrive(q_empty + 8 * qb);
  }
#endif  // __CUDA_ARCH_FEAT_SM90_ALL
}

template <typename T, int HD>
cudaError_t Launch(const Problem& p, cudaStream_t stream) {
  using Cfg = Config<HD>;
  auto kernel = WsKernel<T, HD>;
  cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, Cfg::kSmemBytes);
  if (e != cudaSuccess) return e;
  int dev = 0, sms = 0;
  if ((e = cudaGetDevice(&dev)) != cudaSuccess) return e;
  if ((e = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev)) != cudaSuccess) return e;
  const long long items = (long long)p.B * p.H * ((p.N + Cfg::kBQ - 1) / Cfg::kBQ);
  const unsigned grid = (unsigned)(items < sms ? items : sms);
  const float sl2 = std::fabs(p.scale) * 1.4426950408889634f;
  kernel<<<grid, Cfg::kThreads, Cfg::kSmemBytes, stream>>>(
      static_cast<const T*>(p.q), static_cast<const T*>(p.k), static_cast<const T*>(p.v), static_cast<T*>(p.y),
      (int)p.B, (int)p.H, (int)p.Hkv, (int)p.N, (int)p.S, sl2, p.scale < 0.f);
  return cudaGetLastError();
}

template <typename T>
cudaError_t LaunchType(const Problem& p, cudaStream_t stream) {
  return p.hd == 64 ? Launch<T, 64>(p, stream) : Launch<T, 128>(p, stream);
}

}  // namespace ws
}  // namespace gpu
}  // namespace catonnx
