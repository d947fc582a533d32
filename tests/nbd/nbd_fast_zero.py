#!/usr/bin/python3
"""FAST_ZERO: advertised; a fast zero either succeeds (and the range reads as zeros) or fails
with ENOTSUP leaving the data as it was; the flag is refused on commands other than
WRITE_ZEROES; NO_HOLE zeroing also reads back as zeros.

usage: nbd_fast_zero.py URI"""

import errno

import nbd

from nbdtest import check, connect, expect_error, need_args, run

OFFSET = 1 << 20
LENGTH = 64 << 10


def main(argv):
    need_args(argv, 1, "URI")
    h = connect(argv[0])
    check(h.can_zero(), "server does not advertise WRITE_ZEROES")
    check(h.can_fast_zero(), "server does not advertise FAST_ZERO")

    data = b"\xc3" * LENGTH
    for flags, what in ((nbd.CMD_FLAG_FAST_ZERO, "FAST_ZERO"),
                        (nbd.CMD_FLAG_FAST_ZERO | nbd.CMD_FLAG_NO_HOLE, "FAST_ZERO|NO_HOLE")):
        h.pwrite(data, OFFSET)
        try:
            h.zero(LENGTH, OFFSET, flags=flags)
            check(h.pread(LENGTH, OFFSET) == bytes(LENGTH), f"{what} succeeded but data remains")
            print(f"  {what}: fast, zeroed")
        except nbd.Error as e:
            check(e.errnum == errno.ENOTSUP,
                  f"{what} failed with errno {e.errnum}, only ENOTSUP is allowed")
            check(h.pread(LENGTH, OFFSET) == data, f"{what} failed with ENOTSUP but changed data")
            print(f"  {what}: refused as not fast (ENOTSUP), data untouched")

    h.pwrite(data, OFFSET)
    h.zero(LENGTH, OFFSET, flags=nbd.CMD_FLAG_NO_HOLE)
    check(h.pread(LENGTH, OFFSET) == bytes(LENGTH), "NO_HOLE zero did not zero")
    h.pwrite(data, OFFSET)
    h.zero(LENGTH // 2 + 1, OFFSET + 3)
    got = h.pread(LENGTH, OFFSET)
    check(got[:3] == data[:3] and got[3:LENGTH // 2 + 4] == bytes(LENGTH // 2 + 1)
          and got[LENGTH // 2 + 4:] == data[LENGTH // 2 + 4:], "unaligned zero is wrong")

    h.pwrite(data, OFFSET)
    raw = connect(argv[0], strict=False)
    expect_error("FAST_ZERO on TRIM", ["EINVAL"], raw.trim, 4096, OFFSET,
                 flags=nbd.CMD_FLAG_FAST_ZERO)
    expect_error("FAST_ZERO on WRITE", ["EINVAL"], raw.pwrite, b"z" * 512, OFFSET,
                 flags=nbd.CMD_FLAG_FAST_ZERO)
    check(raw.pread(512, OFFSET) == data[:512], "refused FAST_ZERO write changed data")
    raw.shutdown()
    h.shutdown()


if __name__ == "__main__":
    run(main)
