#!/usr/bin/env bash
# Regenerate the seed corpus: small valid IDX inputs (raw and gzip) in fuzz_idx's
# input format, and checkpoints of a tiny model (Z 2, Hg 3, Hd 2, 2x2 images)
# written by gan_train itself on 1 and 2 ranks, at step 3 of 5: between two /metrics rows,
# so that /state/stats holds non-zero loss sums.
#   tests/fuzz/make_seeds.sh build/gan_train
set -euo pipefail
GAN=$(realpath "$1")
cd "$(dirname "$0")"
/usr/bin/python3 - <<'PY'
import gzip, struct
def pack(digit, images, labels):
    return bytes([digit]) + struct.pack(">H", len(images)) + images + labels
imgs = struct.pack(">IIII", 0x803, 3, 2, 2) + bytes(range(12))
labs = struct.pack(">II", 0x801, 3) + bytes([0, 1, 0])
seeds = {
    "raw": pack(0, imgs, labs),
    "gzip": pack(1, gzip.compress(imgs, mtime=0), gzip.compress(labs, mtime=0)),
    "mismatch": pack(0, imgs, struct.pack(">II", 0x801, 2) + bytes([0, 1])),
    "truncated": pack(0, imgs[:-3], labs),
}
for name, data in seeds.items():
    open(f"corpus/idx/{name}", "wb").write(data)
PY
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$tmp" <<'PY'
import gzip, struct, sys
d = sys.argv[1]
with gzip.open(f"{d}/tiny-images-idx3-ubyte.gz", "wb") as f:
    f.write(struct.pack(">IIII", 0x803, 4, 2, 2) + bytes(range(0, 160, 10)))
with gzip.open(f"{d}/tiny-labels-idx1-ubyte.gz", "wb") as f:
    f.write(struct.pack(">II", 0x801, 4) + bytes(4))
PY
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
for n in 1 2; do
  mpirun --oversubscribe -n $n "$GAN" --data "$tmp/tiny-images-idx3-ubyte.gz" --noise-dim 2 --g-hidden 3 \
    --d-hidden 2 --batch-size 2 --steps 5 --n-samples 2 --log-every 2 --checkpoint-every 3 --keep-checkpoints 2 \
    --eval-every 0 --out "$tmp/run$n" > /dev/null
  cp "$tmp/run$n/checkpoint_0000000003.h5" corpus/checkpoint/tiny_world$n.h5
done
echo "seeds written to $(pwd)/corpus"
