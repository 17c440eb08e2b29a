#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this):
# install what is missing, build with warnings as errors and run every test,
# then build again with AddressSanitizer + UndefinedBehaviorSanitizer and
# run every test again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash jobs/install_deps.sh --test
jobs=$(nproc)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

echo "== Release build, -Wall -Wextra -Werror"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DGAN_WERROR=ON
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure

echo "== ASan + UBSan build"
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGAN_WERROR=ON -DGAN_SANITIZE=ON
cmake --build build-sanitize -j "$jobs"
# Sanitizer options and the suppressions of Open MPI's own leaks: tests/CMakeLists.txt.
# The "daemons" tests (a Slurm cluster, network namespaces, the install, retraining the
# classifier) check orchestration, not memory: Release only.
# Fewer kill -9 trials than the Release run (12): the same code paths, at ASan speed.
KILL_TRIALS=6 ctest --test-dir build-sanitize --output-on-failure --label-exclude daemons
echo "== libFuzzer: replay the corpus, then fuzz each reader briefly"
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGAN_FUZZ=ON
cmake --build build-fuzz -j "$jobs"
ctest --test-dir build-fuzz --output-on-failure --verbose | grep -E "replaying|stat::number_of_executed|Passed|Failed"
echo "== all tests passed (Release, ASan+UBSan, fuzz)"
