#!/usr/bin/env bash
# Runs ON the GPU machine after the bundle is unpacked (docs/GPU.md): the generation benchmark at
# the reference's shape (issue 7), each model in its own JVM so nvidia-smi's peak is that model's.
#   scripts/gpu-bench-generation.sh OUTDIR "BATCHES" "CHUNKS" [extra cat-export bench options]
# e.g. scripts/gpu-bench-generation.sh $OUT "64 320" "0 8 4 16 32" --fused-decode --fused-norm
# MODE=bound (default loop) picks the generation mode. CHUNKS: 0 is the dense model. Writes OUTDIR/gen-<model>-b<batch>.json and a summary on stdout.
set -euo pipefail
out=$1; batches=$2; chunks=$3; shift 3
mkdir -p "$out"
for b in $batches; do
  for c in $chunks; do
    name=$([ "$c" = 0 ] && echo dense || echo "cat$c")
    sel=$([ "$c" = 0 ] && echo "--chunks 0" || echo "--no-dense --chunks $c")
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 > "$out/smi-$name-b$b.txt" &
    smi=$!
    rc=0
    bash scripts/gpu-device.sh cli bench --device cuda --precision bfloat16 --dim 768 --heads 12 --layers 12 \
      --vocab 32000 --context 2048 --prompt 8 --batch "$b" --mode "${MODE:-loop}" --json $sel "$@" \
      > "$out/gen-$name-b$b.json" 2> "$out/gen-$name-b$b.log" || rc=$?
    kill $smi; wait $smi 2>/dev/null || true
    peak=$(sort -n "$out/smi-$name-b$b.txt" | tail -n1)
    tps=$(grep -o '"tokens_per_second" : [0-9.]*' "$out/gen-$name-b$b.json" | awk '{print $3}' | head -n1)
    sec=$(grep -o '"seconds" : [0-9.]*' "$out/gen-$name-b$b.json" | awk '{print $3}' | head -n1)
    echo "$name batch $b: rc $rc, ${sec:-?} s, ${tps:-?} tokens/s, peak ${peak:-?} MiB (nvidia-smi)"
    [ $rc = 0 ] || tail -n 5 "$out/gen-$name-b$b.log"
  done
done
