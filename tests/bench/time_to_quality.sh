#!/usr/bin/env bash
# Time to quality: gan_train with its defaults on 1, 2, 4 and 8 ranks, 3 seeds each, and the
# same model in PyTorch at batch 64 (tests/bench/torch_reference.py) on the same image
# budget, all scored with the same gan_eval. About 25 minutes on 2 cores.
#   bash tests/bench/time_to_quality.sh [--ranks "1 2 4 8"] [--seeds "1 2 3"] [--torch-seeds LIST] [--no-torch]
#                                       [--precision fp32|bf16|auto]
# Writes build/bench/time_to_quality.md (the table docs/quality.md quotes) and keeps every
# run under build/bench/ttq/; with --precision other than fp32, time_to_quality_P.md and ttq_P/. Rank counts above the machine's cores are marked oversubscribed.
set -euo pipefail
cd "$(dirname "$0")/../.."
ranks="1 2 4 8" seeds="1 2 3" torch=1 torch_seeds= precision=fp32
while [ $# -gt 0 ]; do
  case $1 in
    --ranks) ranks=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --torch-seeds) torch_seeds=$2; shift 2 ;;
    --no-torch) torch=0; shift ;;
    --precision) precision=$2; shift 2 ;;
    *) echo "usage: $0 [--ranks LIST] [--seeds LIST] [--torch-seeds LIST] [--no-torch] [--precision P]" >&2; exit 2 ;;
  esac
done
bash jobs/install_deps.sh --test
if [ "$torch" = 1 ] && ! /usr/bin/python3 -c "import torch" 2> /dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends python3-torch
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build -j "$(nproc)" --target gan_train gan_eval > /dev/null
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OPENBLAS_NUM_THREADS=1
suffix=""; [ "$precision" = fp32 ] || suffix=_$precision
out=build/bench/ttq$suffix
mkdir -p "$out"
# The default budget, from the option table; 20 scores over it at every rank count.
images=$(build/gan_train --help | sed -n 's/^  --images .*\[\([0-9]*\)\]$/\1/p')
[ -n "$images" ] || { echo "cannot read the default --images from --help" >&2; exit 1; }
for n in $ranks; do
  every=$(( images / (64 * n) / 20 ))
  for s in $seeds; do
    run=$out/n${n}_s$s
    rm -rf "$run"
    echo "== $n ranks, seed $s"
    mpirun --oversubscribe -n "$n" build/gan_train --seed "$s" --eval-every "$every" --sample-every 0 \
      --precision "$precision" --out "$run" > "$run.log" 2>&1
    # 1,000 samples for the distances; the share classified as the digit again on 5,000 fresh
    # samples, where its sampling error (about +-0.1 point) is below the 99% criterion's margin.
    for f in best checkpoint; do
      build/gan_eval --checkpoint "$run/$f.h5" -n 1000 > "$run.$f.eval" 2>&1
      build/gan_eval --checkpoint "$run/$f.h5" -n 5000 --seed 11 > "$run.$f.eval5k" 2>&1
    done
  done
done
if [ "$torch" = 1 ]; then
  for s in ${torch_seeds:-$seeds}; do
    run=$out/torch_s$s
    rm -rf "$run"
    echo "== PyTorch, batch 64, seed $s"
    /usr/bin/python3 tests/bench/torch_reference.py --images "$images" --snapshots 20 --seed "$s" --out "$run"
    for f in "$run"/samples_*.h5; do build/gan_eval --samples "$f" > "${f%.h5}.eval" 2>&1; done
  done
fi
/usr/bin/python3 tests/bench/time_to_quality.py "$out" "$images" "$(nproc)" | tee build/bench/time_to_quality$suffix.md
