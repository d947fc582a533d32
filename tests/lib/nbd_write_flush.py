#!/usr/bin/python3
"""Write a byte pattern, flush, and say precisely how that went: the outage and fencing tests need
to tell an I/O error the server returned (EIO, what a failing object store must turn into) from
a refused connection, a timeout or a silent success, which qemu-io's exit status does not.

    nbd_write_flush.py URI OFFSET LENGTH BYTE      write LENGTH bytes of BYTE at OFFSET, then FLUSH
    nbd_write_flush.py --check URI OFFSET LENGTH BYTE [BYTE...]
                                                   every 4 KiB block of the range is wholly one of
                                                   the BYTEs (old or new content, never torn)

Exit status: 0 success; 5 the server answered EIO (the message and the time it took are printed);
1 anything else (another errno, a connection failure, a mismatch).
"""

import errno
import sys
import time

import nbd

BLOCK = 4096


def connect(uri):
    h = nbd.NBD()
    h.connect_uri(uri)
    return h


def write_flush(uri, offset, length, byte):
    h = connect(uri)
    start = time.monotonic()
    try:
        h.pwrite(bytes([byte]) * length, offset)
        h.flush()
    except nbd.Error as e:
        took = time.monotonic() - start
        print(f"write+flush at {offset}: {e.string} after {took:.1f}s")
        # libnbd's Error carries the number as errnum (errno is its symbolic name).
        return 5 if e.errnum == errno.EIO else 1
    print(f"write+flush at {offset}: ok after {time.monotonic() - start:.1f}s")
    h.shutdown()
    return 0


def check(uri, offset, length, allowed):
    h = connect(uri)
    data = h.pread(length, offset)
    for at in range(0, length, BLOCK):
        block = data[at:at + BLOCK]
        if not any(block == bytes([b]) * len(block) for b in allowed):
            print(f"block at {offset + at} is none of {[hex(b) for b in allowed]}: "
                  f"starts {block[:16].hex()}")
            return 1
    h.shutdown()
    return 0


def main(argv):
    try:
        if argv[1:2] == ["--check"]:
            uri, offset, length = argv[2], int(argv[3], 0), int(argv[4], 0)
            return check(uri, offset, length, [int(b, 0) for b in argv[5:]])
        uri, offset, length, byte = argv[1], int(argv[2], 0), int(argv[3], 0), int(argv[4], 0)
        return write_flush(uri, offset, length, byte)
    except (IndexError, ValueError):
        print(__doc__, file=sys.stderr)
        return 1
    except nbd.Error as e:
        print(e.string)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
