#!/usr/bin/python3
"""Export negotiation: NBD_OPT_LIST names every volume (exactly the expected set), NBD_OPT_INFO
describes each with sane block sizes, an unknown export name is refused (NBD_REP_ERR_UNKNOWN
through NBD_OPT_GO, disconnect through NBD_OPT_EXPORT_NAME) and the default name "" reaches
the volume "default".

usage: nbd_exports.py URI --expect NAME[,NAME...]"""

import nbd

import nbdtest

from nbdtest import (OPT_EXPORT_NAME, OPT_LIST, REP_ACK, REP_ERR_UNKNOWN, REP_SERVER, RawClient,
                     check, connect, need_args, run, with_export)
import struct


def main(argv):
    need_args(argv, 3, "URI --expect NAME[,NAME...]")
    uri = argv[0]
    check(argv[1] == "--expect", "second argument must be --expect")
    expected = sorted(n for n in argv[2].split(",") if n)

    h = nbdtest.new_handle()
    h.set_opt_mode(True)
    h.connect_uri(uri)
    names = []
    h.opt_list(lambda name, description: names.append(name))
    check(sorted(names) == expected, f"NBD_OPT_LIST gave {sorted(names)}, expected {expected}")
    for name in names:
        h.set_export_name(name)
        h.opt_info()
        check(h.get_size() > 0, f"export {name}: size 0")
        minimum = h.get_block_size(nbd.SIZE_MINIMUM)
        preferred = h.get_block_size(nbd.SIZE_PREFERRED)
        maximum = h.get_block_size(nbd.SIZE_MAXIMUM)
        check(minimum == 1, f"export {name}: minimum block size {minimum}, expected 1")
        check(preferred >= 512 and preferred & (preferred - 1) == 0,
              f"export {name}: preferred block size {preferred} is not a power of two >= 512")
        check(maximum >= 32 << 20, f"export {name}: maximum block size {maximum} < 32 MiB")
    h.set_export_name("no-such-export-7f3a")
    refused = False
    try:
        h.opt_go()
    except nbd.Error:
        refused = True  # negotiation continues after the refusal
    check(refused, "NBD_OPT_GO to an unknown export succeeded")
    h.set_export_name(names[0])
    h.opt_go()  # the connection survived the refusal
    check(h.get_size() > 0, "GO after a refused GO did not work")
    h.shutdown()

    # Raw: the error type must be NBD_REP_ERR_UNKNOWN, and LIST replies well-formed.
    raw = RawClient(uri)
    raw.handshake()
    name = b"no-such-export-7f3a"
    replies = raw.option_replies(7, struct.pack(">I", len(name)) + name + struct.pack(">H", 0))
    check(replies[-1][0] == REP_ERR_UNKNOWN,
          f"unknown export via NBD_OPT_GO: reply type {replies[-1][0]:#x}, expected "
          "NBD_REP_ERR_UNKNOWN")
    replies = raw.option_replies(OPT_LIST)
    check(replies[-1][0] == REP_ACK, "NBD_OPT_LIST not terminated by ACK")
    listed = []
    for rtype, payload in replies[:-1]:
        check(rtype == REP_SERVER, f"unexpected NBD_OPT_LIST reply type {rtype:#x}")
        (length,) = struct.unpack(">I", payload[:4])
        check(length <= len(payload) - 4, "NBD_REP_SERVER name length exceeds the reply")
        listed.append(payload[4:4 + length].decode())
    check(sorted(listed) == expected, f"raw NBD_OPT_LIST gave {sorted(listed)}")
    # NBD_OPT_EXPORT_NAME cannot report errors: the server must hang up.
    raw.send_option(OPT_EXPORT_NAME, name)
    check(raw.closed_by_server(), "unknown export via NBD_OPT_EXPORT_NAME did not disconnect")
    raw.close()

    failed = False
    try:
        connect(with_export(uri, "no-such-export-7f3a"))
    except nbd.Error:
        failed = True
    check(failed, "connecting to an unknown export succeeded")

    if "default" in expected:
        d = connect(with_export(uri, ""))
        n = connect(with_export(uri, "default"))
        check(d.get_size() == n.get_size(), "export \"\" is not the volume \"default\"")
        d.pwrite(b"default-export-marker", 12345)
        check(n.pread(21, 12345) == b"default-export-marker",
              "export \"\" and \"default\" do not share data")
        d.shutdown()
        n.shutdown()
    print(f"  exports {listed} listed and described; unknown names refused")


if __name__ == "__main__":
    run(main)
