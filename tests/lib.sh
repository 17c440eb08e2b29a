# lib.sh: shared helpers of the shell tests. Source it; then use expect/pass counts.
# Usage in a test: source lib.sh "$@"  (args: path to gan_train, path to mpirun)
set -u
GAN=$(realpath "${1:?usage: test.sh path/to/gan_train [mpirun]}")
MPIRUN=${2:-mpirun}
PY=/usr/bin/python3
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
TMP=$(mktemp -d /tmp/gan_test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
# check DESCRIPTION COMMAND...: the command must succeed
check() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }

# mpi N ARGS...: run gan_train on N ranks with a hard time limit (a hang is a failure).
# The quality score is off unless a test asks for it (test_e2e and test_eval do).
mpi() {
  local n=$1; shift
  local eval=(--eval-every 0)
  [[ " $* " == *" --eval-every"* ]] && eval=()
  timeout -k 5 ${TIMEOUT:-120} "$MPIRUN" --oversubscribe -n "$n" "$GAN" "${eval[@]}" "$@"
}

summary() {
  echo "$(basename "$0"): $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
