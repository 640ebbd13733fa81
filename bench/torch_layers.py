#!/usr/bin/env python3
"""PyTorch's CPU figures for the cases of `trip-bench layers` (same names, same JSON), for
bench/RESULTS.md. Not a project dependency: `/usr/bin/python3 bench/torch_layers.py --threads 2`.
Backward cases time the backward pass alone (forward recorded outside the timed region); torch 1.13
has no fused attention, so attention is softmax(q k^T * scale) v through autograd."""
import argparse
import json
import math

import torch
import torch.nn.functional as F

from torch_ops import median_ms


def backward_timer(make_output, inputs):
    """Times only .backward() of a freshly recorded graph each run."""
    state = {}

    def setup():
        for t in inputs:
            t.grad = None
        state["out"] = make_output()
        state["dy"] = torch.randn_like(state["out"])

    def run():
        setup()
        state["out"].backward(state["dy"])
    return run, setup


def cases():
    out = []

    def conv(name, x_shape, w_shape, padding, fn):
        x = torch.randn(*x_shape, requires_grad=True)
        w = torch.randn(*w_shape, requires_grad=True)
        b = torch.randn(w_shape[0], requires_grad=True)
        with torch.no_grad():
            y = fn(x, w, b, padding=padding)
        flops = 2.0 * y.numel() * math.prod(w_shape[1:])
        out.append((name + "_fwd", flops, 0, lambda: fn(x, w, b, padding=padding), None))
        run, setup = backward_timer(lambda: fn(x, w, b, padding=padding), [x, w, b])
        out.append((name + "_bwd", 2 * flops, 0, run, setup))

    conv("conv2d3x3_36x32x32x32", (36, 32, 32, 32), (32, 32, 3, 3), 1, F.conv2d)
    conv("conv2d3x3_36x64x16x16", (36, 64, 16, 16), (64, 64, 3, 3), 1, F.conv2d)
    conv("conv2d3x3_36x64x8x8", (36, 64, 8, 8), (64, 64, 3, 3), 1, F.conv2d)
    conv("conv3d311_4x64x9x16x16", (4, 64, 9, 16, 16), (64, 64, 3, 1, 1), (1, 0, 0), F.conv3d)
    conv("conv3d311_4x32x9x32x32", (4, 32, 9, 32, 32), (32, 32, 3, 1, 1), (1, 0, 0), F.conv3d)

    for length in (16, 64, 256, 1024):
        bh = 16 * 1024 // length
        q, k, v = (torch.randn(1, bh, length, 64, requires_grad=True) for _ in range(3))
        scale = 1 / math.sqrt(64)

        def attn(q=q, k=k, v=v):
            return torch.softmax(q @ k.transpose(-1, -2) * scale, -1) @ v
        flops = 4.0 * bh * length * length * 64
        name = f"attention_L{length}_bh{bh}_d64"
        out.append((name + "_fwd", flops, 0, lambda attn=attn: attn(), None))
        run, setup = backward_timer(attn, [q, k, v])
        out.append((name + "_bwd", 2.5 * flops, 0, run, setup))

    x = torch.randn(36, 64, 16, 16, requires_grad=True)
    g, b = torch.randn(64, requires_grad=True), torch.randn(64, requires_grad=True)
    gn = lambda: F.silu(F.group_norm(x, 32, g, b))
    nbytes = x.numel() * 4.0
    out.append(("groupnorm_silu_36x64x16x16_fwd", 0, 2 * nbytes, gn, None))
    run, setup = backward_timer(gn, [x, g, b])
    out.append(("groupnorm_silu_36x64x16x16_bwd", 0, 3 * nbytes, run, setup))

    params = [torch.randn(100000, requires_grad=True) for _ in range(100)]
    for p in params:
        p.grad = torch.randn(100000)
    opt = torch.optim.AdamW(params, lr=1e-3)
    opt.step()
    out.append(("adamw_10M", 0, 7.0 * 10e6 * 4, opt.step, None))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--filter", default="", help="only cases whose name contains this")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for name, flops, nbytes, fn, setup in cases():
        if args.filter not in name:
            continue
        if setup is None:
            with torch.no_grad():
                ms = median_ms(fn, args.repeats)
        else:
            # Time backward alone: subtract the recording of the forward from each run.
            total = median_ms(fn, args.repeats)
            ms = max(total - median_ms(setup, args.repeats), 1e-6)
        rate = {"gflops": flops / ms / 1e6} if flops else {"gbps": nbytes / ms / 1e6}
        print(json.dumps({"case": name, "device": "cpu", "median_ms": round(ms, 4),
                          **{k: round(v, 2) for k, v in rate.items()},
                          "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
