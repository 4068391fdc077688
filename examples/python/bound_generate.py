#!/usr/bin/env python3
"""Greedy generation with a bundle's fixed-shape step graphs and stock ONNX Runtime's IO binding.

    pip install onnxruntime numpy            # onnxruntime-gpu for --device cuda
    python examples/python/bound_generate.py BUNDLE --ids 1,2,3 [--ids 4,5,6] [--max-new-tokens N]
                                             [--device cpu|cuda] [--cuda-graph]

The bundle needs the fixed_step (and, for CAT, fixed_compress) graphs: export it with
`cat-export export ... --fixed-step-batch B`. Every cache lives in an OrtValue bound as both the
step's past and its present, so each run appends one entry in place; with --cuda-graph ONNX
Runtime replays the whole step as one CUDA graph. Prompts must have equal lengths; up to B of
them (the rest of the batch repeats the first prompt and is dropped). The decoding follows
docs/BUNDLE.md (the fixed_step row) and org.catonnx.runtime.bound.BoundGenerator.
"""
import argparse
import json
import os
import sys

import numpy as np
import onnxruntime as ort

FORMAT = "cat-onnx-bundle/1"
FEED_TOKEN, FEED_SUMMARY, FEED_DUMMY = 0, 1, 2
ONNX_TYPES = {"float32": np.float32, "float16": np.float16, "bfloat16": 16}  # bfloat16: ONNX type code (no numpy type)


def graph(manifest, purpose, chunk):
    for g in manifest["graphs"]:
        if g["purpose"] == purpose and g["chunk_size"] == chunk:
            return g
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle", help="a bundle directory (extract a .cat archive first, e.g. with run_bundle.py's rules)")
    ap.add_argument("--ids", action="append", required=True, help="a prompt as comma-separated token ids; repeat for a batch")
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--cuda-graph", action="store_true", help="capture the step once and replay it (CUDA only)")
    ap.add_argument("--custom-ops-library", metavar="SO",
                    help="cat-onnx's native library, for bundles exported with --attention custom (the runtime jar's "
                         "native/linux-x86_64/libcatonnx_ops_cpu.so, or libcatonnx_ops_cuda.so with --device cuda)")
    args = ap.parse_args()
    if args.cuda_graph and args.device != "cuda":
        sys.exit("--cuda-graph needs --device cuda")

    with open(os.path.join(args.bundle, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    if manifest.get("format") != FORMAT:
        sys.exit(f"unknown bundle format {manifest.get('format')!r} (this script reads {FORMAT})")
    variant = manifest["model"]["variant"]
    decoder = manifest["model"]["config"]["decoder"]
    chunk = decoder.get("chunk_size", 0) if variant == "cat" else 0
    step_entry = graph(manifest, "fixed_step", chunk)
    if step_entry is None:
        sys.exit("the bundle has no fixed_step graph: export it with --fixed-step-batch B")
    if step_entry.get("custom_ops") and not args.custom_ops_library:
        sys.exit(f"{step_entry['file']} needs the cat-onnx custom-op library: pass --custom-ops-library")
    batch = step_entry["batch"]

    prompts = [[int(t) for t in s.split(",")] for s in args.ids]
    p = len(prompts[0])
    if len(prompts) > batch:
        sys.exit(f"{len(prompts)} prompts, but the graphs were exported for batch {batch}")
    if any(len(x) != p for x in prompts) or p == 0:
        sys.exit("prompts must be non-empty and of equal lengths")
    if any(t < 0 or t >= decoder["vocab_size"] for x in prompts for t in x):
        sys.exit(f"token ids must be in 0..{decoder['vocab_size'] - 1}")
    if p + args.max_new_tokens > decoder["block_size"]:
        sys.exit(f"prompt + new tokens exceed block_size {decoder['block_size']}")
    rows = prompts + [prompts[0]] * (batch - len(prompts))

    providers = ["CPUExecutionProvider"]
    if args.device == "cuda":
        providers = [("CUDAExecutionProvider", {"enable_cuda_graph": "1" if args.cuda_graph else "0"})]
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if args.custom_ops_library:
        options.register_custom_ops_library(args.custom_ops_library)

    def session(entry):
        return ort.InferenceSession(os.path.join(args.bundle, entry["file"]), options, providers=providers)

    def buffer(shape, element_type):
        """Zero-filled: a step reads the ids even when it feeds a summary, and attention kernels may
        touch cache slots past the valid ones (masked, but NaN garbage would survive 0 * NaN)."""
        v = ort.OrtValue.ortvalue_from_shape_and_type(shape, element_type, args.device, 0)
        v.update_inplace(np.zeros(shape, dtype=np.uint16 if element_type == 16 else element_type))
        return v

    # every input and output bound once to a buffer we own; present.* over its past.*
    step = session(step_entry)
    bind = step.io_binding()
    ids, nxt, control = buffer([batch, 1], np.int64), buffer([batch, 1], np.int64), buffer([3], np.int64)
    bind.bind_ortvalue_input("input_ids", ids)
    bind.bind_ortvalue_input("step", control)
    bind.bind_ortvalue_output("next_token", nxt)  # its own buffer: a CUDA-graph capture runs the first step several times
    cache_type = ONNX_TYPES[manifest["precision"]]
    for i in step.get_inputs():
        if i.name.startswith("past."):
            cache = buffer(i.shape, cache_type)
            bind.bind_ortvalue_input(i.name, cache)
            bind.bind_ortvalue_output("present." + i.name[len("past."):], cache)
    compress = cbind = chunk_ids = chunk_index = None
    if variant == "cat":
        summary = buffer([batch, 1, decoder["dim"]], cache_type)
        bind.bind_ortvalue_input("summary", summary)
        compress = session(graph(manifest, "fixed_compress", chunk))
        cbind = compress.io_binding()
        chunk_ids, chunk_index = buffer([chunk, batch], np.int64), buffer([1], np.int64)
        cbind.bind_ortvalue_input("chunk_ids", chunk_ids)
        cbind.bind_ortvalue_input("chunk_index", chunk_index)
        cbind.bind_ortvalue_output("summary", summary)

    def run(mode, position, slot):
        control.update_inplace(np.array([mode, position, slot], dtype=np.int64))
        step.run_with_iobinding(bind)

    # the step decoder (CAT.md section 4): dummy summary, then every token; a full chunk is
    # compressed and its summary fed at position 0 over the chunk's first slot
    out, summaries, local = [], 0, 0
    fed = np.zeros((chunk, batch), dtype=np.int64) if variant == "cat" else None
    if variant == "cat":
        run(FEED_DUMMY, 0, 0)
        summaries = 1
    token = None
    n = 0
    while len(out) < args.max_new_tokens:
        token = np.array([r[n] for r in rows], dtype=np.int64) if n < p else token
        ids.update_inplace(token.reshape(batch, 1))
        if variant == "cat":
            fed[local] = token
            if local + 1 < chunk:  # the chunk's last token is only compressed (its output is the summary's)
                run(FEED_TOKEN, local + 1, summaries + local)
            local += 1
            if local == chunk:
                chunk_ids.update_inplace(fed)
                chunk_index.update_inplace(np.array([summaries - 1], dtype=np.int64))
                compress.run_with_iobinding(cbind)
                run(FEED_SUMMARY, 0, summaries)
                summaries += 1
                local = 0
        else:
            run(FEED_TOKEN, n, n)
        if n + 1 >= p:
            token = nxt.numpy().reshape(batch).copy()   # numpy() may share the buffer the next step overwrites
            out.append(token)
        n += 1

    generated = np.stack(out, axis=1)[: len(prompts)]
    print(json.dumps({"results": [{"prompt_ids": prompts[r], "generated_ids": generated[r].tolist()} for r in range(len(prompts))]}))


if __name__ == "__main__":
    main()
