#!/usr/bin/python3
"""same_state.py A B: exit 0 if two checkpoints hold bitwise-identical datasets
(networks, Adam moments, per-rank state) and the same step; attributes such as
--out may differ. Prints the first difference otherwise.

same_state.py A B [--same NAME...] [--differ NAME...]: instead, exit 0 if every
dataset named after --same is bitwise identical in both, and every one named after
--differ differs (in shape or in any byte); prints each verdict."""
import sys

import h5py
import numpy as np

a, b = (h5py.File(p, "r") for p in sys.argv[1:3])
if len(sys.argv) > 3:
    want, failed = None, 0
    for arg in sys.argv[3:]:
        if arg in ("--same", "--differ"):
            want = arg
            continue
        if want is None:
            sys.exit(f"usage: same_state.py A B [--same NAME...] [--differ NAME...] (got {arg!r})")
        if arg not in a or arg not in b:
            print(f"{arg}: missing from {'A' if arg not in a else 'B'}")
            failed += 1
            continue
        x, y = a[arg][()], b[arg][()]
        same = x.shape == y.shape and x.tobytes() == y.tobytes()
        verdict = "identical" if same else "differs"
        good = same == (want == "--same")
        print(f"{arg} {verdict}{'' if good else ' (expected ' + ('identical' if want == '--same' else 'a difference') + ')'}")
        failed += not good
    sys.exit(1 if failed else 0)

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
