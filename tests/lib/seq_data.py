"""Write or verify MIB mebibytes of reproducible pseudo-random data from offset 0 of an export,
in 1 MiB requests (write ends with a FLUSH), for the read-side tests: the bytes derive from the
seed and the offset, so `verify` recomputes them and names the first MiB that differs.

usage: seq_data.py write|verify URI MIB [SEED] [QUEUE_DEPTH]
"""
import random
import sys

import nbd

MIB = 1 << 20


def chunk(seed, index):
    return random.Random(f"{seed}:{index}").randbytes(MIB)


def main():
    mode, uri, mib = sys.argv[1], sys.argv[2], int(sys.argv[3])
    seed = sys.argv[4] if len(sys.argv) > 4 else "0"
    depth = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    h = nbd.NBD()
    h.connect_uri(uri)
    if mode == "write":
        for i in range(mib):
            h.pwrite(chunk(seed, i), i * MIB)
        h.flush()
    elif mode == "verify":
        # Up to `depth` reads in flight, issued in order, as a sequential reader with a queue
        # depth does; checked in order.
        pending = []
        next_index = 0
        while next_index < mib or pending:
            while next_index < mib and len(pending) < depth:
                buf = nbd.Buffer(MIB)
                cookie = h.aio_pread(buf, next_index * MIB)
                pending.append((next_index, buf, cookie))
                next_index += 1
            index, buf, cookie = pending[0]
            while not h.aio_command_completed(cookie):
                h.poll(-1)
            pending.pop(0)
            if buf.to_bytearray() != chunk(seed, index):
                sys.exit(f"MiB {index} differs from what was written")
    else:
        sys.exit(f"unknown mode {mode}")
    h.shutdown()


if __name__ == "__main__":
    main()
