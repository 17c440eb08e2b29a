#!/usr/bin/env bash
# Compare two builds of gan_bench fairly on a noisy machine: alternate them N times and
# print each one's median per-rank throughput and step fractions.
#   bash tests/bench/compare_builds.sh [-n N] [--ranks R] [--batch B] OLD/gan_bench NEW/gan_bench
# To measure a change: git worktree add /tmp/before HEAD~1, build it there with
# cmake -DCMAKE_BUILD_TYPE=Release, and pass /tmp/before/build/gan_bench and build/gan_bench.
set -euo pipefail
n=6 ranks=1 batch=64
while [ $# -gt 2 ]; do
  case $1 in
    -n) n=$2 ;;
    --ranks) ranks=$2 ;;
    --batch) batch=$2 ;;
    *) echo "compare_builds.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
[ $# -eq 2 ] || { echo "usage: compare_builds.sh [-n N] [--ranks R] [--batch B] OLD_BENCH NEW_BENCH" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for _ in $(seq "$n"); do
  for bench in "$1" "$2"; do
    mpirun --oversubscribe --bind-to core -n "$ranks" "$bench" --batch "$batch" --repeats 3 \
      | grep "mode=train" | sed "s|^RESULT |RESULT bench=$bench |" >> "$out"
  done
done
/usr/bin/python3 - "$out" <<'PY'
import statistics as st, sys
runs = {}
for line in open(sys.argv[1]):
    kv = dict(f.split("=", 1) for f in line.split()[1:])
    runs.setdefault(kv["bench"], []).append(kv)
for bench, rs in runs.items():
    rate = [float(r["img_per_s_per_rank"]) for r in rs]
    med = {k: st.median(float(r[k]) for r in rs) for k in rs[0] if k.endswith(("_frac", "_us"))}
    parts = ", ".join(f"{k[:-5]} {med[k]:.1%}" for k in ("forward_frac", "backward_frac", "allreduce_frac", "adam_frac"))
    print(f"{bench}: {len(rs)} runs, median {st.median(rate):,.0f} img/s per rank "
          f"(min {min(rate):,.0f}, max {max(rate):,.0f}); step {med['step_us']:.0f} us: {parts}")
PY
