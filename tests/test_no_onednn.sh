#!/usr/bin/env bash
# The build without oneDNN (-DGAN_DNNL=OFF, as on a machine without libdnnl-dev): gan_train
# builds, runs in fp32 (auto too), and refuses --precision bf16 with a clear message.
source "$(dirname "$0")/lib.sh" "$@"
src=$(cd "$HERE/.." && pwd)
cmake -S "$src" -B "$TMP/build" -DCMAKE_BUILD_TYPE=Release -DGAN_WERROR=ON -DGAN_DNNL=OFF -DBUILD_TESTING=OFF > "$TMP/configure.log" 2>&1
check "configures without oneDNN" grep -q "oneDNN: not used" "$TMP/configure.log"
cmake --build "$TMP/build" -j "$(nproc)" --target gan_train > "$TMP/build.log" 2>&1
check "builds without oneDNN" test -x "$TMP/build/gan_train"
check "links no oneDNN" bash -c "! ldd '$TMP/build/gan_train' | grep -q dnnl"
GAN=$TMP/build/gan_train
cd "$TMP"
mpi 1 --precision bf16 --dry-run > bf16.log 2>&1
check "--precision bf16 is refused (status 2)" test $? -eq 2
check "... saying why and what to do" grep -q "error: --precision bf16: this gan_train was built without oneDNN (install libdnnl-dev and rebuild); use --precision fp32 or auto" bf16.log
mpi 1 --precision auto --steps 20 --out auto > auto.log 2>&1
check "auto runs in fp32" grep -q "^precision: fp32: .*(--precision auto: built without oneDNN)" auto.log
summary
