#!/usr/bin/env python3
"""The PyTorch twin of `trip-bench step`: one TRIP training step of the tiny preset.

Builds the same model as trip::TripModel(TripConfig::tiny()): diffusers' UNet3DConditionModel
with the tiny config, a port of our caption encoder (trip/caption_encoder.cpp) and of Temporal
Noise Fusion (trip/temporal_noise_fusion.cpp, nn/norm.cpp AdaLayerNorm, nn/attention.cpp), and
TripModel::loss (temporal_start conditioning: the UNet sees N+1 frames and its first output frame
is dropped; the image noise prior; q_sample; MSE). AdamW with the two groups (unet + caption
encoder at 1e-4, tnf at 2e-4, weight decay 0.01). Times the step and each part exactly as
bench/step_case.cpp does, and prints the same figures (--json: the same JSON lines).

    PYTHONPATH=/work/pydeps /usr/bin/python3 bench/torch_step.py [--json] [--threads 2]

Only produces comparison figures for bench/RESULTS.md; Python is not a dependency of the project.
"""
import argparse
import json
import math
import os
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from diffusers import UNet3DConditionModel
from diffusers.models.embeddings import TimestepEmbedding, Timesteps

PAD, START = 0, 2  # trip::WordTokenizer::kPad, kStart


class Attention(nn.Module):
    """nn::Attention: to_q/to_k/to_v without bias, to_out.0 with bias; softmax(q k^T / sqrt(d)) v."""

    def __init__(self, dim, heads, dim_head):
        super().__init__()
        self.heads, self.dim_head = heads, dim_head
        inner = heads * dim_head
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_k = nn.Linear(dim, inner, bias=False)
        self.to_v = nn.Linear(dim, inner, bias=False)
        self.to_out = nn.ModuleList([nn.Linear(inner, dim), nn.Dropout(0.0)])

    def forward(self, x, context=None, key_bias=None):
        ctx = x if context is None else context
        b, lq, lk = x.shape[0], x.shape[1], ctx.shape[1]

        def split(t, n):
            return t.reshape(b, n, self.heads, self.dim_head).permute(0, 2, 1, 3)

        q, k, v = split(self.to_q(x), lq), split(self.to_k(ctx), lk), split(self.to_v(ctx), lk)
        scores = q @ k.transpose(-1, -2) * (1.0 / math.sqrt(self.dim_head))
        if key_bias is not None:
            scores = scores + key_bias
        o = (scores.softmax(-1) @ v).permute(0, 2, 1, 3).reshape(b, lq, self.heads * self.dim_head)
        return self.to_out[1](self.to_out[0](o))


class GEGLU(nn.Module):
    def __init__(self, dim_in, dim_out):
        super().__init__()
        self.proj = nn.Linear(dim_in, 2 * dim_out)

    def forward(self, x):
        hidden, gate = self.proj(x).chunk(2, dim=-1)
        return hidden * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim, mult=4):
        super().__init__()
        self.net = nn.ModuleList([GEGLU(dim, dim * mult), nn.Dropout(0.0), nn.Linear(dim * mult, dim)])

    def forward(self, x):
        for m in self.net:
            x = m(x)
        return x


class CaptionEncoderLayer(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attn = Attention(width, heads, width // heads)
        self.norm2 = nn.LayerNorm(width)
        self.ff = FeedForward(width)

    def forward(self, x, key_bias):
        h = x + self.attn(self.norm1(x), key_bias=key_bias)
        return h + self.ff(self.norm2(h))


class CaptionEncoder(nn.Module):
    """trip::CaptionEncoder: token + position embeddings, pre-norm layers masking padded keys."""

    def __init__(self, vocab, max_length=16, width=64, layers=2, heads=4):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab, width)
        self.position_embedding = nn.Embedding(max_length, width)
        self.layers = nn.ModuleList([CaptionEncoderLayer(width, heads) for _ in range(layers)])
        self.final_norm = nn.LayerNorm(width)

    def forward(self, ids):
        b, n = ids.shape
        x = self.token_embedding(ids) + self.position_embedding(torch.arange(n))
        key_bias = torch.zeros(b, 1, 1, n).masked_fill((ids == PAD).reshape(b, 1, 1, n), -1e30)
        for layer in self.layers:
            x = layer(x, key_bias)
        return self.final_norm(x)


def sinusoids(t, dim, flip_sin_to_cos):
    """nn::timestep_embedding with shift 0, scale 1, max period 10000."""
    half = dim // 2
    freqs = torch.exp(torch.arange(half, dtype=torch.float32) * (-math.log(10000.0) / half))
    angles = t.float()[:, None] * freqs[None]
    emb = torch.cat([angles.cos(), angles.sin()] if flip_sin_to_cos else [angles.sin(), angles.cos()], 1)
    return F.pad(emb, (0, 1)) if dim % 2 else emb


def spatial_position_embedding(h, w, d):
    half = d // 2
    rows = sinusoids(torch.arange(h), half, False)
    cols = sinusoids(torch.arange(w), d - half, False)
    grid = torch.cat([rows[:, None].expand(h, w, half), cols[None].expand(h, w, d - half)], 2)
    return grid.reshape(h * w, d)


class AdaLayerNorm(nn.Module):
    """nn::AdaLayerNorm: layer_norm(x) * (1 + scale) + shift, (scale, shift) = linear(silu(emb))."""

    def __init__(self, dim, emb_dim, eps):
        super().__init__()
        self.linear = nn.Linear(emb_dim, 2 * dim)
        self.eps = eps

    def forward(self, x, emb):
        scale, shift = self.linear(F.silu(emb)).chunk(2, dim=1)
        y = F.layer_norm(x, (x.shape[-1],), eps=self.eps)
        return y * (1 + scale[:, None]) + shift[:, None]


class TemporalNoiseFusion(nn.Module):
    """trip::TemporalNoiseFusion (see its header for the design)."""

    def __init__(self, channels=3, width=64, heads=4, eps=1e-5):
        super().__init__()
        d = width
        self.width = d
        self.proj_in = nn.Linear(channels, d)
        self.source_embedding = nn.Parameter(torch.randn(2, d) * 0.02)
        self.time_proj = Timesteps(d, True, 0.0)
        self.time_embedding = TimestepEmbedding(d, d)
        self.frame_proj = Timesteps(d, True, 0.0)
        self.frame_embedding = TimestepEmbedding(d, d)
        self.norm1 = AdaLayerNorm(d, d, eps)
        self.attn1 = Attention(d, heads, d // heads)
        self.norm2 = AdaLayerNorm(d, d, eps)
        self.attn2 = Attention(d, heads, d // heads)
        self.gate = nn.Linear(heads, channels)
        self.proj_out = nn.Linear(d, channels)
        nn.init.zeros_(self.proj_out.weight)
        nn.init.zeros_(self.proj_out.bias)

    def attend_to_both_noises(self, x, p, r):
        """Cross-attention to the two noises at the query's position: softmax over two keys =
        sigmoid of the logit difference; keys from layer-normalised tokens, raw values. Returns the
        logits per head and the attention output."""
        a = self.attn2
        heads = (*x.shape[:2], a.heads, a.dim_head)
        q = a.to_q(x).reshape(heads)
        norm = lambda t: F.layer_norm(t, (t.shape[-1],))
        key_diff = a.to_k(norm(p) - norm(r)).reshape(heads)
        logits = (q * key_diff).sum(-1, keepdim=True) / math.sqrt(a.dim_head)
        values = a.to_v(r).reshape(heads) + torch.sigmoid(logits) * a.to_v(p - r).reshape(heads)
        return logits.squeeze(-1), a.to_out[1](a.to_out[0](values.reshape(x.shape)))

    def forward(self, residual, prior, t):
        b, c, f, h, w = residual.shape
        d = self.width

        def tokens(x):
            return x.permute(0, 2, 3, 4, 1).reshape(b * f, h * w, c)

        pos = spatial_position_embedding(h, w, d)
        rt, pt = tokens(residual), tokens(prior)
        r = self.proj_in(rt) + pos
        p = self.proj_in(pt) + pos
        t_emb = self.time_embedding(self.time_proj(t.float()))
        f_emb = self.frame_embedding(self.frame_proj(torch.arange(f, dtype=torch.float32)))
        emb = (t_emb[:, None] + f_emb[None]).reshape(b * f, d)
        x = self.norm1(r, emb)
        x = x + self.attn1(x)
        x = self.norm2(x, emb)
        logits, attended = self.attend_to_both_noises(
            x, p + self.source_embedding[0], r + self.source_embedding[1])
        # The noise-space mix per position and channel, plus the learned correction.
        out = rt + torch.sigmoid(self.gate(logits)) * (pt - rt) + self.proj_out(attended)
        return out.reshape(b, f, h, w, c).permute(0, 4, 1, 2, 3).contiguous()


class Trip(nn.Module):
    def __init__(self, vocab=64, context_length=16):
        super().__init__()
        self.unet = UNet3DConditionModel(
            sample_size=32, in_channels=3, out_channels=3,
            down_block_types=("DownBlock3D", "CrossAttnDownBlock3D", "CrossAttnDownBlock3D"),
            up_block_types=("CrossAttnUpBlock3D", "CrossAttnUpBlock3D", "UpBlock3D"),
            block_out_channels=(32, 64, 64), layers_per_block=1, norm_num_groups=8,
            attention_head_dim=8, cross_attention_dim=64)
        self.tnf = TemporalNoiseFusion()
        self.caption_encoder = CaptionEncoder(vocab, context_length, 64)
        betas = torch.linspace(1e-4, 2e-2, 1000, dtype=torch.float64)  # TRIP.md section 1
        self.alpha_bar = torch.cumprod(1 - betas, 0).float()

    def loss(self, clip, t, noise, context):
        n = clip.shape[2]
        ab = self.alpha_bar[t].reshape(-1, 1, 1, 1, 1)
        z_t = ab.sqrt() * clip + (1 - ab).sqrt() * noise
        first = clip[:, :, 0]
        prior = (z_t - ab.sqrt() * first[:, :, None]) * (1 - ab).rsqrt()
        sample = torch.cat([first[:, :, None], z_t], 2)
        residual = self.unet(sample, t, encoder_hidden_states=context).sample[:, :, 1:1 + n]
        return F.mse_loss(self.tnf(residual, prior, t), noise)


def record_parts(model, clip, t, noise, ids):
    """The forward split at its top-level parts, as bench/step_case.cpp splits ours."""
    unet = model.unet
    b, c, n, h, w = clip.shape
    f = n + 1
    parts = []

    def add(name, fn, inputs):
        out = fn(inputs)
        parts.append((name, fn, inputs))
        return out

    with torch.no_grad():
        context = add("caption_encoder", lambda v: [model.caption_encoder(v[0])], [ids])[0]
        ab = model.alpha_bar[t].reshape(-1, 1, 1, 1, 1)
        z_t = ab.sqrt() * clip + (1 - ab).sqrt() * noise
        first = clip[:, :, 0]
        sample = torch.cat([first[:, :, None], z_t], 2)

        def time_embedding(v):
            emb = unet.time_embedding(unet.time_proj(v[0]).to(v[1].dtype))
            return [emb.repeat_interleave(f, 0), v[1].repeat_interleave(f, 0)]

        emb, ctx = add("unet.time_embedding", time_embedding, [t, context])
        x = add("unet.conv_in",
                lambda v: [unet.conv_in(v[0].permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w))],
                [sample])[0]
        x = add("unet.transformer_in",
                lambda v: [unet.transformer_in(v[0], num_frames=f, return_dict=False)[0]], [x])[0]
        skips = [x]
        for i, block in enumerate(unet.down_blocks):
            def down(v, block=block):
                if getattr(block, "has_cross_attention", False):
                    y, res = block(hidden_states=v[0], temb=v[1], encoder_hidden_states=v[2], num_frames=f)
                else:
                    y, res = block(hidden_states=v[0], temb=v[1], num_frames=f)
                return [y, *res]
            out = add(f"unet.down_blocks.{i}", down, [x, emb, ctx])
            x = out[0]
            skips += out[1:]
        x = add("unet.mid_block",
                lambda v: [unet.mid_block(v[0], v[1], encoder_hidden_states=v[2], num_frames=f)],
                [x, emb, ctx])[0]
        for i, block in enumerate(unet.up_blocks):
            k = len(block.resnets)
            res, skips = skips[-k:], skips[:-k]

            def up(v, block=block):
                kw = dict(hidden_states=v[0], temb=v[1], res_hidden_states_tuple=tuple(v[3:]), num_frames=f)
                if getattr(block, "has_cross_attention", False):
                    kw["encoder_hidden_states"] = v[2]
                return [block(**kw)]
            x = add(f"unet.up_blocks.{i}", up, [x, emb, ctx, *res])[0]
        x = add("unet.conv_norm_out+conv_out",
                lambda v: [unet.conv_out(unet.conv_act(unet.conv_norm_out(v[0])))], [x])[0]
        residual = x.reshape(b, f, -1, h, w).permute(0, 2, 1, 3, 4)[:, :, 1:]
        prior = (z_t - ab.sqrt() * first[:, :, None]) * (1 - ab).rsqrt()
        add("tnf", lambda v: [model.tnf(v[0], v[1], v[2])], [residual.contiguous(), prior, t])
    return parts


def time_part(fn, inputs, repeats, opt):
    with torch.no_grad():
        grads = [torch.randn_like(y) for y in fn(inputs)]

    def fresh():
        return [x.detach().requires_grad_(x.is_floating_point()) for x in inputs]

    def run(backward):
        times, cpu_times = [], []
        for i in range(repeats + 2):  # 2 warm-ups
            v = fresh()
            cpu_start, start = time.process_time(), time.perf_counter()
            out = fn(v)
            if backward:
                torch.autograd.backward(out, grads)
            stop, cpu_stop = time.perf_counter(), time.process_time()
            del out
            opt.zero_grad(set_to_none=True)
            if i >= 2:
                times.append((stop - start) * 1e3)
                cpu_times.append((cpu_stop - cpu_start) * 1e3)
        return median(times), median(cpu_times)

    return run(False) + run(True)


def median(values):
    return sorted(values)[len(values) // 2]


def count(module):
    return sum(p.numel() for p in module.parameters())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", os.cpu_count())))
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--no-parts", action="store_true", help="the step alone")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # each line as soon as it is measured
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = Trip()
    model.train()
    unet_params = [p for n, p in model.named_parameters() if not n.startswith("tnf.")]
    opt = torch.optim.AdamW([{"params": unet_params, "lr": 1e-4},
                             {"params": list(model.tnf.parameters()), "lr": 2e-4}], weight_decay=0.01)

    g = torch.Generator().manual_seed(0)
    b, n, s = args.batch, args.frames, args.size
    clip = torch.rand(b, 3, n, s, s, generator=g) * 2 - 1
    noise = torch.randn(clip.shape, generator=g)
    t = torch.randint(0, 1000, (b,), generator=g)
    ids = torch.zeros(b, 16, dtype=torch.long)
    for i in range(b):  # start token, 3..12 word ids, padding (as step_case.cpp)
        words = int(torch.randint(3, 13, (1,), generator=g))
        ids[i, 0] = START
        ids[i, 1:1 + words] = torch.randint(3, 64, (words,), generator=g)

    steps, fwd, bwd, optim, cpu = [], [], [], [], []
    for i in range(args.repeats + 2):
        if i == 2:
            steps, fwd, bwd, optim, cpu = [], [], [], [], []
        c0 = time.process_time()  # process CPU time, all threads (steadier on a shared machine)
        t0 = time.perf_counter()
        loss = model.loss(clip, t, noise, model.caption_encoder(ids))
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        opt.zero_grad(set_to_none=True)
        t3 = time.perf_counter()
        cpu.append((time.process_time() - c0) * 1e3)
        steps.append((t3 - t0) * 1e3), fwd.append((t1 - t0) * 1e3)
        bwd.append((t2 - t1) * 1e3), optim.append((t3 - t2) * 1e3)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    step = median(steps)
    n_unet, n_tnf, n_cap = count(model.unet), count(model.tnf), count(model.caption_encoder)
    params = n_unet + n_tnf + n_cap
    if args.json:
        print(json.dumps({"case": "step_tiny", "device": "cpu", "engine": "torch", "threads": args.threads,
                          "batch": b, "frames": n, "size": s, "parameters": params,
                          "median_ms": round(step, 2), "it_per_s": round(1e3 / step, 3),
                          "forward_ms": round(median(fwd), 2), "backward_ms": round(median(bwd), 2),
                          "optimizer_ms": round(median(optim), 2), "cpu_ms": round(median(cpu), 2),
                          "peak_rss_bytes": rss,
                          "loss": round(loss.item(), 5)}))
    else:
        print(f"torch {torch.__version__}: preset tiny, batch {b}, {n} frames of {s}x{s}, cpu ({args.threads} threads)")
        print(f"parameters {params} ({n_unet} in the UNet, {n_tnf} in TNF, {n_cap} in the caption encoder)")
        print(f"step: median {step:.1f} ms ({1e3 / step:.2f} it/s) over {args.repeats} steps after 2 warm-ups; "
              f"forward {median(fwd):.1f}, backward {median(bwd):.1f}, AdamW + zero_grad {median(optim):.1f} ms; "
              f"process CPU time {median(cpu):.1f} ms per step")
        print(f"memory: peak RSS {rss / 2**20:.1f} MiB")
        print(f"{'part':<30} {'fwd ms':>10} {'fwd+bwd ms':>12} {'fwd cpu':>10} {'fwd+bwd cpu':>12}", flush=True)
    if args.no_parts:
        return
    sum_f = sum_fb = 0.0
    for name, fn, inputs in record_parts(model, clip, t, noise, ids):
        pf, pfc, pfb, pfbc = time_part(fn, inputs, args.repeats, opt)
        sum_f, sum_fb = sum_f + pf, sum_fb + pfb
        if args.json:
            print(json.dumps({"case": f"step_tiny/{name}", "device": "cpu", "engine": "torch",
                              "fwd_ms": round(pf, 3), "fwd_bwd_ms": round(pfb, 3),
                              "fwd_cpu_ms": round(pfc, 3), "fwd_bwd_cpu_ms": round(pfbc, 3)}), flush=True)
        else:
            print(f"{name:<30} {pf:>10.2f} {pfb:>12.2f} {pfc:>10.2f} {pfbc:>12.2f}", flush=True)
    rest_f, rest_fb = median(fwd) - sum_f, median(fwd) + median(bwd) - sum_fb
    if args.json:
        print(json.dumps({"case": "step_tiny/rest", "device": "cpu", "engine": "torch",
                          "fwd_ms": round(rest_f, 3), "fwd_bwd_ms": round(rest_fb, 3)}))
    else:
        print(f"{'rest':<30} {rest_f:>10.2f} {rest_fb:>12.2f}   (step's medians minus the parts)")


if __name__ == "__main__":
    main()
