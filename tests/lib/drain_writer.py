"""Writer for the sigterm-drain test: four connections keep pipelined 4 KiB writes in flight
(never a FLUSH), each write to a block no other write touches, and once ACK_BEFORE_SIGNAL writes
have been acknowledged the daemon gets SIGTERM while the writes keep coming. The writer stops when
the server closes the connections (or after a time bound) and records which writes were
acknowledged. `verify` then checks, after a restart, that every acknowledged write is present,
and that every other block holds zeros or its own new content (a write cut off by the shutdown
may land or not, but nothing else).

usage: drain_writer.py write URI DAEMON_PID ACKED_FILE
       drain_writer.py verify URI ACKED_FILE
"""
import json
import os
import random
import signal
import sys
import time

import nbd

BLOCK = 4096
BLOCKS = 16384                 # 64 MiB region, each block written at most once
CONNECTIONS = 4
DEPTH = 16                     # writes in flight per connection
ACK_BEFORE_SIGNAL = 3000
TIME_LIMIT = 60


def content(block):
    return random.Random(f"drain:{block}").randbytes(BLOCK)


def write(uri, pid, acked_path):
    order = list(range(BLOCKS))
    random.Random(99).shuffle(order)
    handles = []
    for _ in range(CONNECTIONS):
        h = nbd.NBD()
        h.connect_uri(uri)
        handles.append(h)
    acked, failed = [], []
    in_flight = [0] * CONNECTIONS
    next_block = 0
    signalled = False
    live = set(range(CONNECTIONS))
    deadline = time.monotonic() + TIME_LIMIT

    def completion(conn, block):
        def done(err):
            in_flight[conn] -= 1
            (acked if err.value == 0 else failed).append(block)
            return 1
        return done

    while live and time.monotonic() < deadline:
        for conn in list(live):
            h = handles[conn]
            try:
                while in_flight[conn] < DEPTH and next_block < BLOCKS:
                    block = order[next_block]
                    h.aio_pwrite(content(block), block * BLOCK, completion(conn, block))
                    next_block += 1
                    in_flight[conn] += 1
                h.poll(0 if in_flight[conn] < DEPTH else 100)
            except nbd.Error:
                live.discard(conn)  # the server closed this connection: shutdown under way
                continue
            if h.aio_is_dead() or h.aio_is_closed():
                live.discard(conn)
        if not signalled and len(acked) >= ACK_BEFORE_SIGNAL:
            os.kill(pid, signal.SIGTERM)
            signalled = True
        if next_block >= BLOCKS and all(in_flight[c] == 0 for c in live):
            break
    if not signalled:
        sys.exit(f"only {len(acked)} writes were acknowledged; SIGTERM never sent")
    with open(acked_path, "w") as f:
        json.dump({"acked": acked, "issued": next_block, "failed": failed}, f)
    print(f"issued {next_block} writes: {len(acked)} acknowledged, {len(failed)} failed, "
          f"SIGTERM after {ACK_BEFORE_SIGNAL} acknowledgements")


def verify(uri, acked_path):
    with open(acked_path) as f:
        acked = set(json.load(f)["acked"])
    h = nbd.NBD()
    h.connect_uri(uri)
    lost, garbage, landed = [], [], 0
    chunk = 256
    for first in range(0, BLOCKS, chunk):
        data = h.pread(chunk * BLOCK, first * BLOCK)
        for i in range(chunk):
            block = first + i
            got = data[i * BLOCK:(i + 1) * BLOCK]
            if got == content(block):
                landed += 1
            elif block in acked:
                lost.append(block)
            elif got != bytes(BLOCK):
                garbage.append(block)
    if lost or garbage:
        sys.exit(f"{len(lost)} acknowledged writes lost (e.g. blocks {lost[:8]}), "
                 f"{len(garbage)} blocks hold neither zeros nor their write (e.g. {garbage[:8]})")
    print(f"all {len(acked)} acknowledged writes present ({landed} blocks written in total)")


def main():
    if sys.argv[1] == "write":
        write(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        verify(sys.argv[2], sys.argv[3])


if __name__ == "__main__":
    main()
