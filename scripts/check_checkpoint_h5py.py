#!/usr/bin/env python3
"""Open a checkpoint written by nn/io/checkpoint.cpp with h5py, print its structure and check it.

Usage:
    PYTHONPATH=/work/pydeps /usr/bin/python3 scripts/check_checkpoint_h5py.py CKPT.h5 [EXPECTED]

Without EXPECTED.json the script prints the tree and checks that every dataset's "dtype"
attribute agrees with the type h5py reads. With it (default: CKPT with .h5 replaced by
.expected.json, when that file exists) it also compares every attribute, every dataset's dtype,
shape and raw bytes, and the order of groups and datasets with what the writer was given.
The test suite writes such a pair:

    TRIP_KEEP_CHECKPOINT=/tmp/ck build/tests/io_tests -tc='*checkpoint*round*'
    PYTHONPATH=/work/pydeps /usr/bin/python3 scripts/check_checkpoint_h5py.py /tmp/ck.h5

What a reader in Python has to know (see nn/README.md):
  - strings (file attribute "config", each dataset's "dtype") are fixed-length UTF-8, which h5py
    returns as bytes: .decode() them;
  - bf16 is stored as its raw 16 bits (uint16) with dtype "bf16": bf16_to_f32() below widens it;
  - bool is stored as uint8 with dtype "bool"; f16 is an IEEE half that h5py reads as float16.
Not run by CI: Python is not a test dependency.
"""
import json
import os
import sys

import h5py
import numpy as np

# Our dtype names (tensor/dtype.h) and the NumPy type h5py gives for each.
NUMPY_OF = {
    "f32": np.float32, "f64": np.float64, "f16": np.float16, "bf16": np.uint16,
    "i32": np.int32, "i64": np.int64, "u8": np.uint8, "bool": np.uint8,
}


def bf16_to_f32(a):
    """bf16 bits (uint16) -> float32: a bf16 is the top half of a float32."""
    bits = np.asarray(np.asarray(a, dtype=np.uint32) << np.uint32(16), dtype=np.uint32)
    return bits.view(np.float32)


def text(v):
    return v.decode("utf-8") if isinstance(v, (bytes, np.bytes_)) else v


def short(v, n=60):
    s = repr(text(v))
    return s if len(s) <= n else s[:n] + f"... ({len(s)} chars)"


def print_tree(f):
    """The tree in the file's order (groups track link creation order, so h5py lists the
    entries as they were written)."""
    print(f"{f.filename}")
    for k, v in f.attrs.items():
        print(f"  @{k} = {short(v)}")

    def visit(group, depth):
        pad = "  " * depth
        for leaf, obj in group.items():
            if isinstance(obj, h5py.Dataset):
                value = obj[()]
                if text(obj.attrs.get("dtype")) == "bf16":
                    value = bf16_to_f32(value)
                flat = np.asarray(value).reshape(-1)[:3]
                print(f"{pad}{leaf}: {obj.dtype} {obj.shape}  @dtype={text(obj.attrs.get('dtype'))}"
                      f"  first values {flat.tolist()}")
            else:
                attrs = ", ".join(f"@{k}={short(v, 30)}" for k, v in obj.attrs.items())
                print(f"{pad}{leaf}/  {attrs}")
                visit(obj, depth + 1)

    visit(f, 1)


class Checker:
    def __init__(self):
        self.errors = []
        self.datasets = 0

    def expect(self, ok, message):
        if not ok:
            self.errors.append(message)

    def dataset(self, ds, path):
        """Self-consistency: the dtype attribute names the type h5py reads."""
        name = text(ds.attrs.get("dtype"))
        self.expect(name in NUMPY_OF, f"{path}: dtype attribute {name!r} unknown")
        if name in NUMPY_OF:
            self.expect(ds.dtype == NUMPY_OF[name], f"{path}: {name} read as {ds.dtype}")
        self.datasets += 1

    def tensor(self, ds, path, want):
        self.dataset(ds, path)
        self.expect(text(ds.attrs["dtype"]) == want["dtype"],
                    f"{path}: dtype {text(ds.attrs['dtype'])}, writer had {want['dtype']}")
        self.expect(list(ds.shape) == want["shape"],
                    f"{path}: shape {list(ds.shape)}, writer had {want['shape']}")
        got = np.ascontiguousarray(ds[()]).tobytes()
        self.expect(got == bytes.fromhex(want["hex"]), f"{path}: bytes differ from the writer's")

    def children(self, group, want, what):
        got = list(group.keys())
        self.expect(got == want, f"{what}: entries {got}, writer had {want}")


def check(f, expected):
    c = Checker()
    for path in ("model", "optimizer"):
        c.expect(path in f, f"missing group /{path}")
    f.visititems(lambda name, obj: c.dataset(obj, name) if isinstance(obj, h5py.Dataset) else None)
    if expected is None:
        return c
    c.datasets = 0  # counted again below, against the writer
    for key in ("format_version", "step", "rng_seed", "rng_offset"):
        c.expect(int(f.attrs[key]) == expected[key],
                 f"@{key} = {f.attrs[key]}, writer had {expected[key]}")
    c.expect(text(f.attrs["config"]) == expected["config"], "@config differs from the writer's")
    model = f["model"]
    c.children(model, [m["name"] for m in expected["model"]], "/model")
    for m in expected["model"]:
        if m["name"] in model:
            c.tensor(model[m["name"]], "/model/" + m["name"], m["tensor"])
    opt = f["optimizer"]
    c.children(opt, [g["name"] for g in expected["optimizer"]], "/optimizer")
    for g in expected["optimizer"]:
        if g["name"] not in opt:
            continue
        grp, gpath = opt[g["name"]], "/optimizer/" + g["name"]
        for key in ("lr", "eps", "weight_decay"):
            c.expect(float(grp.attrs[key]) == g[key],
                     f"{gpath} @{key} = {grp.attrs[key]}, writer had {g[key]}")
        c.expect(list(grp.attrs["betas"]) == g["betas"], f"{gpath} @betas = {grp.attrs['betas']}")
        c.children(grp, [p["name"] for p in g["params"]], gpath)
        for p in g["params"]:
            if p["name"] not in grp:
                continue
            par, ppath = grp[p["name"]], gpath + "/" + p["name"]
            c.expect(int(par.attrs["step"]) == p["step"], f"{ppath} @step = {par.attrs['step']}")
            moments = [k for k in ("exp_avg", "exp_avg_sq") if p[k] is not None]
            c.children(par, moments, ppath)
            for k in moments:
                if k in par:
                    c.tensor(par[k], ppath + "/" + k, p[k])
    return c


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    path = sys.argv[1]
    exp_path = sys.argv[2] if len(sys.argv) == 3 else os.path.splitext(path)[0] + ".expected.json"
    expected = None
    if os.path.exists(exp_path):
        with open(exp_path) as fh:
            expected = json.load(fh)
    with h5py.File(path, "r") as f:
        print_tree(f)
        c = check(f, expected)
    against = f"against {exp_path}" if expected else "(self-consistency only: no expected file)"
    if c.errors:
        print(f"\nFAILED {against}:")
        for e in c.errors:
            print("  " + e)
        sys.exit(1)
    print(f"\nOK: {c.datasets} datasets checked {against}")


if __name__ == "__main__":
    main()
