#!/usr/bin/env bash
# The benchmark, in one command from a clean clone (about 3 minutes on 2 cores):
#   bash tests/bench/run_bench.sh
# Installs what is missing (python3-torch for the PyTorch reference), builds Release, runs
# gan_bench and torch_reference.py under three kernel settings, and writes the table to
# tests/bench/RESULTS.md (which the README quotes). Raw RESULT lines go to build/bench/results.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash jobs/install_deps.sh --test
if ! /usr/bin/python3 -c "import torch" 2> /dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends python3-torch
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build -j "$(nproc)" --target gan_bench > /dev/null
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p build/bench
log=build/bench/results.log   # a run artefact: under the build directory, not in git
: > "$log"
bench=build/gan_bench
mpirun_args=(--oversubscribe --bind-to core)

# Kernel settings: "generic" forces OpenBLAS's SSE3 kernels on both (what Debian's 0.3.21
# falls back to on CPUs it does not know), "skylakex" forces AVX-512 on both, "as-run" sets
# nothing (gan_train then picks fast kernels itself; PyTorch takes what OpenBLAS detects).
for setting in generic skylakex as-run; do
  case $setting in
    generic) env=(OPENBLAS_CORETYPE=Prescott) ;;
    skylakex) env=(OPENBLAS_CORETYPE=SkylakeX) ;;
    as-run) env=() ;;
  esac
  echo "== $setting" >&2
  env "${env[@]}" $bench --sgemm | sed "s/^RESULT /RESULT setting=$setting /" >> "$log"
  for n in 1 2; do
    for b in 1 64 256; do
      # 2 ranks at batch 64 is the scaling target: 3 launches (this VM varies between launches).
      launches=1; [ $n -eq 2 ] && [ $b -eq 64 ] && launches=3
      for launch in $(seq $launches); do
        env "${env[@]}" mpirun "${mpirun_args[@]}" -n $n $bench --batch $b \
          | sed "s/^RESULT /RESULT setting=$setting launch=$launch /" >> "$log"
      done
    done
  done
  for b in 1 64 256; do
    env "${env[@]}" OMP_NUM_THREADS=1 /usr/bin/python3 tests/bench/torch_reference.py --batch $b \
      | sed "s/^RESULT /RESULT setting=$setting /" >> "$log"
  done
done
# bf16 (--precision bf16; docs/performance.md, "bf16"): the step with bf16 products beside fp32,
# both as run, alternated, at batch 1, 64, 256 and 512 on 1 and 2 ranks; and the bf16 product
# rate of this CPU (its bf16 compute limit) beside sgemm's. Skipped without oneDNN.
if $bench --sgemm --precision bf16 --size 256 --repeats 1 2>&1 | grep -q "oneDNN"; then
  echo "== bf16 against fp32" >&2
  for p in fp32 bf16; do
    $bench --sgemm --precision $p | sed "s/^RESULT /RESULT setting=bf16 /" >> "$log"
  done
  for n in 1 2; do
    for b in 1 64 256 512; do
      for p in fp32 bf16; do
        mpirun "${mpirun_args[@]}" -n $n $bench --batch $b --precision $p \
          | sed "s/^RESULT /RESULT setting=bf16 /" >> "$log"
      done
    done
  done
fi
mpirun "${mpirun_args[@]}" -n 2 $bench --allreduce | sed "s/^RESULT /RESULT setting=as-run /" >> "$log"
# Where 2 ranks lose time: waiting for the slower rank (a barrier before each allreduce)
# vs the allreduce itself; and two independent 1-rank runs at once, one per core, which
# shows whether the cores slow each other down without any communication. Before each, a
# plain 1 MiB allreduce: this VM's cross-core bandwidth varies over minutes (README).
echo "== 2 ranks with --probe-wait; 2 independent single-rank runs at once" >&2
for launch in 1 2 3; do
  mpirun "${mpirun_args[@]}" -n 2 $bench --allreduce | grep " bytes=1048576 " \
    | sed "s/^RESULT /RESULT setting=probe launch=$launch /" >> "$log"
  mpirun "${mpirun_args[@]}" -n 2 $bench --batch 64 --probe-wait \
    | sed "s/^RESULT /RESULT setting=as-run launch=$launch /" >> "$log"
  if [ "$(nproc)" -ge 2 ] && command -v taskset > /dev/null; then
    for cpu in 0 1; do
      taskset -c $cpu $bench --batch 64 | sed "s/^RESULT /RESULT setting=as-run concurrent=$cpu launch=$launch /" >> "$log.$cpu" &
    done
    wait
    cat "$log.0" "$log.1" >> "$log"; rm -f "$log.0" "$log.1"
  fi
done
# Emulated nodes (network namespaces, root only) with links capped at 1 Gbit/s.
if [ "$(id -u)" -eq 0 ] && command -v ip > /dev/null; then
  echo "== 2 and 4 emulated nodes, 1 Gbit/s links" >&2
  bash tests/netns/measure_rate_limited.sh build 1gbit >> "$log" || echo "rate-limited runs failed" >&2
fi
# The sections after the generated ones (scale_out.sh's, added by hand) are kept.
kept=$(sed -n '/^## Scale-out: emulated nodes/,$p' tests/bench/RESULTS.md 2> /dev/null)
/usr/bin/python3 tests/bench/summarise.py "$log" > tests/bench/RESULTS.md
[ -n "$kept" ] && printf '\n%s\n' "$kept" >> tests/bench/RESULTS.md
cat tests/bench/RESULTS.md
