#!/usr/bin/env python3
"""PyTorch's CPU figures for the cases of `trip-bench ops`, for bench/RESULTS.md.

Not a dependency of the project: run it by hand where PyTorch is installed (Debian's python3-torch
works), e.g. `/usr/bin/python3 bench/torch_ops.py --threads 2`. It prints one JSON object per case
in trip-bench's --json format, timed the same way (2 warm-up runs, median of --repeats).
"""
import argparse
import json
import statistics
import time

import torch


def median_ms(fn, repeats):
    for _ in range(2):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def cases():
    out = []

    def matmul(name, b, m, k, n):
        x = torch.randn(b, m, k) if b > 1 else torch.randn(m, k)
        y = torch.randn(b, k, n) if b > 1 else torch.randn(k, n)
        out.append((name, 2.0 * b * m * k * n, 0, lambda: torch.matmul(x, y)))

    for s in (512, 1024, 2048):
        matmul(f"matmul_f32_{s}", 1, s, s, s)
    matmul("matmul_f32_proj_8192x64x64", 1, 8192, 64, 64)
    matmul("matmul_f32_proj_8192x320x320", 1, 8192, 320, 320)
    matmul("matmul_f32_geglu_4096x320x2560", 1, 4096, 320, 2560)
    matmul("matmul_f32_attn_64x256x32x256", 64, 256, 32, 256)
    n = 4 << 20
    a, b = torch.randn(n), torch.randn(n)
    out.append(("add_4M", 0, 3.0 * n * 4, lambda: a + b))
    out.append(("mul_4M", 0, 3.0 * n * 4, lambda: a * b))
    out.append(("add_bcast_4M", 0, 2.0 * n * 4, lambda: a + 1.0))
    out.append(("exp_4M", 0, 2.0 * n * 4, lambda: torch.exp(a)))
    out.append(("silu_4M", 0, 2.0 * n * 4, lambda: torch.nn.functional.silu(a)))
    out.append(("gelu_4M", 0, 2.0 * n * 4, lambda: torch.nn.functional.gelu(a)))
    t = torch.randn(2048, 2048)
    out.append(("transpose_copy_2048", 0, 2.0 * 2048 * 2048 * 4, lambda: t.t().contiguous()))
    s = torch.randn(4096, 1024)
    sb = 2.0 * 4096 * 1024 * 4
    out.append(("softmax_4096x1024", 0, sb, lambda: torch.softmax(s, -1)))
    out.append(("log_softmax_4096x1024", 0, sb, lambda: torch.log_softmax(s, -1)))
    out.append(("sum_4M", 0, n * 4.0, lambda: a.sum()))
    out.append(("sum_rows_4096x1024", 0, 4096 * 1024 * 4.0, lambda: s.sum(1)))
    out.append(("sum_cols_4096x1024", 0, 4096 * 1024 * 4.0, lambda: s.sum(0)))
    out.append(("amax_rows_4096x1024", 0, 4096 * 1024 * 4.0, lambda: s.amax(1)))
    out.append(("var_rows_4096x1024", 0, 3 * 4096 * 1024 * 4.0, lambda: s.var(1)))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for name, flops, nbytes, fn in cases():
        ms = median_ms(fn, args.repeats)
        rate = {"gflops": flops / ms / 1e6} if flops else {"gbps": nbytes / ms / 1e6}
        print(json.dumps({"case": name, "device": "cpu", "median_ms": round(ms, 4),
                          **{k: round(v, 2) for k, v in rate.items()},
                          "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
