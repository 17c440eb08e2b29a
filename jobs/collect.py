#!/usr/bin/python3
"""Compare the runs under a directory (a sweep): one table and one plot.

    /usr/bin/python3 jobs/collect.py DIR [--out PREFIX]

Every directory under DIR that holds a config.ini, history.h5 or checkpoint.h5 is a run.
Writes PREFIX.csv and PREFIX.md (default PREFIX: DIR/sweep) with one row per run:

  run        the run directory, relative to DIR
  options    one column per option whose value differs between the runs (from config.ini;
             --out is left out: it always differs)
  step       steps done: the later of the checkpoint's step and the last /metrics row
  images     step x the global batch
  final_fd   the Frechet distance (/metrics/eval_fd) at the last scored row, and its step
  best_fd    OUT/best.h5's score and step (the lowest distance that passed its guards); without
             a best.h5, the lowest distance in /metrics
  diversity  /metrics/eval_div at the last scored row
  wall_s     seconds of training: elapsed_s at the end of each start (a resume restarts it), summed
  notes      "unreadable: FILE (why)" for each of the run's files that could not be read (a run
             killed on a full disk, a copy cut short): the row shows what the other files say
  status     finished | stopped | failed | running, decided from files, in this order:
               1. OUT/status, which gan_train writes: "running pid P host H" when it starts,
                  "finished|stopped|failed step S of N exit E" when it ends (exit 0, 75, other);
               2. "running" whose host is this host and whose pid is gone: failed (killed, no exit
                  record); on another host it stays running;
               3. no OUT/status (an older gan_train): the checkpoint's step >= --steps: finished;
                  a checkpoint short of it: stopped; none: failed.
and PREFIX.png: the quality curves (Frechet distance, share classified as the digit,
diversity) of all runs side by side. history.h5 is opened in SWMR mode, so runs still being
written are read safely.
"""
import argparse
import csv
import math
import os
import socket
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

RUN_FILES = ("config.ini", "history.h5", "checkpoint.h5")


def find_runs(root):
    runs = []
    for d, subdirs, files in os.walk(root):
        if any(f in files for f in RUN_FILES):
            runs.append(d)
            subdirs[:] = []  # a run's own subdirectories (samples/) are not runs
        subdirs.sort()
    return sorted(runs)


def read_config(path):
    """config.ini: the options (key = value) and the derived values (# key = value)."""
    options, derived = {}, {}
    if not os.path.exists(path):
        return options, derived
    with open(path) as f:
        for line in f:
            line = line.strip()
            target = options
            if line.startswith("#"):
                line, target = line[1:].strip(), derived
            if "=" in line and not line.startswith("Repeat"):
                k, v = line.split("=", 1)
                if " " not in k.strip():
                    target[k.strip()] = v.strip()
    return options, derived


def read_history(path, problems):
    """/metrics columns, all cut to the rows every column has (SWMR: a row may be half appended).
    An unreadable file gives {} and a line in problems."""
    if not os.path.exists(path):
        return {}
    try:
        with h5py.File(path, "r", libver="latest", swmr=True) as f:
            cols = {}
            for k in f["metrics"]:
                ds = f["metrics"][k]
                ds.refresh()
                cols[k] = ds[()]
    except (OSError, KeyError, ValueError) as e:
        problems.append(f"unreadable: {os.path.basename(path)} ({e})")
        return {}
    n = min((len(v) for v in cols.values()), default=0)
    return {k: v[:n] for k, v in cols.items()}


def checkpoint_step(path, problems):
    if not os.path.exists(path):
        return None, {}
    try:
        with h5py.File(path, "r") as f:
            return int(f.attrs["step"]), dict(f.attrs)
    except (OSError, KeyError, ValueError) as e:
        problems.append(f"unreadable: {os.path.basename(path)} ({e})")
        return None, {}


def to_int(v):
    """An int from a config.ini value or an attribute, None when missing or cut short."""
    try:
        return int(v) if v is not None else None
    except (TypeError, ValueError):
        return None


def best_attrs(path):
    """(best_fd, best_step) of OUT/best.h5, or None."""
    try:
        with h5py.File(path, "r") as f:
            return float(f.attrs["best_fd"]), int(f.attrs["best_step"])
    except (OSError, KeyError, ValueError):
        return None


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def decide_status(run, ckpt_step, steps):
    path = os.path.join(run, "status")
    if os.path.exists(path):
        words = open(path).read().split()
        if words and words[0] in ("finished", "stopped", "failed"):
            return words[0]
        if words and words[0] == "running":
            fields = dict(zip(words[1::2], words[2::2]))
            if fields.get("host") == socket.gethostname() and not pid_alive(int(fields.get("pid", "0"))):
                return "failed"
            return "running"
    if ckpt_step is not None and steps is not None and ckpt_step >= steps:
        return "finished"
    return "stopped" if ckpt_step is not None else "failed"


def wall_time(elapsed):
    """Sum elapsed_s over the starts of a run: it restarts from 0 after a resume."""
    total, last = 0.0, 0.0
    for e in elapsed:
        if e < last:
            total += last
        last = e
    return total + last


def fmt(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dir")
    p.add_argument("--out", help="prefix of the .csv, .md and .png (default DIR/sweep)")
    a = p.parse_args()
    prefix = a.out or os.path.join(a.dir, "sweep")
    runs = find_runs(a.dir)
    if not runs:
        raise SystemExit(f"collect.py: no run directories under {a.dir}")

    rows, curves = [], []
    for run in runs:
        problems = []
        try:
            options, derived = read_config(os.path.join(run, "config.ini"))
        except (OSError, UnicodeDecodeError) as e:
            options, derived = {}, {}
            problems.append(f"unreadable: config.ini ({e})")
        m = read_history(os.path.join(run, "history.h5"), problems)
        ckpt, attrs = checkpoint_step(os.path.join(run, "checkpoint.h5"), problems)
        for p in problems:
            print(f"collect.py: {os.path.relpath(run, a.dir)}: {p}", file=sys.stderr)
        steps = to_int(options.get("steps", attrs.get("steps")))
        gb = to_int(derived.get("global-batch") or attrs.get("global_batch"))
        last_row = int(m["step"][-1]) if "step" in m and len(m["step"]) else None
        done = max([s for s in (ckpt, last_row) if s is not None], default=0)
        r = {"run": os.path.relpath(run, a.dir), "options": options, "step": done,
             "images": done * int(gb) if gb else None, "final_fd": None, "final_step": None,
             "best_fd": None, "best_step": None, "diversity": None,
             "wall_s": round(wall_time(m["elapsed_s"]), 1) if "elapsed_s" in m and len(m["elapsed_s"]) else None,
             "notes": "; ".join(problems), "status": decide_status(run, ckpt, steps)}
        if "eval_fd" in m:
            scored = np.flatnonzero(np.isfinite(m["eval_fd"]))
            if len(scored):
                last, best = scored[-1], scored[np.argmin(m["eval_fd"][scored])]
                r.update(final_fd=float(m["eval_fd"][last]), final_step=int(m["step"][last]),
                         best_fd=float(m["eval_fd"][best]), best_step=int(m["step"][best]),
                         diversity=float(m["eval_div"][last]))
                best_h5 = best_attrs(os.path.join(run, "best.h5"))
                if best_h5:
                    r.update(best_fd=best_h5[0], best_step=best_h5[1])
                curves.append((r["run"], m["step"][scored], m["eval_fd"][scored], m["eval_frac"][scored],
                               m["eval_div"][scored]))
        rows.append(r)

    keys = sorted({k for r in rows for k in r["options"]} - {"out"})
    differ = [k for k in keys if len({r["options"].get(k) for r in rows}) > 1]
    header = ["run"] + differ + ["step", "images", "final_fd", "final_step", "best_fd", "best_step", "diversity",
                                 "wall_s", "notes", "status"]
    table = [[r["run"]] + [r["options"].get(k, "") for k in differ] +
             [fmt(r[c]) for c in header[1 + len(differ):]] for r in rows]

    with open(prefix + ".csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(table)
    md = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    md += ["| " + " | ".join(row) + " |" for row in table]
    with open(prefix + ".md", "w") as f:
        f.write("\n".join(md) + "\n")

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for name, step, fd, frac, div in curves:
        axes[0].plot(step, fd, marker=".", label=name)
        axes[1].plot(step, 100 * frac, marker=".", label=name)
        axes[2].plot(step, div, marker=".", label=name)
    for ax, title in zip(axes, ("Frechet distance (lower is better)", "% classified as the digit", "diversity")):
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    if curves:
        axes[0].legend(fontsize="small")
    else:
        axes[0].text(0.5, 0.5, "no quality scores (--eval-every 0?)", ha="center", transform=axes[0].transAxes)
    fig.tight_layout()
    fig.savefig(prefix + ".png", dpi=100)
    print("\n".join(md))
    print(f"collect.py: {len(rows)} runs -> {prefix}.csv, {prefix}.md, {prefix}.png")


main()
