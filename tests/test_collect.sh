#!/usr/bin/env bash
# jobs/collect.py over a sweep where one run's files are unreadable (a run killed on a full disk,
# a copy cut short): that run is a row marked "unreadable: FILE (why)", the others are complete,
# and the table, CSV and plot are still written (exit 0).
source "$(dirname "$0")/lib.sh" "$@"
cd "$TMP"
for lr in 0.001 0.002 0.003; do
  mpi 2 --steps 40 --log-every 10 --eval-every 20 --lr $lr --out sweep/lr$lr > /dev/null 2>&1 ||
    bad "the run with --lr $lr failed"
done
head -c 1000 /dev/urandom > sweep/lr0.002/history.h5   # not an HDF5 file any more
: > sweep/lr0.003/checkpoint.h5                        # cut to nothing
$PY "$HERE/../jobs/collect.py" sweep > collect.txt 2> collect.err
rc=$?
check "collect.py exits 0 with unreadable runs (got $rc: $(tail -2 collect.err))" test $rc -eq 0
check "it writes the CSV, Markdown and plot" test -s sweep/sweep.csv -a -s sweep/sweep.md -a -s sweep/sweep.png
check "each unreadable file is named on stderr" \
  bash -c "grep -q 'lr0.002: unreadable: history.h5' collect.err && grep -q 'lr0.003: unreadable: checkpoint.h5' collect.err"
check "every run has a row; the broken ones are marked, the good one is complete" $PY -c "
import csv
rows = {r['run']: r for r in csv.DictReader(open('sweep/sweep.csv'))}
assert set(rows) == {'lr0.001', 'lr0.002', 'lr0.003'}, rows
assert rows['lr0.001']['notes'] == '' and rows['lr0.001']['step'] == '40' and rows['lr0.001']['best_fd'], rows['lr0.001']
assert rows['lr0.002']['notes'].startswith('unreadable: history.h5 ('), rows['lr0.002']
assert rows['lr0.002']['step'] == '40', rows['lr0.002']  # from its checkpoint
assert rows['lr0.003']['notes'].startswith('unreadable: checkpoint.h5 ('), rows['lr0.003']
assert rows['lr0.003']['step'] == '40', rows['lr0.003']  # from its history"
summary
