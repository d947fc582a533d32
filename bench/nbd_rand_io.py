#!/usr/bin/python3
"""Random 4 KiB I/O at a fixed queue depth through libnbd's asynchronous API, for NBD URIs that
fio's nbd engine cannot open (Debian's libnbd 1.14 gives fio no TLS). Prints IOPS as JSON.

usage: nbd_rand_io.py URI read|write SECONDS [QUEUE_DEPTH] [PSK_FILE IDENTITY]"""

import json
import random
import sys
import time

import nbd


def main():
    uri, mode, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    depth = int(sys.argv[4]) if len(sys.argv) > 4 else 32
    h = nbd.NBD()
    h.set_uri_allow_local_file(True)
    h.connect_uri(uri)
    size = h.get_size()
    blocks = size // 4096
    rng = random.Random(1)
    buf = nbd.Buffer(4096)
    payload = bytes(rng.getrandbits(8) for _ in range(4096))
    done = 0
    end = time.monotonic() + seconds

    def completed(*_):
        nonlocal done
        done += 1
        return 1

    def submit():
        off = rng.randrange(blocks) * 4096
        if mode == "read":
            h.aio_pread(buf, off, completion=completed)
        else:
            h.aio_pwrite(payload, off, completion=completed)

    start = time.monotonic()
    for _ in range(depth):
        submit()
    while time.monotonic() < end:
        before = done
        h.poll(-1)
        for _ in range(done - before):
            submit()
    while h.aio_in_flight() > 0:
        h.poll(-1)
    elapsed = time.monotonic() - start
    print(json.dumps({"iops": done / elapsed, "ops": done, "seconds": elapsed}))
    h.shutdown()


main()
