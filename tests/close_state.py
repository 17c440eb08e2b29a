#!/usr/bin/python3
"""close_state.py A B [TOL]: exit 0 if two checkpoints hold the same networks and Adam moments to
float rounding: for each of those datasets, max |a - b| <= TOL (default 1e-3) x max |a|. For runs
that sum the same gradients in another order (--hierarchical, --overlap); same_state.py is the
bitwise check. Prints the worst relative difference of each dataset."""
import sys

import h5py
import numpy as np

a, b = (h5py.File(p, "r") for p in sys.argv[1:3])
tol = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-3
names = [f"{net}/{layer}/{kind}" for net in ("generator", "discriminator") for layer in ("dense1", "dense2")
         for kind in ("kernel", "bias")]
names += [f"optimizer/{net}/{m}" for net in ("generator", "discriminator") for m in ("m", "v")]
bad = 0
for name in names:
    x, y = a[name][()], b[name][()]
    err = float(np.abs(x - y).max() / max(np.abs(x).max(), 1e-30)) if x.shape == y.shape else float("inf")
    print(f"{name}: relative difference {err:.3g}")
    bad += not err <= tol
sys.exit(1 if bad else 0)
