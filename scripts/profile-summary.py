#!/usr/bin/env python3
"""Summarises ONNX Runtime profiling traces (session option enable_profiling, `bench --profile`):
node executions and their summed duration per operator and provider, largest first.
usage: profile-summary.py TRACE.json [TOKENS]   (TOKENS: divide counts by the generated tokens)"""
import collections, json, sys

events = json.load(open(sys.argv[1]))
tokens = int(sys.argv[2]) if len(sys.argv) > 2 else 0
count, dur = collections.Counter(), collections.Counter()
for e in events:
    if e.get("cat") != "Node" or not e.get("name", "").endswith("_kernel_time"):
        continue
    a = e.get("args", {})
    key = (a.get("op_name", "?"), a.get("provider", "?"))
    count[key] += 1
    dur[key] += e.get("dur", 0)
total_n, total_us = sum(count.values()), sum(dur.values())
print(f"{total_n} node executions, {total_us / 1000:.1f} ms summed" + (f"; per token: {total_n / tokens:.0f} nodes, {total_us / tokens:.0f} us" if tokens else ""))
print(f"{'op':32s} {'provider':26s} {'count':>8s} {'ms':>9s} {'us/call':>8s}" + ("  per token" if tokens else ""))
for key, d in dur.most_common(30):
    n = count[key]
    print(f"{key[0]:32s} {key[1]:26s} {n:8d} {d / 1000:9.1f} {d / n:8.1f}" + (f"  {n / tokens:9.1f}" if tokens else ""))
