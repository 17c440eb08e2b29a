#!/usr/bin/env bash
# Faults: signals stop all ranks at one step with a checkpoint (exit 75) and the
# resumed run ends byte-identical to an uninterrupted one; kill -9 of a rank ends
# the job within seconds; kill -9 of rank 0 while it checkpoints never leaves a
# broken checkpoint.h5. (A full disk: test_full_disk.sh.)
source "$(dirname "$0")/lib.sh" "$@"
cd "$TMP"
args=(--batch-size 16 --log-every 100 --sample-every 500 --checkpoint-every 500)

# The uninterrupted reference.
mpi 2 --steps 3000 "${args[@]}" --out sig > /dev/null 2>&1 && mv sig reference
check "reference run" test -f reference/checkpoint.h5

# stop_step: the step named in run.log's "stopped by a signal at step N of M" line.
stop_step() { sed -n 's/^stopped by a signal at step \([0-9]*\) of .*/\1/p' run.log; }

# SIGUSR1 to mpirun (it forwards it to every rank), twice in quick succession, after the
# periodic checkpoint at step 500: the stop must write its own.
start_run 2 --steps 3000 "${args[@]}" --out sig
wait_for_step 700
kill -USR1 "$job"; sleep 0.05; kill -USR1 "$job" 2>/dev/null
finish_run
check "SIGUSR1: exit 75 (got $status)" test "$status" -eq 75
check "SIGUSR1: one 'stopped' line" test "$(grep -c 'stopped by a signal at step' run.log)" -eq 1
stopped=$(stop_step) saved=$(ckpt_step sig)
check "SIGUSR1: checkpoint at the announced stop step (announced '$stopped', checkpoint '$saved')" \
  test -n "$stopped" -a "$saved" = "$stopped" -a "${stopped:-0}" -ge 700 -a "${stopped:-0}" -lt 3000
mpi 2 --steps 3000 "${args[@]}" --out sig --resume > /dev/null 2>&1
check "SIGUSR1: resumed run ends byte-identical to the uninterrupted one" cmp reference/checkpoint.h5 sig/checkpoint.h5
check "SIGUSR1: the resumed run's history is the uninterrupted one's (rows, losses, grids)" $PY - <<'PY'
import h5py, numpy as np
a = h5py.File("reference/history.h5", "r", libver="latest", swmr=True)
b = h5py.File("sig/history.h5", "r", libver="latest", swmr=True)
for k in ("metrics/step", "metrics/d_loss", "metrics/g_loss", "metrics/d_real", "metrics/d_fake",
          "samples/step", "samples/images"):
    assert np.array_equal(a[k][()], b[k][()]), (k, a[k].shape, b[k].shape)
PY
rm -rf sig

# SIGTERM to rank 1 only: every rank stops at the same step.
start_run 2 --steps 3000 "${args[@]}" --out sig
wait_for_step 300
kill -TERM "$(rank_pid 1)"
finish_run
check "SIGTERM on rank 1: exit 75 (got $status)" test "$status" -eq 75
stopped=$(stop_step) saved=$(ckpt_step sig)
check "SIGTERM on rank 1: checkpoint at the announced stop step (announced '$stopped', checkpoint '$saved')" \
  test -n "$stopped" -a "$saved" = "$stopped"
mpi 2 --steps 3000 "${args[@]}" --out sig --resume > /dev/null 2>&1
check "SIGTERM on rank 1: resumed run ends byte-identical" cmp reference/checkpoint.h5 sig/checkpoint.h5
rm -rf sig

# kill -9 a non-zero rank: the job must end within seconds, and resume must finish.
start_run 2 --steps 3000 "${args[@]}" --out k9
wait_for_step 700
t0=$(date +%s.%N); kill -9 "$(rank_pid 1)"; finish_run
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "kill -9 rank 1: job ended in ${secs}s with status $status"
check "kill -9 rank 1: job ends non-zero within 10 s (${secs}s)" awk -v s="$secs" -v st="$status" 'BEGIN { exit !(st != 0 && s < 10) }'
check "kill -9 rank 1: no gan_train left" bash -c "! pgrep -f '^$GAN .*--out k9' > /dev/null"
check "kill -9 rank 1: last checkpoint (step $(ckpt_step k9)) loads and resume finishes" \
  bash -c "timeout 300 '$MPIRUN' --oversubscribe -n 2 '$GAN' --steps 3000 ${args[*]} --out k9 --resume > /dev/null 2>&1"
check "kill -9 rank 1: resumed run reached step 3000" test "$(ckpt_step k9)" -eq 3000

# kill -9 rank 0 while it writes a checkpoint every step, at varied moments.
trials=${KILL_TRIALS:-12} lost=0
for i in $(seq "$trials"); do
  rm -rf k0
  start_run 2 --steps 100000 --batch-size 8 --log-every 10 --checkpoint-every 1 --sample-every 0 --out k0
  wait_for_step 20
  sleep "0.$((RANDOM % 10))$((RANDOM % 10))"
  kill -9 "$(rank_pid 0)" 2>/dev/null
  finish_run
  if ! $PY - <<'PY'
import h5py, numpy as np
with h5py.File("k0/checkpoint.h5", "r") as f:
    assert f.attrs["format_version"] == 1 and f.attrs["step"] > 0
    for n in ("generator/dense2/kernel", "optimizer/discriminator/v", "state/orders"):
        assert np.all(np.isfinite(f[n][()]))
PY
  then lost=$((lost + 1)); fi
done
echo "kill -9 rank 0 during checkpoints: $trials trials, $lost lost the checkpoint"
check "kill -9 rank 0: checkpoint.h5 always complete ($lost of $trials broken)" test "$lost" -eq 0
check "kill -9 rank 0: gan_train resumes from the last one" \
  bash -c "timeout 300 '$MPIRUN' --oversubscribe -n 2 '$GAN' --steps \$(( $(ckpt_step k0) + 5 )) --batch-size 8 --out k0 --resume > /dev/null 2>&1"

# The full disk is test_full_disk.sh: it needs root, and is skipped (exit 77) without it.
summary
