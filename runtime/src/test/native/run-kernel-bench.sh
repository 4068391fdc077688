#!/usr/bin/env bash
# Builds and runs the standalone CatAttention kernel harness (cat_attention_bench.cu; no ONNX
# Runtime needed) on a machine with an sm_90 GPU (H100 / H200); built for sm_90a (the wgmma kernel).
#
# usage (from anywhere):  runtime/src/test/native/run-kernel-bench.sh [check ARGS | bench ARGS]
#   check [-q] [-n] [kernel=all|mma|wgmma] [types=bf16,fp16] [hds=..] [chunks=..] [maxn=N] (default)
#                    tensor-core kernels vs the float32 scalar kernel; exit status 1 on a failure;
#                    types= hds= chunks= maxn= select cases (e.g. for compute-sanitizer racecheck, which is
#                    too slow for all of them: "$BENCH_OUT"/cat_attention_bench after a first run);
#                    -n lists the selection without a GPU
#   bench [kernel=both|mma|wgmma] [bq=64|128] [wbk=32|64] [scalar=0] [L=2048,8192] [chunks=..] [batches=..] [hds=..]
#                    bfloat16 timings as a markdown table (mma.sync and wgmma side by side)
#   bounds [wbk=32|64] [L=..] [chunks=..] [batches=..] [hds=..]
#                    no GPU: per bench shape, the share of the wgmma kernel's MMA work that is useful and
#                    the floors (x roofline) its computed scores put on any kernel: bytes, MMA, exp (MUFU)
#   compare BASE [L=..] [chunks=..] [batches=..] [hds=..]
#                    the wgmma kernel vs BASE's: a git revision (its cat_attention_wgmma.cuh, which must
#                    fit this revision's cat_attention_kernels.cuh) or a copy of that header (machines
#                    without the repository's .git, such as the lent GPU); alternating launches
# environment: NVCC (default: nvcc on PATH, else /usr/local/cuda-13.0/bin/nvcc, else /usr/local/cuda/bin/nvcc),
#              BENCH_OUT (build directory, default /tmp/catonnx-kernel-bench), PTXAS_VERBOSE=1 (register report),
#              BENCH_ARCH_FLAGS (default "-gencode arch=compute_90a,code=sm_90a"; the library's set, sm_90 + sm_90a
#              + sm_80, shows which image the runtime loads: the bench header's "sm_90a image loaded")
#              CATONNX_WGMMA_TMA=0 (read by the kernel's launcher): no TMA, every tile and Q by cp.async and y by
#              plain stores, the wgmma kernel's paths for a driver that cannot encode tensor maps (check them so)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NATIVE=$(cd "$HERE/../../main/native" && pwd)
NVCC=${NVCC:-$(command -v nvcc || true)}
for c in /usr/local/cuda-13.0/bin/nvcc /usr/local/cuda/bin/nvcc; do [ -z "$NVCC" ] && [ -x "$c" ] && NVCC=$c; done
[ -n "$NVCC" ] || { echo "nvcc not found (set NVCC)" >&2; exit 1; }
OUT=${BENCH_OUT:-/tmp/catonnx-kernel-bench}
mkdir -p "$OUT"
[ $# -eq 0 ] && set -- check
if [ "$1" = compare ]; then
  [ $# -ge 2 ] || { echo "usage: $0 compare REVISION|HEADER [ARGS]" >&2; exit 2; }
  BASE_DIR=$OUT/base
  mkdir -p "$BASE_DIR"
  if [ -f "$2" ]; then cat "$2"; else git -C "$HERE" show "$2:runtime/src/main/native/cat_attention_wgmma.cuh"; fi \
    | sed -e 's/^namespace wg {/namespace wgbase {/' -e 's#^}  // namespace wg$#}  // namespace wgbase#' -e 's/^#pragma once//' \
    > "$BASE_DIR/cat_attention_wgmma_base.cuh"
  grep -q '^namespace wgbase {' "$BASE_DIR/cat_attention_wgmma_base.cuh" || { echo "compare: no namespace wg in $2" >&2; exit 2; }
  echo "[kernel-bench] $NVCC -> $OUT/cat_attention_compare (base: $2)" >&2
  "$NVCC" -O3 -std=c++17 ${BENCH_ARCH_FLAGS:--gencode arch=compute_90a,code=sm_90a} -DCAT_WG_BASE -I"$NATIVE" -I"$BASE_DIR" \
    -o "$OUT/cat_attention_compare" "$HERE/cat_attention_bench.cu"
  shift 2
  exec "$OUT/cat_attention_compare" compare "$@"
fi
BIN=$OUT/cat_attention_bench
EXTRA=()
[ "${PTXAS_VERBOSE:-0}" = 1 ] && EXTRA+=(-Xptxas -v)
if [ ! -x "$BIN" ] || [ "$HERE/cat_attention_bench.cu" -nt "$BIN" ] || [ "$NATIVE/cat_attention_kernels.cuh" -nt "$BIN" ] \
   || [ "$NATIVE/cat_attention_wgmma.cuh" -nt "$BIN" ] || [ "$NATIVE/cat_cuda_elem.cuh" -nt "$BIN" ] \
   || [ "${PTXAS_VERBOSE:-0}" = 1 ]; then
  echo "[kernel-bench] $NVCC -> $BIN" >&2
  "$NVCC" -O3 -std=c++17 ${BENCH_ARCH_FLAGS:--gencode arch=compute_90a,code=sm_90a} -lineinfo "${EXTRA[@]}" -I"$NATIVE" -o "$BIN" "$HERE/cat_attention_bench.cu"
fi
exec "$BIN" "$@"
