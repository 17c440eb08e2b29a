#!/usr/bin/env bash
# Submit a sweep from a parameter file: one line of gan_train options per array task.
#
#   jobs/sweep.sh [--sbatch-option=VALUE ...] PARAMS [gan_train options for every task]
#   e.g. jobs/sweep.sh --ntasks=4 sweeps/lr.txt --steps 20000 --eval-every 1000
#
# PARAMS: blank lines and lines starting with # are skipped; the other N lines become array
# tasks 0..N-1 (sbatch --array=0-(N-1) jobs/sweep.sbatch), task i running
#   gan_train --out SWEEP_OUT/task_i [options given here] [line i]
# so a line's options override the common ones. Options are split at blanks (no quoting).
# sbatch options go first and must be written --name=value. SWEEP_OUT (default runs/sweep)
# is the parent of the run directories; jobs/collect.py SWEEP_OUT compares them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
sbatch_args=()
while [ $# -gt 0 ] && [[ $1 == -* ]]; do sbatch_args+=("$1"); shift; done
params=${1:?usage: jobs/sweep.sh [--sbatch-option=VALUE ...] PARAMS [gan_train options]}
shift
[ -r "$params" ] || { echo "sweep.sh: cannot read $params" >&2; exit 2; }
n=$(grep -cvE '^[[:space:]]*(#|$)' "$params" || true)
[ "$n" -gt 0 ] || { echo "sweep.sh: $params has no option lines" >&2; exit 2; }
export SWEEP_PARAMS SWEEP_OUT=${SWEEP_OUT:-runs/sweep}
SWEEP_PARAMS=$(realpath "$params")
echo "sweep.sh: $n tasks from $params into $SWEEP_OUT/task_*" >&2
exec sbatch --array=0-$((n - 1)) "${sbatch_args[@]}" "$here/sweep.sbatch" "$@"
