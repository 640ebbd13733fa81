"""Writes the UNet3D parity fixture: a small random diffusers UNet3DConditionModel (every
parameter perturbed, so the zero-initialised ones matter) and its output on fixed inputs.

    PYTHONPATH=/work/pydeps /usr/bin/python3 scripts/make_unet3d_fixture.py [--modelscope-count]

tests/data/unet3d_tiny.safetensors         the model's state_dict (float16 values, exact: the
                                           model is rounded to them first; diffusers names)
tests/data/unet3d_tiny_io.safetensors      sample, timestep, context, expected and a second,
                                           non-square set (...2) (float32; the expected outputs
                                           are computed in float64)
The config must stay equal to fixture_config() in tests/unet3d_test.cpp.
With --modelscope-count it also prints the parameter count of the ms-1.7b UNet (used by
tests/unet3d_slow_test.cpp).
"""
import os
import sys

import torch
from diffusers import UNet3DConditionModel
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data")

CONFIG = dict(
    in_channels=4,
    out_channels=3,  # in != out, as TRIP_C needs
    block_out_channels=(8, 16),
    # ModelScope's order: attention at the high resolution, a plain block at the bottom; the mid
    # block (always with attention) runs at 16 channels. Heads: 2 and 4 of 4 channels, 8 in
    # transformer_in.
    down_block_types=("CrossAttnDownBlock3D", "DownBlock3D"),
    up_block_types=("UpBlock3D", "CrossAttnUpBlock3D"),
    layers_per_block=1,
    norm_num_groups=4,
    attention_head_dim=4,
    cross_attention_dim=8,
)

# ali-vilab/text-to-video-ms-1.7b unet/config.json (the rest are diffusers' defaults, equal).
MODELSCOPE = dict(
    in_channels=4,
    out_channels=4,
    block_out_channels=(320, 640, 1280, 1280),
    down_block_types=("CrossAttnDownBlock3D",) * 3 + ("DownBlock3D",),
    up_block_types=("UpBlock3D",) + ("CrossAttnUpBlock3D",) * 3,
    layers_per_block=2,
    norm_num_groups=32,
    norm_eps=1e-5,
    attention_head_dim=64,
    cross_attention_dim=1024,
    downsample_padding=1,
    mid_block_scale_factor=1,
    act_fn="silu",
    sample_size=32,
)


def main():
    torch.manual_seed(1234)
    model = UNet3DConditionModel(**CONFIG)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
            # Stored as float16 to halve the file: round first, so the reference is computed
            # from exactly the values the test loads.
            p.copy_(p.half().float())
    model.eval()
    state = {k: v.detach().half().contiguous() for k, v in model.state_dict().items()}
    print("fixture parameters:", sum(v.numel() for v in state.values()))

    g = torch.Generator().manual_seed(99)
    sample = torch.randn(2, 4, 3, 8, 8, generator=g)
    timestep = torch.tensor([10, 700], dtype=torch.int64)
    context = torch.randn(2, 5, 8, generator=g)
    model64 = model.double()
    with torch.no_grad():
        out = model64(sample.double(), timestep, context.double()).sample
    print("output", tuple(out.shape), "abs max", out.abs().max().item())
    # Non-square frames (a swapped H/W would pass on squares), one clip, 2 frames, a float
    # timestep given as one value.
    sample2 = torch.randn(1, 4, 2, 8, 4, generator=g)
    timestep2 = torch.tensor(37.5, dtype=torch.float32)
    context2 = torch.randn(1, 3, 8, generator=g)
    with torch.no_grad():
        out2 = model64(sample2.double(), timestep2, context2.double()).sample

    os.makedirs(DATA, exist_ok=True)
    save_file(state, os.path.join(DATA, "unet3d_tiny.safetensors"))
    save_file(
        {
            "sample": sample.contiguous(),
            "timestep": timestep,
            "context": context.contiguous(),
            "expected": out.float().contiguous(),
            "sample2": sample2.contiguous(),
            "timestep2": timestep2,
            "context2": context2.contiguous(),
            "expected2": out2.float().contiguous(),
        },
        os.path.join(DATA, "unet3d_tiny_io.safetensors"),
    )

    if "--modelscope-count" in sys.argv:
        big = UNet3DConditionModel(**MODELSCOPE)
        print("modelscope (ms-1.7b) UNet parameters:", sum(p.numel() for p in big.parameters()))


if __name__ == "__main__":
    main()
