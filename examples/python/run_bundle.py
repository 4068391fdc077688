#!/usr/bin/env python3
"""Run a cat-onnx bundle's forward graph with stock ONNX Runtime (CPU), without any cat-onnx code.

    pip install onnxruntime numpy
    python examples/python/run_bundle.py BUNDLE [--chunk N] [--tokens 1,2,3 | --length N]

BUNDLE is a bundle directory or a .cat/.zip archive (extracted to a temporary directory).
Prints the logits shape and the argmax (the greedy next token) of the last position.
See docs/BUNDLE.md for the format.
"""
import argparse
import hashlib
import json
import os
import sys
import tempfile
import zipfile

import numpy as np
import onnxruntime as ort

FORMAT = "cat-onnx-bundle/1"


def safe_extract(archive, into):
    """Extracts a bundle archive, refusing absolute paths, '..', duplicates and symbolic links."""
    root = os.path.realpath(into)
    with zipfile.ZipFile(archive) as z:
        names = set()
        for info in z.infolist():
            name = info.filename
            target = os.path.realpath(os.path.join(root, name))
            if name.startswith("/") or "\\" in name or ".." in name.split("/") or not target.startswith(root + os.sep):
                sys.exit(f"{archive}: unsafe entry name {name!r}")
            if name in names:
                sys.exit(f"{archive}: duplicate entry {name!r}")
            names.add(name)
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                sys.exit(f"{archive}: symbolic link entry {name!r}")
        z.extractall(root)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def open_bundle(path, verify):
    with open(os.path.join(path, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    if manifest.get("format") != FORMAT:
        sys.exit(f"unknown bundle format {manifest.get('format')!r} (this script reads {FORMAT})")
    root = os.path.realpath(path)
    for entry in manifest["files"]:
        p = os.path.realpath(os.path.join(root, entry["path"]))
        if not p.startswith(root + os.sep):
            sys.exit(f"{entry['path']}: path escapes the bundle")
        if not os.path.isfile(p):
            sys.exit(f"{entry['path']}: missing")
        if os.path.getsize(p) != entry["size"]:
            sys.exit(f"{entry['path']}: size {os.path.getsize(p)}, manifest says {entry['size']}")
        if verify and sha256(p) != entry["sha256"]:
            sys.exit(f"{entry['path']}: SHA-256 mismatch")
    return manifest


def default_chunk(manifest):
    offered = manifest["chunk_sizes"]
    if not offered:
        return 0  # dense model: graphs have chunk_size 0
    own = manifest["model"]["config"]["decoder"].get("chunk_size", 0)
    return own if own in offered else max(offered)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle")
    ap.add_argument("--chunk", type=int, help="chunk size (default: the model's own, or the largest offered)")
    ap.add_argument("--tokens", help="comma-separated token ids")
    ap.add_argument("--length", type=int, default=20, help="number of random token ids when --tokens is not given")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-verify", action="store_true", help="skip the SHA-256 check of every file")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="cat-bundle-") as tmp:
        path = args.bundle
        if os.path.isfile(path):
            safe_extract(path, tmp)
            path = tmp
        manifest = open_bundle(path, not args.no_verify)
        config = manifest["model"]["config"]["decoder"]
        chunk = default_chunk(manifest) if args.chunk is None else args.chunk
        graphs = [g for g in manifest["graphs"] if g["purpose"] == "forward" and g["chunk_size"] == chunk]
        if not graphs:
            sys.exit(f"no forward graph for chunk size {chunk}; the bundle offers {manifest['chunk_sizes'] or [0]}")
        graph = graphs[0]
        if graph.get("custom_ops"):
            sys.exit(f"{graph['file']} needs the cat-onnx custom-op library; export with --attention efficient for stock ONNX Runtime")

        if args.tokens:
            ids = [int(t) for t in args.tokens.split(",")]
        else:
            ids = np.random.default_rng(args.seed).integers(0, config["vocab_size"], size=args.length).tolist()
        if not ids or len(ids) > config["block_size"]:
            sys.exit(f"give 1..{config['block_size']} token ids")
        if any(t < 0 or t >= config["vocab_size"] for t in ids):
            sys.exit(f"token ids must be in 0..{config['vocab_size'] - 1}")

        # external data (graphs/weights.bin) is found relative to the graph file
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only
        session = ort.InferenceSession(os.path.join(path, graph["file"]), options, providers=["CPUExecutionProvider"])
        logits = session.run(["logits"], {"input_ids": np.asarray([ids], dtype=np.int64)})[0]
        last = logits[0, -1, : config["vocab_size"]]  # padded vocabulary rows beyond vocab_size are never tokens
        print(f"model: {manifest['model']['variant']}, {manifest['precision']}, {manifest['attention']} attention, "
              f"chunk size {chunk or '-'}; graph {graph['file']}; onnxruntime {ort.__version__}")
        print(f"input_ids: {len(ids)} tokens")
        print(f"logits shape: {list(logits.shape)}")
        print(f"argmax of last position: {int(np.argmax(last))}")


if __name__ == "__main__":
    main()
