#!/usr/bin/python3
"""Plot a gan_train history.h5 as PNG files (h5py + matplotlib, Debian's python3).

    /usr/bin/python3 jobs/plot_history.py runs/latest/history.h5 [--out DIR]

Writes into DIR (default: beside the history file, in plots/):
  losses.png         D and G losses over steps
  discriminator.png  mean D(x) on real images and D(G(z)) on generated ones
  quality.png        the in-training quality scores under /metrics/eval_* (--eval-every), if any
  samples.png        the fixed-noise samples at up to 8 evenly spaced grids, first 8 each
Works on a file that is still being written (SWMR).
"""
import argparse
import os

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("history")
p.add_argument("--out", help="output directory (default: plots/ beside the history file)")
a = p.parse_args()
out = a.out or os.path.join(os.path.dirname(os.path.abspath(a.history)), "plots")
os.makedirs(out, exist_ok=True)

with h5py.File(a.history, "r", libver="latest", swmr=True) as f:
    m = {k: f["metrics"][k][()] for k in f["metrics"]}
    images = f["samples/images"]
    grid_steps = f["samples/step"][()]
    k = len(grid_steps)
    picks = sorted(set(np.linspace(0, k - 1, min(8, k)).round().astype(int))) if k else []
    grids = [images[i, :8] for i in picks]
    title = f"{f.attrs.get('data', '')} digit {f.attrs.get('digit', '?')}, {f.attrs.get('world_size', '?')} ranks"

step = m["step"]
written = []


def save(fig, name):
    path = os.path.join(out, name)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    written.append(path)


fig, ax = plt.subplots(figsize=(8, 4))
ax.plot(step, m["d_loss"], label="D loss")
ax.plot(step, m["g_loss"], label="G loss")
ax.set_xlabel("step"), ax.set_ylabel("loss"), ax.set_title(title, fontsize=8), ax.legend()
save(fig, "losses.png")

fig, ax = plt.subplots(figsize=(8, 4))
ax.plot(step, m["d_real"], label="D(x), real")
ax.plot(step, m["d_fake"], label="D(G(z)), generated")
ax.set_ylim(0, 1), ax.set_xlabel("step"), ax.set_ylabel("mean discriminator output"), ax.legend()
save(fig, "discriminator.png")

quality = [k for k in m if k.startswith("eval_")]
if quality:
    fig, axes = plt.subplots(len(quality), 1, figsize=(8, 2.2 * len(quality)), sharex=True, squeeze=False)
    for ax, key in zip(axes[:, 0], quality):
        ok = np.isfinite(m[key])
        ax.plot(step[ok], m[key][ok], marker="o")
        ax.set_ylabel(key[5:])
    axes[-1, 0].set_xlabel("step")
    save(fig, "quality.png")

if grids:
    fig, axes = plt.subplots(len(grids), 8, figsize=(8, len(grids)), squeeze=False)
    for row, (i, g) in enumerate(zip(picks, grids)):
        for col in range(8):
            ax = axes[row, col]
            ax.axis("off")
            if col < len(g):
                ax.imshow(g[col], cmap="gray", vmin=0, vmax=1)
        axes[row, 0].set_title(f"step {grid_steps[i]}", fontsize=7, loc="left")
    save(fig, "samples.png")

for path in written:
    print(path)
