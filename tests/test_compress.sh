#!/usr/bin/env bash
# --compress and --hierarchical: each form trains, is deterministic for a seed and rank count,
# resumes bit for bit (its error feedback and PowerSGD's Q travel in the checkpoint), and a resume
# on another rank count or form starts that state afresh and says so. The exact sums of every
# form are checked against one process in test_union_step; this checks the whole program.
source "$(dirname "$0")/lib.sh" "$@"
cd "$TMP"
# Short legs (the suite runs this under ASan too): 100 steps, or 50 + a resume to 100.
common=(--log-every 25 --sample-every 0 --checkpoint-every 30 --cooldown 0)

for form in bf16 powersgd:2; do
  mpi 2 --steps 100 "${common[@]}" --compress $form --out full > full.log 2>&1
  check "$form: trains to the end (exit 0)" test $? -eq 0
  check "$form: says what travels" grep -q "(--compress $form)" full.log
  check_num "$form: losses in the normal range at step 100" "0.3 < d < 3 and 0.3 < g < 5" \
    d="$(awk '/^step +100\//{print $4}' full.log)" g="$(awk '/^step +100\//{print $6}' full.log)"
  check "$form: the checkpoint holds each rank's error feedback and the shared state" $PY - full/checkpoint.h5 "$form" <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
r = f["state/comm_rank"]
assert r.shape == (2, 100609 + 114064), r.shape  # D's, then G's error feedback
assert abs(r[()]).max() > 0, "no error feedback"
assert ("state/comm_shared" in f) == sys.argv[2].startswith("powersgd")
assert f.attrs["compress"] == sys.argv[2], f.attrs["compress"]
PY
  mpi 2 --steps 100 "${common[@]}" --compress $form --out again > /dev/null 2>&1
  check "$form: the same seed and rank count give the same state" $PY "$HERE/same_state.py" full/checkpoint.h5 again/checkpoint.h5
  mpi 2 --steps 50 "${common[@]}" --compress $form --out run > /dev/null 2>&1
  mpi 2 --steps 100 "${common[@]}" --compress $form --out run --resume > resume.log 2>&1
  check "$form: resume exits 0" test $? -eq 0
  check "$form: 50 + resume 50 == 100 steps, the same state" $PY "$HERE/same_state.py" full/checkpoint.h5 run/checkpoint.h5
  check "$form: no reset announced on an exact resume" bash -c "! grep -q 'starts afresh' resume.log"
  mpi 1 --steps 100 "${common[@]}" --compress $form --out run --resume > other.log 2>&1
  check "$form: a resume on 1 rank runs (exit 0)" test $? -eq 0
  check "$form: ... and says the error feedback starts afresh" grep -q "state (error feedback.*) starts afresh: the checkpoint holds another rank count" other.log
  rm -rf full again run
done

# The compressed forms must differ from the exact one, and from each other (each was applied).
for form in none bf16 powersgd:2; do mpi 2 --steps 40 "${common[@]}" --compress $form --out "f_$form" > /dev/null 2>&1; done
check "bf16 changes the weights against exact sums" $PY "$HERE/same_state.py" f_none/checkpoint.h5 f_bf16/checkpoint.h5 --differ /generator/dense1/kernel /discriminator/dense1/kernel
check "powersgd changes the weights against exact sums" $PY "$HERE/same_state.py" f_none/checkpoint.h5 f_powersgd:2/checkpoint.h5 --differ /generator/dense2/kernel /discriminator/dense1/kernel
# A resume into another form starts its state afresh and says so.
mpi 2 --steps 60 "${common[@]}" --compress bf16 --out f_powersgd:2 --resume > form.log 2>&1
check "another --compress form on resume: exit 0" test $? -eq 0
check "... and says its state starts afresh" grep -q "starts afresh: the checkpoint holds the state of another --compress form" form.log

# --hierarchical on: on one host every rank is in one node, so the sums are the node's reduce and
# broadcast; the exact form must give the flat run's weights to float rounding, and be deterministic.
mpi 3 --steps 40 "${common[@]}" --hierarchical off --out flat > /dev/null 2>&1
mpi 3 --steps 40 "${common[@]}" --hierarchical on --out hier > hier.log 2>&1
check "--hierarchical on: exit 0" test $? -eq 0
check "--hierarchical on: says so" grep -q "hierarchical: within each host first" hier.log
mpi 3 --steps 40 "${common[@]}" --hierarchical on --out hier2 > /dev/null 2>&1
check "--hierarchical on: deterministic" $PY "$HERE/same_state.py" hier/checkpoint.h5 hier2/checkpoint.h5
check "--hierarchical on: the flat run's weights within float rounding" $PY "$HERE/close_state.py" flat/checkpoint.h5 hier/checkpoint.h5
# --overlap on: G's sum lands during the next step. The same updates as --overlap off up to the
# order of D's gradient sum (two halves), deterministic, and a resume is exact in every form
# (each checkpoint lands the sum in flight first).
mpi 2 --steps 3 "${common[@]}" --overlap off --out ov_off > /dev/null 2>&1
mpi 2 --steps 3 "${common[@]}" --overlap on --out ov_on > /dev/null 2>&1
check "--overlap on: 3 steps within float rounding of --overlap off" $PY "$HERE/close_state.py" ov_off/checkpoint.h5 ov_on/checkpoint.h5 1e-4
check "--overlap on: ... the same draws and data order" $PY "$HERE/same_state.py" ov_off/checkpoint.h5 ov_on/checkpoint.h5 --same /state/ranks /state/orders /state/stats
mpi 2 --steps 3 "${common[@]}" --r1 5 --overlap off --out r1_off > /dev/null 2>&1
mpi 2 --steps 3 "${common[@]}" --r1 5 --overlap on --out r1_on > /dev/null 2>&1
check "--r1 with --overlap on (the penalty in D's real half): within float rounding of --overlap off" \
  $PY "$HERE/close_state.py" r1_off/checkpoint.h5 r1_on/checkpoint.h5 1e-4
check "--r1 changes D's update" $PY "$HERE/same_state.py" ov_off/checkpoint.h5 r1_off/checkpoint.h5 --differ /discriminator/dense1/kernel
for form in none powersgd:2; do
  mpi 2 --steps 100 "${common[@]}" --overlap on --compress $form --out ofull > ofull.log 2>&1
  check "--overlap on --compress $form: exit 0" test $? -eq 0
  check "--overlap on --compress $form: reports the exposed communication" grep -q "^communication: exposed" ofull.log
  mpi 2 --steps 100 "${common[@]}" --overlap on --compress $form --out oagain > /dev/null 2>&1
  check "--overlap on --compress $form: deterministic" $PY "$HERE/same_state.py" ofull/checkpoint.h5 oagain/checkpoint.h5
  mpi 2 --steps 50 "${common[@]}" --overlap on --compress $form --out orun > /dev/null 2>&1
  mpi 2 --steps 100 "${common[@]}" --overlap on --compress $form --out orun --resume > /dev/null 2>&1
  check "--overlap on --compress $form: 50 + resume 50 == 100 steps, the same state" $PY "$HERE/same_state.py" ofull/checkpoint.h5 orun/checkpoint.h5
  rm -rf ofull oagain orun
done
summary
