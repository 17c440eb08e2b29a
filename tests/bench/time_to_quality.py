#!/usr/bin/python3
"""Summarise tests/bench/time_to_quality.sh's runs as Markdown tables.

    time_to_quality.py DIR IMAGES CORES

Per rank count (and PyTorch): over the seeds, mean [min-max] of the images and the training
seconds (scoring excluded: elapsed_s minus the earlier scores' eval_s) until the in-training
Frechet distance first reaches the target (2x the real/real floor), and gan_eval's scores
(1000 samples) of best.h5 and of the final checkpoint.h5.
"""
import glob
import os
import re
import sys

import h5py
import numpy as np

d, images, cores = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def result(path):
    line = [l for l in open(path) if l.startswith("RESULT")]
    return {k: float(v) for k, v in re.findall(r"(\w+)=([-\w.]+)", line[-1])} if line else None


def spread(xs, fmt):
    xs = [x for x in xs if x is not None and np.isfinite(x)]
    if not xs:
        return "-"
    return f"{fmt.format(np.mean(xs))} [{fmt.format(min(xs))}-{fmt.format(max(xs))}]"


def pct(rs, key):
    """Per-seed percentages, lowest first: the 99% criterion is about every seed."""
    xs = sorted(100 * r[key] for r in rs if np.isfinite(r[key]))
    return " / ".join(f"{x:.1f}" if key == "frac" else f"{x:.2f}" for x in xs) or "-"


rows = []
floor = None
for n in sorted({int(m) for m in re.findall(r"/n(\d+)_s\d+$", "\n".join(glob.glob(f"{d}/n*_s*")), re.M)}):
    runs = sorted(glob.glob(f"{d}/n{n}_s*[0-9]"))
    hit_img, hit_s, wall, best, final = [], [], [], [], []
    for run in runs:
        b, c = result(run + ".best.eval"), result(run + ".checkpoint.eval")
        if not b or not c:
            continue
        for r, f in ((b, "best"), (c, "checkpoint")):  # the share as the digit on 5,000 samples
            r5 = result(f"{run}.{f}.eval5k")
            r["frac5k"] = r5["frac"] if r5 else float("nan")
        floor = b["floor_fd"]
        best.append(b), final.append(c)
        with h5py.File(f"{run}/history.h5", "r", libver="latest", swmr=True) as f:
            m = f["metrics"]
            step, fd, el, ev = m["step"][:], m["eval_fd"][:], m["elapsed_s"][:], m["eval_s"][:]
            gb = int(f.attrs["global_batch"])
        train_s = el - np.concatenate([[0], np.cumsum(np.nan_to_num(ev))[:-1]])
        wall.append(train_s[-1])
        at = np.nonzero(fd <= 2 * floor)[0]
        hit_img.append(step[at[0]] * gb / 1e6 if len(at) else None)
        hit_s.append(train_s[at[0]] if len(at) else None)
    if not best:
        continue
    label = f"gan_train -n {n}" + (" (oversubscribed)" if n > cores else "")
    rows.append((label, len(best), sum(x is not None for x in hit_img), hit_img, hit_s, wall, best, final))

torch_runs = sorted(glob.glob(f"{d}/torch_s*"))
if torch_runs:
    hit_img, hit_s, wall, best, final = [], [], [], [], []
    for run in torch_runs:
        snaps = sorted(glob.glob(f"{run}/samples_*.eval"))
        scores = [(result(e), h5py.File(e[:-5] + ".h5", "r").attrs) for e in snaps]
        scores = [(r, a) for r, a in scores if r]
        if not scores:
            continue
        floor = floor or scores[0][0]["floor_fd"]
        first = [a for r, a in scores if r["fd"] <= 2 * floor]
        hit_img.append(first[0]["images"] / 1e6 if first else None)
        hit_s.append(first[0]["train_seconds"] if first else None)
        wall.append(scores[-1][1]["train_seconds"])
        ok = [r for r, a in scores if r["nn"] >= 0.9] or [r for r, a in scores]
        best.append(dict(min(ok, key=lambda r: r["fd"]), frac5k=float("nan")))
        final.append(dict(scores[-1][0], frac5k=float("nan")))
    rows.append(("PyTorch, batch 64, 1 process", len(best), sum(x is not None for x in hit_img), hit_img, hit_s, wall,
                 best, final))

print(f"Budget {images / 1e6:g}M images; target FD <= {2 * floor:.1f} (2x the real/real floor {floor:.2f}); "
      f"{cores} cores. Mean [min-max] over seeds; seconds are training time (scoring excluded).\n")
print("| run | seeds | reached target | M images to target | s to target | s in all | best FD | best div | "
      "best nn | best bg | best speckle | best % digit (1k) | best % digit (5k) | final FD | final div | final nn | "
      "final % digit (5k) |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for label, k, hits, hi, hs, w, b, f in rows:
    g = lambda rs, key, fmt: spread([r[key] for r in rs], fmt)
    print(f"| {label} | {k} | {hits}/{k} | {spread(hi, '{:.2f}')} | {spread(hs, '{:.0f}')} | {spread(w, '{:.0f}')} | "
          f"{g(b, 'fd', '{:.1f}')} | {g(b, 'div', '{:.2f}')} | {g(b, 'nn', '{:.2f}')} | {g(b, 'bg', '{:.2f}')} | "
          f"{g(b, 'speckle', '{:.4f}')} | {pct(b, 'frac')} | {pct(b, 'frac5k')} | {g(f, 'fd', '{:.1f}')} | "
          f"{g(f, 'div', '{:.2f}')} | {g(f, 'nn', '{:.2f}')} | {pct(f, 'frac5k')} |")
