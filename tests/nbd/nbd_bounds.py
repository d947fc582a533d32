#!/usr/bin/python3
"""Bounds and length errors: requests past the end of the export and larger than the
advertised maximum payload are refused with the error the NBD spec names, and the connection
keeps working afterwards.

usage: nbd_bounds.py URI"""

from nbdtest import check, connect, expect_error, need_args, run
import nbd


def still_usable(h, what):
    h.pwrite(b"\x5a" * 512, 4096)
    check(h.pread(512, 4096) == b"\x5a" * 512, f"connection unusable after {what}")


def main(argv):
    need_args(argv, 1, "URI")
    h = connect(argv[0], strict=False)  # send what libnbd would refuse client-side
    size = h.get_size()
    check(size > 8192, "export too small for this test")

    expect_error("READ past the end", ["EINVAL"], h.pread, 4096, size - 2048)
    still_usable(h, "READ past the end")
    expect_error("READ starting beyond the end", ["EINVAL"], h.pread, 512, size + 4096)
    expect_error("WRITE past the end", ["ENOSPC", "EINVAL"], h.pwrite, b"x" * 4096, size - 100)
    still_usable(h, "WRITE past the end")
    expect_error("TRIM past the end", ["EINVAL"], h.trim, 8192, size - 4096)
    expect_error("WRITE_ZEROES past the end", ["ENOSPC", "EINVAL"], h.zero, 8192, size - 4096)
    expect_error("CACHE past the end", ["EINVAL"], h.cache, 8192, size - 4096)
    expect_error("READ with offset near 2^64", ["EINVAL"], h.pread, 4096, (1 << 64) - 2048)
    still_usable(h, "offset overflow")

    # A write past the end must not have touched the last in-bounds bytes.
    h.pwrite(b"\x11" * 100, size - 100)
    expect_error("WRITE straddling the end", ["ENOSPC", "EINVAL"], h.pwrite, b"\x22" * 200,
                 size - 100)
    check(h.pread(100, size - 100) == b"\x11" * 100, "refused WRITE modified the export")

    expect_error("zero-length READ", ["EINVAL"], h.pread, 0, 0)
    expect_error("unknown command flag on READ", ["EINVAL"], h.pread, 512, 0, flags=1 << 9)
    expect_error("NO_HOLE on WRITE", ["EINVAL"], h.pwrite, b"y" * 512, 0,
                 flags=nbd.CMD_FLAG_NO_HOLE)
    still_usable(h, "bad flags")

    maximum = h.get_block_size(nbd.SIZE_MAXIMUM)
    check(maximum >= 32 << 20, f"maximum block size {maximum} is below 32 MiB")
    # libnbd refuses anything above 64 MiB itself, so oversize requests are only testable
    # when the server's maximum leaves room below that.
    if maximum + 4096 <= 64 << 20 and maximum + 4096 <= size:
        expect_error("READ above the maximum payload", ["EOVERFLOW", "EINVAL"], h.pread,
                     maximum + 4096, 0)
        still_usable(h, "oversized READ")
        expect_error("WRITE above the maximum payload", ["EOVERFLOW", "EINVAL", "ENOSPC"],
                     h.pwrite, b"\x33" * (maximum + 4096), 0)
        still_usable(h, "oversized WRITE (its payload must have been consumed)")
    else:
        print(f"  note: maximum payload {maximum} leaves no room for an oversize request")
    h.shutdown()


if __name__ == "__main__":
    run(main)
