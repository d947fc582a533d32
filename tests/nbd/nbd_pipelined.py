#!/usr/bin/python3
"""Pipelined requests: hundreds of writes, reads and flushes in flight on one connection,
with unaligned offsets and lengths; every completion is checked and every byte read back is
compared with what was written.

usage: nbd_pipelined.py URI [--expect-reorder]
  --expect-reorder  also require that some replies arrived out of submission order (use it
                    against a server whose completions really do reorder, such as the test
                    harness with --delay-us)."""

import random

import nbd

from nbdtest import check, connect, need_args, run

REQUESTS = 256
STRIDE = 9000  # bytes between request starts; lengths stay below it so regions never overlap


def pattern(i, length):
    return random.Random(i).randbytes(length)


def main(argv):
    need_args(argv, 1, "URI [--expect-reorder]")
    uri = argv[0]
    expect_reorder = "--expect-reorder" in argv[1:]
    h = connect(uri)
    size = h.get_size()
    base = 777  # deliberately unaligned
    check(size >= base + REQUESTS * STRIDE, f"export too small ({size} bytes) for this test")
    lengths = [1 + (i * 2731) % (STRIDE - 1) for i in range(REQUESTS)]

    completed = []
    errors = []

    def on_done(tag):
        def callback(err):
            completed.append(tag)
            if err.value != 0:
                errors.append((tag, err.value))
            return 1  # retire the command
        return callback

    def drain():
        for _ in range(100000):
            if h.aio_in_flight() == 0:
                return
            h.poll(5000)
        raise AssertionError("requests still in flight")

    # All writes in flight at once, with a few FUA writes and flushes mixed in.
    write_bufs = []
    for i in range(REQUESTS):
        buf = nbd.Buffer.from_bytearray(bytearray(pattern(i, lengths[i])))
        write_bufs.append(buf)
        flags = nbd.CMD_FLAG_FUA if i % 17 == 0 else 0
        h.aio_pwrite(buf, base + i * STRIDE, completion=on_done(("w", i)), flags=flags)
        if i % 50 == 49:
            h.aio_flush(completion=on_done(("f", i)))
    drain()
    check(not errors, f"writes failed: {errors[:5]}")
    write_order = [tag[1] for tag in completed if tag[0] == "w"]
    check(sorted(write_order) == list(range(REQUESTS)),
          f"expected {REQUESTS} write completions, got {len(write_order)}")

    # All reads in flight at once; each must return exactly its own region.
    completed.clear()
    read_bufs = []
    for i in range(REQUESTS):
        buf = nbd.Buffer(lengths[i])
        read_bufs.append(buf)
        h.aio_pread(buf, base + i * STRIDE, completion=on_done(("r", i)))
    drain()
    check(not errors, f"reads failed: {errors[:5]}")
    read_order = [tag[1] for tag in completed]
    check(sorted(read_order) == list(range(REQUESTS)),
          f"expected {REQUESTS} read completions, got {len(read_order)}")
    for i in range(REQUESTS):
        got = bytes(read_bufs[i].to_bytearray())
        check(got == pattern(i, lengths[i]),
              f"read {i} at offset {base + i * STRIDE} ({lengths[i]} bytes) returned wrong data")

    reordered = read_order != sorted(read_order) or write_order != sorted(write_order)
    if expect_reorder:
        check(reordered, "every reply arrived in submission order; expected out-of-order "
                         "completion")
    print(f"  {REQUESTS} writes + {REQUESTS} reads pipelined, "
          f"{'out of order' if reordered else 'in order'}")
    h.shutdown()


if __name__ == "__main__":
    run(main)
