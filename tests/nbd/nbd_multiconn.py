#!/usr/bin/python3
"""Multi-connection consistency: four connections write disjoint regions and flush
concurrently (all of them in flight together); a fifth connection then reads everything back.
With CAN_MULTI_CONN a flush on one connection covers the others' completed writes, so the
fifth sees every byte.

usage: nbd_multiconn.py URI"""

import random

import nbd

from nbdtest import check, connect, need_args, run

CONNECTIONS = 4
WRITES_PER_CONNECTION = 64
WRITE_SIZE = 12288 + 512  # unaligned on purpose


def pattern(conn, i):
    return random.Random(conn * 100000 + i).randbytes(WRITE_SIZE)


def offset_of(conn, i):
    return 333 + (conn * WRITES_PER_CONNECTION + i) * (WRITE_SIZE + 1000)


def main(argv):
    need_args(argv, 1, "URI")
    uri = argv[0]
    handles = [connect(uri) for _ in range(CONNECTIONS)]
    check(handles[0].can_multi_conn(), "server does not advertise CAN_MULTI_CONN")
    check(handles[0].can_flush(), "server does not advertise FLUSH")
    size = handles[0].get_size()
    check(offset_of(CONNECTIONS, 0) < size, "export too small for this test")

    errors = []
    pending_writes = [0] * CONNECTIONS
    flushed = [False] * CONNECTIONS
    keep = []

    def on_write(c):
        def callback(err):
            if err.value:
                errors.append(("write", c, err.value))
            pending_writes[c] -= 1
            return 1
        return callback

    def on_flush(c):
        def callback(err):
            if err.value:
                errors.append(("flush", c, err.value))
            flushed[c] = True
            return 1
        return callback

    for c, h in enumerate(handles):
        for i in range(WRITES_PER_CONNECTION):
            buf = nbd.Buffer.from_bytearray(bytearray(pattern(c, i)))
            keep.append(buf)
            h.aio_pwrite(buf, offset_of(c, i), completion=on_write(c))
            pending_writes[c] += 1

    # Drive all connections together; each flushes as soon as its own writes are acknowledged,
    # while the others still have writes in flight.
    for _ in range(200000):
        if all(flushed):
            break
        for c, h in enumerate(handles):
            if pending_writes[c] == 0 and not flushed[c] and h.aio_in_flight() == 0:
                h.aio_flush(completion=on_flush(c))
            if h.aio_in_flight() > 0:
                h.poll(0)
    check(all(flushed), "flushes did not complete")
    check(not errors, f"requests failed: {errors[:5]}")

    reader = connect(uri)
    for c in range(CONNECTIONS):
        for i in range(WRITES_PER_CONNECTION):
            got = reader.pread(WRITE_SIZE, offset_of(c, i))
            check(got == pattern(c, i),
                  f"fifth connection reads wrong data for connection {c} write {i}")
    for h in handles + [reader]:
        h.shutdown()
    print(f"  {CONNECTIONS}x{WRITES_PER_CONNECTION} writes + flushes verified by a fifth "
          "connection")


if __name__ == "__main__":
    run(main)
