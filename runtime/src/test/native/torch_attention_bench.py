#!/usr/bin/env python3
"""PyTorch's attention kernels on the CatAttention benchmark shapes (cat_attention_bench.cu), so
our kernels' "x roofline" has a yardstick measured on the same GPU with the same formula.

  flex     the paper's own implementation: FlexAttention (torch.compile) with the CAT block mask
           (a query sees the compressed tokens of earlier blocks and its own block's causal prefix)
  cudnn /  dense causal attention of the same useful work, through SDPA's cuDNN and FlashAttention-2
  flash    backends: seq T = 2 * pairs / N - 1 (rounded to 64), batch scaled so rows = B * N; the
           equivalent of the CAT problem for a kernel that only knows causal masks

Roofline, bytes and FLOPs exactly as cat_attention_bench: bound = max(4 * rows * hd * 2 B / 4.3e12,
4 * hd * pairs / 790e12) per head; x roofline = time / bound of the problem the kernel ran (for
cudnn / flash the causal problem's own pairs and rows). Timings: CUDA events, median of >= 50 ms.

usage: python3 torch_attention_bench.py [--L 2048,8192] [--batch 8,64] [--hd 64,128] [--chunk 4,8,16,32]
                                        [--kernels flex,cudnn,flash] [--json OUT]
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

BW, PEAK = 4.3e12, 790e12


def cat_pairs(n, s):
    """Allowed (query, key) pairs of one head: query i sees i // s summaries and i % s + 1 local keys."""
    i = torch.arange(n, dtype=torch.int64)
    return int((i // s + i % s + 1).sum())


def bound_ms(rows, hd, pairs, heads):
    return max(4 * rows * hd * 2 * heads / BW, 4 * hd * pairs * heads / PEAK) * 1e3


def time_ms(fn):
    for _ in range(2):
        fn()
    torch.cuda.synchronize()
    times, total = [], 0.0
    while total < 50.0 or len(times) < 3:
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        t = a.elapsed_time(b)
        times.append(t)
        total += t
    times.sort()
    return times[len(times) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--L", default="2048,8192")
    ap.add_argument("--batch", default="8,64")
    ap.add_argument("--hd", default="64,128")
    ap.add_argument("--chunk", default="4,8,16,32")
    ap.add_argument("--kernels", default="flex,cudnn,flash")
    ap.add_argument("--json")
    a = ap.parse_args()
    ints = lambda s: [int(x) for x in s.split(",")]
    kernels = a.kernels.split(",")
    dev = torch.device("cuda")
    print(f"# torch {torch.__version__}, {torch.cuda.get_device_name()}, cuDNN {torch.backends.cudnn.version()}",
          flush=True)
    flex = None
    if "flex" in kernels:
        from torch.nn.attention.flex_attention import create_block_mask, flex_attention
        import torch._dynamo as dynamo
        for knob in ("cache_size_limit", "recompile_limit"):  # one compile per shape, never eager fallback
            if hasattr(dynamo.config, knob):
                setattr(dynamo.config, knob, 256)
        flex = torch.compile(flex_attention, dynamic=False)
    from torch.nn.attention import SDPBackend, sdpa_kernel
    backends = {"cudnn": SDPBackend.CUDNN_ATTENTION, "flash": SDPBackend.FLASH_ATTENTION}

    cols = ["L", "chunk", "S", "N", "batch", "hd", "H", "roofline ms"]
    for k in kernels:
        cols += [f"{k} ms", f"x roofline {k}"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---:|" * len(cols))
    rows = []
    for L in ints(a.L):
        for c in ints(a.chunk):
            S = c + 1
            N = L // c * S
            pairs = cat_pairs(N, S)
            for B in ints(a.batch):
                for hd in ints(a.hd):
                    H = 1536 // hd
                    bound = bound_ms(N, hd, pairs, B * H)
                    rec = {"L": L, "chunk": c, "S": S, "N": N, "batch": B, "hd": hd, "H": H, "roofline_ms": bound}
                    q, k, v = (torch.empty(B, H, N, hd, device=dev, dtype=torch.bfloat16).uniform_(-1, 1) for _ in range(3))
                    scale = 1.0 / math.sqrt(hd)
                    for name in kernels:
                        try:
                            if name == "flex":
                                def mask_mod(b, h, qi, ki, S=S):
                                    return (ki <= qi) & ((ki % S == 0) | (ki // S == qi // S))
                                bm = create_block_mask(mask_mod, None, None, N, N, device=dev)
                                t = time_ms(lambda: flex(q, k, v, block_mask=bm, scale=scale))
                                x = t / bound
                            else:
                                T = max(64, int(round((2 * pairs / N - 1) / 64)) * 64)
                                Bc = max(1, round(B * N / T))
                                qc, kc, vc = (torch.empty(Bc, H, T, hd, device=dev, dtype=torch.bfloat16).uniform_(-1, 1)
                                              for _ in range(3))
                                with sdpa_kernel([backends[name]]):
                                    t = time_ms(lambda: F.scaled_dot_product_attention(qc, kc, vc, is_causal=True, scale=scale))
                                x = t / bound_ms(T, hd, T * (T + 1) // 2, Bc * H)
                                rec[f"{name}_causal_T"] = T
                                rec[f"{name}_causal_batch"] = Bc
                                del qc, kc, vc
                            rec[f"{name}_ms"], rec[f"{name}_x_roofline"] = t, x
                        except Exception as e:  # a backend this build or GPU lacks: report, go on
                            print(f"# {name} L={L} c={c} B={B} hd={hd}: {type(e).__name__}: {str(e)[:200]}",
                                  file=sys.stderr, flush=True)
                    cells = [L, c, S, N, B, hd, H, f"{bound:.3f}"]
                    for name in kernels:
                        cells += [f"{rec[name + '_ms']:.3f}" if name + "_ms" in rec else "-",
                                  f"{rec[name + '_x_roofline']:.2f}" if name + "_ms" in rec else "-"]
                    print("| " + " | ".join(str(x) for x in cells) + " |", flush=True)
                    rows.append(rec)
                    del q, k, v
                    torch.cuda.empty_cache()
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
