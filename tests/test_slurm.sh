#!/usr/bin/env bash
# The job scripts in jobs/ on a real single-node Slurm (munge, slurmctld, slurmd from
# Debian), started for this test and stopped at its end (only the daemons it started):
# the single job on 2 and 8 tasks, the array job, a sweep from a parameter file collected
# into one table by jobs/collect.py, and the preemptible job that is sent
# its warning signal mid-run, checkpoints, requeues itself, resumes and ends with a
# checkpoint byte-identical to an uninterrupted run. Exit codes of Slurm are not
# trusted: every check reads the outputs.
source "$(dirname "$0")/lib.sh" "$@"
if [ "$(id -u)" -ne 0 ]; then echo "SKIP: the Slurm tests need root to run the daemons"; exit 77; fi
JOBS=$(cd "$HERE/../jobs" && pwd)
started=$(date +%s)

# A private cluster: own state directory and ports, 8 advertised CPUs (so 8 tasks fit).
chmod 755 "$TMP"   # the munge and slurm users must reach the state directory
export SLURM_LOCAL_STATE=$TMP/slurm SLURM_LOCAL_CPUS=8 SLURM_LOCAL_LINK_ETC=0
export SLURM_LOCAL_CTLD_PORT=6917 SLURM_LOCAL_SLURMD_PORT=6918
export SLURM_CONF=$SLURM_LOCAL_STATE/etc/slurm.conf
trap 'bash "$HERE/slurm/local-cluster.sh" stop > /dev/null 2>&1; rm -rf "$TMP"' EXIT
if ! bash "$HERE/slurm/local-cluster.sh" start > cluster.log 2>&1; then
  cat cluster.log >&2
  bad "the local Slurm cluster did not start"
  summary; exit 1
fi
echo "slurm cluster up in $(( $(date +%s) - started )) s"
export GAN_TRAIN=$GAN    # the job scripts run this binary
cd "$TMP"

# The single job, 2 and 8 tasks.
for n in 2 8; do
  timeout 300 sbatch --wait --ntasks=$n --output=single$n.out "$JOBS/train.sbatch" --steps 60 --log-every 20 --out single$n > /dev/null 2>&1
  check "train.sbatch on $n tasks finished ($(tail -2 single$n.out 2>/dev/null))" grep -q "done: step 60 of 60" single$n.out
  check "train.sbatch on $n tasks: one world of $n ranks" grep -q "gan_train 0.1.0: $n ranks" single$n.out
  check "train.sbatch on $n tasks: layout" $PY "$HERE/check_layout.py" single$n --steps 60 --world $n
done

# The array job: two learning rates, each task its own --out.
SWEEP_VALUES="1e-3 5e-4" SWEEP_OUT=sweep timeout 300 sbatch --wait --array=0-1 --output=sweep-%a.out \
  "$JOBS/sweep.sbatch" --steps 40 --log-every 20 > /dev/null 2>&1
for v in 1e-3 5e-4; do
  check "array task --lr $v wrote its run" $PY "$HERE/check_layout.py" sweep/lr_$v --steps 40 --world 2
  check "array task --lr $v trained with it" $PY -c "
import h5py; assert abs(h5py.File('sweep/lr_$v/checkpoint.h5').attrs['lr'] - $v) < 1e-12"
done

# A sweep from a parameter file (one line per task, --array sized by jobs/sweep.sh), then
# jobs/collect.py's table. The common options come first; each line overrides them.
printf '# lr and batch\n--lr 1e-3\n\n--lr 5e-4 --batch-size 32\n' > params.txt
SWEEP_OUT=psweep timeout 300 bash "$JOBS/sweep.sh" --wait --output=psweep-%a.out params.txt \
  --steps 40 --log-every 10 --eval-every 20 --lr 3e-3 > /dev/null 2>&1
for t in 0 1; do
  check "sweep task $t finished ($(tail -1 psweep-$t.out 2>/dev/null))" grep -q "done: step 40 of 40" psweep-$t.out
done
check "task 1 took its line's options" grep -qx "lr = 0.0005" psweep/task_1/config.ini
check "task 1 took its line's batch" grep -qx "batch-size = 32" psweep/task_1/config.ini
mkdir -p psweep/killed   # a run whose trainer vanished without an exit record: failed
echo "running pid 999999999 host $(hostname)" > psweep/killed/status
cp psweep/task_0/config.ini psweep/killed/
$PY "$JOBS/collect.py" psweep > collect.txt 2>&1
cat collect.txt
check "collect.py wrote the CSV, Markdown and PNG" test -s psweep/sweep.csv -a -s psweep/sweep.md -a -s psweep/sweep.png
check "the table's columns: run, the differing options, results" \
  grep -qx "| run | batch-size | lr | step | images | final_fd | final_step | best_fd | best_step | diversity | wall_s | notes | status |" psweep/sweep.md
check "task 0's row (nothing unreadable)" grep -qE "^\| task_0 \| 64 \| 0.001 \| 40 \| 5120 \| [0-9.]+ \| 40 \| [0-9.]+ \| (20|40) \| [0-9.]+ \| [0-9.]+ \|  \| finished \|$" psweep/sweep.md
check "task 1's row" grep -qE "^\| task_1 \| 32 \| 0.0005 \| 40 \| 2560 \| [0-9.]+ \| 40 \| .* \| finished \|$" psweep/sweep.md
check "the killed run is failed" grep -qE "^\| killed \|.*\| failed \|$" psweep/sweep.md

# Preemption: the reference run, then the same run signalled mid-way.
args=(--steps 4000 --batch-size 16 --log-every 250 --checkpoint-every 1000 --sample-every 1000 --out pre)
timeout 300 sbatch --wait --ntasks=2 --output=reference.out "$JOBS/train.sbatch" "${args[@]}" > /dev/null 2>&1
mv pre reference
check "reference run finished" grep -q "done: step 4000 of 4000" reference.out
job=$(sbatch --parsable --ntasks=2 --output=pre.out "$JOBS/preemptible.sbatch" "${args[@]}")
for _ in $(seq 600); do grep -q "^step *1[0-9][0-9][0-9]/" pre.out 2> /dev/null && break; sleep 0.1; done
# What --signal=B:USR1@... does before the time limit: signal the batch shell only.
scancel --batch --signal=USR1 "$job"
state=""
for _ in $(seq 120); do
  state=$(scontrol show job "$job" 2> /dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2)
  [ "$state" = COMPLETED ] || [ "$state" = FAILED ] && break
  sleep 1
done
check "preemptible job completed after its requeue (state $state)" test "$state" = COMPLETED
check "the trainer stopped on the warning signal" grep -q "stopped by a signal at step" pre.out
check "the job requeued itself" grep -q "requeueing job $job" pre.out
check "the rerun resumed from the checkpoint" grep -q "restart 1: --resume in pre" pre.out
check "the resumed run finished" grep -q "done: step 4000 of 4000" pre.out
check "preempted + resumed == uninterrupted: byte-identical checkpoint" cmp reference/checkpoint.h5 pre/checkpoint.h5
check "history of the preempted run" $PY "$HERE/check_layout.py" pre --steps 4000 --world 2
echo "slurm tests took $(( $(date +%s) - started )) s"
summary
