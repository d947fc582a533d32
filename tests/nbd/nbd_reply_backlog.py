#!/usr/bin/python3
"""Large reads queued behind a client that does not read: the server stops parsing while more
than its reply backlog (1 MiB of READ payload) waits for the socket, and must resume as the
client drains the replies. A raw client sends 64 READs of 256 KiB and then a WRITE in one go,
reads nothing for a while, then takes every reply: each READ returns exactly its own region,
the WRITE (parsed only after the backlog drained) is answered and applied, and a READ after it
sees the new bytes.

usage: nbd_reply_backlog.py URI"""

import random
import struct
import time

from nbdtest import CMD_READ, CMD_WRITE, REQUEST_MAGIC, RawClient, check, connect, export_of, \
    need_args, run

READS = 64
LENGTH = 256 << 10
REGION = READS * LENGTH  # 16 MiB, far beyond the backlog and any socket buffer


def main(argv):
    need_args(argv, 1, "URI")
    uri = argv[0]
    data = random.Random(7).randbytes(REGION)
    h = connect(uri)
    check(h.get_size() >= REGION + LENGTH, "export too small for this test")
    for at in range(0, REGION, 4 << 20):
        h.pwrite(data[at:at + (4 << 20)], at)
    h.flush()
    h.shutdown()

    raw = RawClient(uri)
    raw.handshake()
    raw.go(export_of(uri))
    order = list(range(READS))
    random.Random(8).shuffle(order)
    requests = b"".join(
        struct.pack(">IHHQQI", REQUEST_MAGIC, 0, CMD_READ, 1000 + i, i * LENGTH, LENGTH)
        for i in order)
    fresh = random.Random(9).randbytes(4096)
    requests += struct.pack(">IHHQQI", REQUEST_MAGIC, 0, CMD_WRITE, 2000, REGION, 4096) + fresh
    raw.sock.sendall(requests)
    time.sleep(0.5)  # the server fills the socket and its backlog, then stops parsing

    answered = set()
    for _ in range(READS + 1):
        error, cookie, _ = raw.simple_reply()
        check(error == 0, f"request {cookie} failed with error {error}")
        if cookie == 2000:
            answered.add(cookie)
            continue
        i = cookie - 1000
        check(0 <= i < READS and cookie not in answered, f"unexpected reply cookie {cookie}")
        got = raw.recv_exact(LENGTH)
        check(got == data[i * LENGTH:(i + 1) * LENGTH],
              f"READ of region {i} returned the wrong bytes")
        answered.add(cookie)
    check(2000 in answered, "the WRITE behind the reads was not answered")

    raw.request(CMD_READ, REGION, 4096, cookie=3000)
    error, cookie, got = raw.simple_reply(4096)
    check(error == 0 and cookie == 3000 and got == fresh,
          "the WRITE parsed after the backlog drained was not applied")
    raw.close()
    print(f"  {READS} reads of {LENGTH >> 10} KiB and a WRITE queued behind an idle client")


if __name__ == "__main__":
    run(main)
