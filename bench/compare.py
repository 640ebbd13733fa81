#!/usr/bin/env python3
"""Prints a Markdown table comparing two `--json` outputs (trip-bench and bench/torch_ops.py):
python3 bench/compare.py ours.json torch.json. A helper for RESULTS.md; not needed to build."""
import json
import sys


def load(path):
    return {d["case"]: d for d in map(json.loads, open(path)) if "case" in d}


ours, theirs = load(sys.argv[1]), load(sys.argv[2])
print("| case | trip ms | rate | PyTorch ms | rate | trip / PyTorch time |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for case, d in ours.items():
    unit = "GFLOP/s" if "gflops" in d else "GB/s"
    rate = d.get("gflops", d.get("gbps"))
    t = theirs.get(case)
    if t is None:
        print(f"| {case} | {d['median_ms']:.3f} | {rate:.1f} {unit} | | | |")
        continue
    trate = t.get("gflops", t.get("gbps"))
    print(f"| {case} | {d['median_ms']:.3f} | {rate:.1f} {unit} | {t['median_ms']:.3f} | "
          f"{trate:.1f} {unit} | {d['median_ms'] / t['median_ms']:.2f} |")
