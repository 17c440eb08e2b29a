#!/usr/bin/env bash
# A score for any dataset: gan_eval --train-classifier on a small synthetic IDX dataset
# (14x14 images, 3 or 4 classes) writes a classifier that gan_train --eval-every and
# gan_eval then use; a classifier that does not fit the data (image size, class count) is
# refused with a message that says so, exit 1, before any training.
source "$(dirname "$0")/lib.sh" "$@"
BIN=$(dirname "$GAN")
cd "$TMP"
$PY - <<'PY'
import gzip, struct
import numpy as np
rng = np.random.default_rng(0)
def shapes(k, n):  # class k: a bar at a class-specific place, with noise and a random shift
    x = np.zeros((n, 14, 14))
    for i in range(n):
        s = rng.integers(-1, 2)
        if k == 0: x[i, 6 + s:8 + s, 2:12] = 1
        elif k == 1: x[i, 2:12, 6 + s:8 + s] = 1
        elif k == 2: x[i, 3 + s:11 + s, 3:5] = 1; x[i, 3 + s:11 + s, 9:11] = 1
        else: x[i, 2:4, 2:12] = 1; x[i, 10:12, 2:12] = 1
    return np.clip(x * rng.uniform(0.7, 1, (n, 1, 1)) + rng.uniform(0, 0.1, x.shape), 0, 1)
for name, classes in (("tiny", 3), ("tiny4", 4)):
    y = np.repeat(np.arange(classes), 150).astype(np.uint8)
    x = np.concatenate([shapes(k, 150) for k in range(classes)])
    with gzip.open(f"{name}-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">IIII", 0x803, len(x), 14, 14) + (x * 255).round().astype(np.uint8).tobytes())
    with gzip.open(f"{name}-labels-idx1-ubyte.gz", "wb") as f:
        f.write(struct.pack(">II", 0x801, len(y)) + y.tobytes())
PY
"$BIN/gan_eval" --train-classifier --data tiny-images-idx3-ubyte.gz --classifier tiny.h5 --epochs 20 > train.log 2>&1
check "--train-classifier on a 3-class 14x14 dataset: $(head -1 train.log)" \
  grep -qE "classifier for 3 classes of 14x14 images .* held-out accuracy (0.9|1.0)" train.log
check "the classifier file records its classes and data" $PY -c "
import h5py; f = h5py.File('tiny.h5', 'r')
assert f.attrs['classes'] == 3 and f['dense1/kernel'].shape == (196, 256), dict(f.attrs)
assert f.attrs['data'].endswith('tiny-images-idx3-ubyte.gz')"

# expect_refused PATTERN ARGS...: gan_train exits 1 with PATTERN once, having trained nothing.
expect_refused() {
  local pattern=$1; shift
  TIMEOUT=60 mpi 2 --steps 100 --eval-every 50 --out refused "$@" > out.txt 2> err.txt
  local got=$?
  if [ "$got" -eq 1 ] && [ "$(grep -c -F -- "$pattern" err.txt)" -eq 1 ] && ! grep -q "^step" out.txt; then ok; else
    bad "gan_train $*: exit $got (want 1), stderr: $(head -c 400 err.txt)"; fi
}
expect_refused "reads images of 784 pixels, these are 14x14 = 196" --data tiny-images-idx3-ubyte.gz --digit 1
expect_refused "tiny.h5 knows 3 classes (0-2), not label 3" --data tiny4-images-idx3-ubyte.gz --digit 3 --classifier tiny.h5
"$BIN/gan_eval" --checkpoint none.h5 --data tiny-images-idx3-ubyte.gz > out.txt 2> err.txt
check "gan_eval refuses the digit classifier on 14x14 images (exit 1)" \
  bash -c "test $? -eq 1 && grep -q 'reads images of 784 pixels, these are 14x14' err.txt"

# With its own classifier, scoring, best.h5 and --patience work on that data.
mpi 2 --data tiny-images-idx3-ubyte.gz --digit 1 --classifier tiny.h5 --steps 300 --eval-every 100 \
  --log-every 100 --out run > run.log 2>&1
rc=$?
check "gan_train with its own classifier exits 0 (got $rc: $(tail -1 run.log))" test $rc -eq 0
check "gan_train scores 14x14 images with their own classifier" grep -q "quality at step 300" run.log
check "best.h5 written for that data" test -s run/best.h5
"$BIN/gan_eval" --checkpoint run/best.h5 --data tiny-images-idx3-ubyte.gz --digit 1 --classifier tiny.h5 -n 200 > eval.log 2>&1
rc=$?
check "gan_eval with that classifier exits 0 (got $rc)" test $rc -eq 0
check "gan_eval scores it with that classifier" grep -q "^RESULT step=" eval.log
summary
