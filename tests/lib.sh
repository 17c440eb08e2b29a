# lib.sh: shared helpers of the shell tests. Source it; then use expect/pass counts.
# Usage in a test: source lib.sh "$@"  (args: path to gan_train, path to mpirun)
set -u
GAN=$(realpath "${1:?usage: test.sh path/to/gan_train [mpirun]}")
MPIRUN=${2:-mpirun}
PY=/usr/bin/python3
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
TMP=$(mktemp -d /tmp/gan_test.XXXXXX)
# Classifiers trained for a dataset are cached here, not in the home directory of whoever runs the tests.
export GAN_CACHE_DIR=$TMP/cache
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
# check DESCRIPTION COMMAND...: the command must succeed
check() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }
# check_num DESCRIPTION EXPR NAME=VALUE...: every VALUE must parse as a finite number (an empty
# value, "nan", "inf" or text fails: awk would compare those as strings), and then EXPR, a
# Python expression over the NAMEs (and sqrt), must hold.
check_num() {
  local what=$1; shift
  if $PY - "$@" <<'PY'
import math, sys
expr, env = sys.argv[1], {"sqrt": math.sqrt}
for arg in sys.argv[2:]:
    name, _, text = arg.partition("=")
    try:
        env[name] = float(text)
    except ValueError:
        sys.exit(f"{name}={text!r} is not a number")
    if not math.isfinite(env[name]):
        sys.exit(f"{name}={text!r} is not finite")
if not eval(expr, {"__builtins__": {}}, env):
    sys.exit(f"{expr} is false for {', '.join(sys.argv[2:])}")
PY
  then ok; else bad "$what"; fi
}

# mpi N ARGS...: run gan_train on N ranks with a hard time limit (a hang is a failure).
# The quality score is off unless a test asks for it (test_e2e and test_eval do).
mpi() {
  local n=$1; shift
  local eval=(--eval-every 0)
  [[ " $* " == *" --eval-every"* ]] && eval=()
  # A rank that exits non-zero makes mpirun wait odls_base_sigkill_timeout (1 s, twice) before it
  # returns, though every rank has already exited: the bad-input tests would spend most of
  # their time there. The background runs (start_run), which are signalled, keep the default.
  OMPI_MCA_odls_base_sigkill_timeout=0 timeout -k 5 ${TIMEOUT:-120} \
    "$MPIRUN" --oversubscribe -n "$n" "$GAN" "${eval[@]}" "$@"
}

summary() {
  echo "$(basename "$0"): $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

# ---- runs in the background (test_faults, test_safety) --------------------------------------
# start_run N ARGS...: mpirun in the background, output in run.log; sets $job (mpirun's pid:
# every process a test signals is a child of it), with a backstop that kills it after 300 s.
start_run() {
  local n=$1; shift
  "$MPIRUN" --oversubscribe -n "$n" "$GAN" --eval-every 0 "$@" > run.log 2>&1 &
  job=$!
  (sleep 300; kill -9 "$job" 2> /dev/null) > /dev/null 2>&1 &
  backstop=$!
}
# finish_run: wait for mpirun; sets $status.
finish_run() {
  wait "$job"; status=$?
  kill "$backstop" 2> /dev/null; wait "$backstop" 2> /dev/null
}
# wait_for_step S: until the progress shows step >= S (or 120 s pass).
wait_for_step() {
  for _ in $(seq 1200); do
    local s
    s=$(grep -o '^step *[0-9]*' run.log 2>/dev/null | tail -1 | grep -o '[0-9]*$')
    [ -n "$s" ] && [ "$s" -ge "$1" ] && return 0
    sleep 0.1
  done
  return 1
}
# rank_pid R: pid of MPI rank R among this job's processes named gan_train.
rank_pid() {
  for p in $(pgrep -P "$job" -x gan_train); do
    grep -qz "^OMPI_COMM_WORLD_RANK=$1\$" /proc/$p/environ 2>/dev/null && { echo "$p"; return; }
  done
}
ckpt_step() { $PY -c "import h5py; print(h5py.File('$1/checkpoint.h5', 'r').attrs['step'])"; }
