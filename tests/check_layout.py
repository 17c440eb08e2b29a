#!/usr/bin/python3
"""Check gan_train's output files against the documented HDF5 layout, with h5py.

    check_layout.py OUT_DIR --steps N --world W [--n-samples S]

Exits non-zero with one line per problem. Checks names, shapes, dtypes,
attributes, finiteness, value ranges and that /metrics columns have equal
lengths and increasing steps.
"""
import argparse
import sys

import h5py
import numpy as np

problems = []


def expect(cond, msg):
    if not cond:
        problems.append(msg)


def check_checkpoint(path, steps, world, skipped=0, Z=100, Hg=128, Hd=128, X=784):
    """skipped: steps whose update was dropped (history's last /metrics/skipped_steps). G's Adam
    step is the step less those; D's lies between (a step dropped after D's update keeps it)."""
    with h5py.File(path, "r") as f:
        shapes = {
            "generator/dense1/kernel": (Z, Hg), "generator/dense1/bias": (Hg,),
            "generator/dense2/kernel": (Hg, X), "generator/dense2/bias": (X,),
            "discriminator/dense1/kernel": (X, Hd), "discriminator/dense1/bias": (Hd,),
            "discriminator/dense2/kernel": (Hd, 1), "discriminator/dense2/bias": (1,),
        }
        for name, shape in shapes.items():
            expect(name in f, f"{path}: missing /{name}")
            if name in f:
                d = f[name]
                expect(d.shape == shape, f"{path}: /{name} shape {d.shape}, want {shape}")
                expect(d.dtype == np.float32, f"{path}: /{name} dtype {d.dtype}")
                expect(np.all(np.isfinite(d[()])), f"{path}: /{name} has non-finite values")
        n_g = Z * Hg + Hg + Hg * X + X
        n_d = X * Hd + Hd + Hd + 1
        for net, n in (("generator", n_g), ("discriminator", n_d)):
            for moment in ("m", "v"):
                name = f"optimizer/{net}/{moment}"
                expect(name in f and f[name].shape == (n,) and f[name].dtype == np.float32,
                       f"{path}: /{name} missing or not float32 ({n},)")
            t = f[f"optimizer/{net}"].attrs.get("step") if f"optimizer/{net}" in f else None
            ok = t == steps - skipped if net == "generator" else t is not None and steps - skipped <= t <= steps
            expect(ok, f"{path}: /optimizer/{net} attribute step {t}, want {steps} less {skipped} skipped")
            if f"optimizer/{net}/v" in f:
                expect(np.all(f[f"optimizer/{net}/v"][()] >= 0), f"{path}: negative Adam v")
        for name, dtype, width in (("state/ranks", np.int64, 5), ("state/stats", np.float64, 5)):
            expect(name in f and f[name].dtype == dtype and f[name].shape == (world, width),
                   f"{path}: /{name} missing or not {np.dtype(dtype).name} ({world}, {width})")
        if "state/stats" in f:  # loss sums since the last log, and their step count
            counts = f["state/stats"][:, 4]
            expect(np.all(np.isfinite(f["state/stats"][()])) and np.all((counts >= 0) & (counts == np.floor(counts))),
                   f"{path}: /state/stats is not finite sums with whole step counts")
        expect("state/orders" in f and f["state/orders"].dtype == np.int32 and f["state/orders"].shape[0] == world,
               f"{path}: /state/orders missing or not int32 with {world} rows")
        a = f.attrs
        expect(a.get("format_version") == 1, f"{path}: format_version {a.get('format_version')}")
        expect(a.get("step") == steps, f"{path}: step {a.get('step')}, want {steps}")
        expect(a.get("world_size") == world, f"{path}: world_size {a.get('world_size')}")
        expect(a.get("global_batch") == a.get("batch_size", -1) * world, f"{path}: global_batch")
        for key in ("noise_dim", "g_hidden", "d_hidden", "leaky_alpha", "dropout", "label_smoothing",
                    "smoothing_style", "lr", "beta1", "beta2", "epsilon", "batch_size", "steps", "seed",
                    "digit", "data", "labels", "out", "n_images", "gan_train_version"):
            expect(key in a, f"{path}: missing root attribute {key}")
        expect(isinstance(a.get("data"), str) and a["data"].endswith("idx3-ubyte.gz"),
               f"{path}: data attribute {a.get('data')!r}")


def check_history(path, steps, world, n_samples, Z=100):
    with h5py.File(path, "r", libver="latest", swmr=True) as f:
        names = ["step", "d_loss", "g_loss", "d_real", "d_fake", "samples_per_sec", "elapsed_s", "skipped_steps"]
        lengths = set()
        for n in names:
            expect(f"metrics/{n}" in f, f"{path}: missing /metrics/{n}")
            if f"metrics/{n}" in f:
                d = f[f"metrics/{n}"]
                expect(d.ndim == 1 and d.chunks is not None and d.maxshape == (None,),
                       f"{path}: /metrics/{n} is not 1-D chunked extendible")
                expect(np.all(np.isfinite(d[()])), f"{path}: /metrics/{n} has non-finite values")
                lengths.add(d.shape[0])
        for n in ["eval_frac", "eval_conf", "eval_fd", "eval_div", "eval_nn", "eval_bg", "eval_speckle", "eval_s"]:
            expect(f"metrics/{n}" in f, f"{path}: missing /metrics/{n}")
            if f"metrics/{n}" in f:
                lengths.add(f[f"metrics/{n}"].shape[0])  # NaN on rows without a score
        expect(len(lengths) == 1, f"{path}: /metrics columns have different lengths {lengths}")
        if "metrics/step" in f:
            s = f["metrics/step"][()]
            expect(s.dtype.kind == "i" and len(s) > 0 and np.all(np.diff(s) > 0) and s[-1] == steps,
                   f"{path}: /metrics/step not increasing to {steps}: {s}")
            k = f["metrics/skipped_steps"][()] if "metrics/skipped_steps" in f else np.zeros(len(s))
            expect(np.all(k == np.floor(k)) and np.all(np.diff(k) >= 0) and np.all((k >= 0) & (k <= s)),
                   f"{path}: /metrics/skipped_steps is not a non-decreasing count of steps: {k}")
            for n in ("d_real", "d_fake"):
                v = f[f"metrics/{n}"][()]
                expect(np.all((v >= 0) & (v <= 1)), f"{path}: /metrics/{n} outside [0, 1]")
        imgs = f.get("samples/images")
        expect(imgs is not None and imgs.ndim == 4 and imgs.shape[1:] == (n_samples, 28, 28)
               and imgs.dtype == np.float32, f"{path}: /samples/images shape or dtype wrong")
        if imgs is not None:
            v = imgs[()]
            expect(np.all(np.isfinite(v)) and v.min() >= 0 and v.max() <= 1,
                   f"{path}: /samples/images outside [0, 1]")
            st = f["samples/step"][()]
            expect(len(st) == imgs.shape[0] and st[-1] == steps, f"{path}: /samples/step {st}")
        noise = f.get("samples/noise")
        expect(noise is not None and noise.shape == (n_samples, Z) and np.all(np.abs(noise[()]) <= 1),
               f"{path}: /samples/noise wrong")
        expect(f.attrs.get("world_size") == world, f"{path}: world_size attribute")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--world", type=int, required=True)
    p.add_argument("--n-samples", type=int, default=64)
    a = p.parse_args()
    skipped = 0
    try:
        with h5py.File(f"{a.out}/history.h5", "r") as f:
            skipped = int(f["metrics/skipped_steps"][-1])
    except (OSError, KeyError, IndexError, ValueError):
        pass  # check_history reports a missing or empty history
    check_checkpoint(f"{a.out}/checkpoint.h5", a.steps, a.world, skipped)
    check_history(f"{a.out}/history.h5", a.steps, a.world, a.n_samples)
    for msg in problems:
        print("LAYOUT:", msg, file=sys.stderr)
    print(f"check_layout: {a.out}: {'OK' if not problems else f'{len(problems)} problems'}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
