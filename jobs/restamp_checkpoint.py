#!/usr/bin/python3
"""Re-seal a gan_train checkpoint after editing it on purpose (e.g. with h5py).

gan_train's checkpoints start with a 512-byte text header holding the size and
CRC-32 of the HDF5 data after it, and --resume refuses a file whose checksum does
not match: that is how a corrupt or truncated checkpoint is caught before HDF5
parses it. An intentional edit changes the checksum too; this recomputes it.

    /usr/bin/python3 jobs/restamp_checkpoint.py runs/latest/checkpoint.h5 [--format N]
"""
import argparse
import zlib

HEADER = 512
MAGIC = b"gan_train checkpoint\n"

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("path")
p.add_argument("--format", type=int, default=1, help="format version to write (default 1)")
a = p.parse_args()
with open(a.path, "r+b") as f:
    data = f.read()
    if not data.startswith(MAGIC) or data[HEADER:HEADER + 4] != b"\x89HDF":
        raise SystemExit(f"{a.path}: not a gan_train checkpoint (no header before the HDF5 data)")
    body = data[HEADER:]
    text = f"format {a.format}\nhdf5 bytes {len(body)}\ncrc32 {zlib.crc32(body):08x}\n".encode()
    f.seek(0)
    f.write((MAGIC + text).ljust(HEADER, b"\0"))
print(f"{a.path}: header restamped (crc32 {zlib.crc32(body):08x})")
