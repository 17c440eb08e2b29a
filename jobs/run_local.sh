#!/usr/bin/env bash
# The main job on one machine: install what is missing, build, and train on the
# shipped dataset with 8 ranks. Extra arguments go to gan_train, e.g.
#   jobs/run_local.sh --steps 20000 --out runs/long
# RANKS=4 jobs/run_local.sh runs 4 ranks instead of 8.
set -euo pipefail
cd "$(dirname "$0")/.."
bash jobs/install_deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$(nproc)"

ranks=${RANKS:-8}
mpirun_args=(-n "$ranks")
# More ranks than cores: Open MPI refuses unless told to oversubscribe.
[ "$(nproc)" -lt "$ranks" ] && mpirun_args+=(--oversubscribe)
# Open MPI refuses to run as root unless both variables are set.
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
exec mpirun "${mpirun_args[@]}" build/gan_train "$@"
