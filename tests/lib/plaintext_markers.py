#!/usr/bin/env python3
"""Marker data and the plaintext scan of the tests that check no plaintext is stored.

  plaintext_markers.py make FILE SEED   write 1 MiB: 256 blocks of 4 KiB, each starting with an
                                        ASCII marker, the rest random bytes (seeded)
  plaintext_markers.py count DIR FILE   print how many files under DIR hold the marker or one
                                        of several 16-byte slices of FILE; list them on stderr
"""
import os
import random
import sys

MARKER = b"BLOCKPIPE-PLAINTEXT-MARKER"


def make(path, seed):
    rng = random.Random(seed)
    with open(path, "wb") as f:
        for block in range(256):
            marker = MARKER + b"-%06d|" % block
            f.write(marker + rng.randbytes(4096 - len(marker)))


def count(root_dir, path):
    data = open(path, "rb").read()
    probes = [MARKER]
    for block, at in ((0, 100), (3, 1000), (77, 2048), (200, 3000), (255, 4080)):
        start = block * 4096 + at
        probes.append(data[start:start + 16])
    hits = 0
    for root, _, files in os.walk(root_dir):
        for name in files:
            file = os.path.join(root, name)
            content = open(file, "rb").read()
            found = [i for i, p in enumerate(probes) if p in content]
            if found:
                hits += 1
                print(f"{file} ({len(content)} bytes) holds probes {found}", file=sys.stderr)
    print(hits)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 4 and sys.argv[1] == "count":
        count(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
