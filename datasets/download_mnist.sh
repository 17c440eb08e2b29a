#!/usr/bin/env bash
# Download the full official MNIST (60,000 training + 10,000 test images) into DIR
# (default: datasets/mnist beside this script), verifying every file against its
# published MD5 checksum. A file whose checksum does not match is deleted and the
# script exits non-zero: a corrupted or tampered download is never left in place.
#
#   datasets/download_mnist.sh [DIR]
#   build/gan_train --data DIR/train-images-idx3-ubyte.gz ...
set -euo pipefail

dir=${1:-"$(cd "$(dirname "$0")" && pwd)/mnist"}
mirrors=(
  "https://ossci-datasets.s3.amazonaws.com/mnist"   # torchvision's mirror
  "https://storage.googleapis.com/cvdf-datasets/mnist"
  "http://yann.lecun.com/exdb/mnist"                # the original, often unavailable
)
# The checksums published with the dataset (and used by torchvision, TFDS, Keras).
declare -A md5=(
  [train-images-idx3-ubyte.gz]=f68b3c2dcbeaaa9fbdd348bbdeb94873
  [train-labels-idx1-ubyte.gz]=d53e105ee54ea40749a09fcbcd1e9432
  [t10k-images-idx3-ubyte.gz]=9fb629c4189551a2d022fa330f9573f3
  [t10k-labels-idx1-ubyte.gz]=ec29112dd5afa0611ce80d1b7f02629c
)

command -v curl >/dev/null || { echo "download_mnist.sh: needs curl (apt-get install -y curl)" >&2; exit 1; }
mkdir -p "$dir"
for file in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz \
            t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
  dest="$dir/$file"
  if [ -f "$dest" ] && [ "$(md5sum < "$dest" | cut -d' ' -f1)" = "${md5[$file]}" ]; then
    echo "$file: already present, checksum OK"
    continue
  fi
  ok=0
  for base in "${mirrors[@]}"; do
    if curl -fsSL --retry 2 --connect-timeout 10 -o "$dest.part" "$base/$file"; then
      got=$(md5sum < "$dest.part" | cut -d' ' -f1)
      if [ "$got" = "${md5[$file]}" ]; then
        mv "$dest.part" "$dest"; ok=1
        echo "$file: downloaded from $base, checksum OK"
        break
      fi
      echo "$file from $base: checksum $got, expected ${md5[$file]}; refusing it" >&2
    fi
    rm -f "$dest.part"
  done
  [ "$ok" = 1 ] || { echo "download_mnist.sh: could not get a verified $file from any mirror" >&2; exit 1; }
done
echo "MNIST is in $dir (5,923 zeros in the training set)."
