"""Apply the same deterministic random mix of writes, zeroes and trims to an NBD export and to a
local reference image, so `qemu-img compare` can then prove the export holds exactly the
reference bytes. Offsets and lengths are mostly unaligned, some ops cover whole 64 KiB units,
a few land at the end of the device, and later ops overwrite earlier ones. A trim is applied to
the reference as zeroes: blockpipe reads trimmed ranges as zeros (documented behaviour, stricter
than the NBD spec requires).

usage: random_writes.py URI REFERENCE_IMAGE SEED OPS
The reference image must already exist with the export's size.
"""
import os
import random
import sys

import nbd


def main():
    uri, ref_path, seed, ops = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    rng = random.Random(seed)
    h = nbd.NBD()
    h.connect_uri(uri)
    size = h.get_size()
    if os.path.getsize(ref_path) != size:
        sys.exit(f"reference {ref_path} is {os.path.getsize(ref_path)} bytes, export is {size}")
    # Most traffic in the first 64 MiB so ops overlap often; some anywhere, some at the very end.
    hot = min(size, 64 << 20)
    counts = {"write": 0, "zero": 0, "trim": 0}
    with open(ref_path, "r+b") as ref:
        for _ in range(ops):
            where = rng.random()
            length = rng.choice([1, 7, 512, 4096, 4097, 65536, rng.randint(1, 300000)])
            if where < 0.9:
                offset = rng.randrange(0, hot - length)
            elif where < 0.97:
                offset = rng.randrange(0, size - length)
            else:
                offset = size - length
            if rng.random() < 0.3:
                offset &= ~4095  # aligned ops exercise the whole-block paths
            kind = rng.choices(["write", "zero", "trim"], weights=[80, 12, 8])[0]
            if kind == "write":
                data = rng.randbytes(length)
                h.pwrite(data, offset)
            elif kind == "zero":
                h.zero(length, offset)
                data = bytes(length)
            else:
                h.trim(length, offset)
                data = bytes(length)
            ref.seek(offset)
            ref.write(data)
            counts[kind] += 1
    h.flush()
    h.shutdown()
    print(f"applied {ops} ops (seed {seed}): {counts}")


if __name__ == "__main__":
    main()
