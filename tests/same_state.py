#!/usr/bin/python3
"""same_state.py A B: exit 0 if two checkpoints hold bitwise-identical datasets
(networks, Adam moments, per-rank state) and the same step; attributes such as
--out may differ. Prints the first difference otherwise."""
import sys

import h5py
import numpy as np

a, b = (h5py.File(p, "r") for p in sys.argv[1:3])
names = []
a.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
other = []
b.visititems(lambda n, o: other.append(n) if isinstance(o, h5py.Dataset) else None)
if sorted(names) != sorted(other):
    sys.exit(f"different datasets: {sorted(set(names) ^ set(other))}")
for n in names:
    x, y = a[n][()], b[n][()]
    if x.shape != y.shape or x.tobytes() != y.tobytes():
        sys.exit(f"{n} differs (max |diff| {np.max(np.abs(x.astype(float) - y.astype(float)))})")
if a.attrs["step"] != b.attrs["step"]:
    sys.exit(f"step {a.attrs['step']} != {b.attrs['step']}")
print(f"same_state: {len(names)} datasets identical at step {a.attrs['step']}")
