#!/usr/bin/python3
"""Malformed and unusual traffic, sent over raw sockets: it closes (or is refused on) only the
offending connection, while another connection keeps working throughout.

  - a request with a bad magic, a truncated request, bad client flags, a bad option magic and
    an absurd option length each close that connection;
  - unknown options get NBD_REP_ERR_UNSUP and negotiation continues; options with bad lengths
    get NBD_REP_ERR_INVALID;
  - unknown commands and BLOCK_STATUS (never negotiated) get EINVAL; a WRITE with an unknown
    flag gets EINVAL and its payload is consumed, so the next request parses correctly;
  - requests pipelined behind NBD_CMD_DISC in one packet are answered before the close.

usage: nbd_malformed.py URI"""

import struct

from nbdtest import (CMD_DISC, CMD_READ, CMD_WRITE, OPT_GO, OPT_LIST, OPT_STRUCTURED_REPLY,
                     REP_ACK, REP_ERR_INVALID, REP_ERR_UNSUP, RawClient, check, connect,
                     export_of, need_args, run)

EINVAL = 22


def healthy(h, what):
    h.pwrite(what.encode()[:64].ljust(64, b"."), 8192)
    check(h.pread(64, 8192) == what.encode()[:64].ljust(64, b"."),
          f"the other connection stopped working after: {what}")


def transmission(uri):
    raw = RawClient(uri)
    raw.handshake()
    raw.go(export_of(uri))
    return raw


def main(argv):
    need_args(argv, 1, "URI")
    uri = argv[0]
    other = connect(uri)
    healthy(other, "start")

    # -- transmission-phase garbage -----------------------------------------------------
    raw = transmission(uri)
    raw.sock.sendall(b"\xde\xad\xbe\xef" + bytes(24))
    check(raw.closed_by_server(), "bad request magic did not close the connection")
    raw.close()
    healthy(other, "bad request magic")

    raw = transmission(uri)
    raw.sock.sendall(struct.pack(">IHH", 0x25609513, 0, CMD_READ))  # 8 of 28 header bytes
    raw.sock.shutdown(1)  # then EOF: the server must notice, not wait forever
    check(raw.closed_by_server(), "truncated request did not end the connection")
    raw.close()
    healthy(other, "truncated request")

    raw = transmission(uri)
    raw.request(99, 0, 512, cookie=0x1111)
    error, cookie, _ = raw.simple_reply()
    check(cookie == 0x1111 and error == EINVAL, f"unknown command: error {error}, want EINVAL")
    raw.request(7, 0, 512, cookie=0x2222)  # BLOCK_STATUS without negotiation
    error, cookie, _ = raw.simple_reply()
    check(cookie == 0x2222 and error == EINVAL, f"BLOCK_STATUS: error {error}, want EINVAL")
    raw.request(CMD_WRITE, 0, 4096, flags=1 << 12, cookie=0x3333, payload=b"\x77" * 4096)
    error, cookie, _ = raw.simple_reply()
    check(cookie == 0x3333 and error == EINVAL, f"WRITE with unknown flag: error {error}")
    raw.request(CMD_READ, 0, 4096, cookie=0x4444)
    error, cookie, data = raw.simple_reply(4096)
    check(cookie == 0x4444 and error == 0 and len(data) == 4096,
          "READ after a refused WRITE failed: its payload was not consumed correctly")
    check(data != b"\x77" * 4096, "a refused WRITE changed the export")
    # Pipelined behind DISC in a single packet: both answered, then the server closes.
    raw.sock.sendall(
        struct.pack(">IHHQQI", 0x25609513, 0, CMD_WRITE, 0x5555, 65536, 512) + b"\x42" * 512 +
        struct.pack(">IHHQQI", 0x25609513, 0, CMD_READ, 0x6666, 65536, 512) +
        struct.pack(">IHHQQI", 0x25609513, 0, CMD_DISC, 0x7777, 0, 0))
    replies = {}
    for _ in range(2):
        magic_error_cookie = raw.recv_exact(16)
        _, error, cookie = struct.unpack(">IIQ", magic_error_cookie)
        replies[cookie] = error
        if cookie == 0x6666 and error == 0:
            check(raw.recv_exact(512) == b"\x42" * 512, "READ before DISC returned wrong data")
    check(replies == {0x5555: 0, 0x6666: 0}, f"requests before DISC: {replies}")
    check(raw.closed_by_server(), "server did not close after NBD_CMD_DISC")
    raw.close()
    healthy(other, "DISC")

    # -- negotiation-phase garbage ------------------------------------------------------
    raw = RawClient(uri)
    raw.handshake()
    replies = raw.option_replies(0x4242)
    check(replies[-1][0] == REP_ERR_UNSUP, f"unknown option: reply {replies[-1][0]:#x}")
    # With data it is invalid and not enabled: the raw requests below expect simple replies.
    replies = raw.option_replies(OPT_STRUCTURED_REPLY, b"x")
    check(replies[-1][0] == REP_ERR_INVALID, f"NBD_OPT_STRUCTURED_REPLY with data: {replies[-1][0]:#x}")
    replies = raw.option_replies(OPT_LIST, b"junk")
    check(replies[-1][0] == REP_ERR_INVALID, f"NBD_OPT_LIST with data: {replies[-1][0]:#x}")
    replies = raw.option_replies(OPT_GO, struct.pack(">I", 1000) + b"abc")
    check(replies[-1][0] == REP_ERR_INVALID, f"GO with a bad name length: {replies[-1][0]:#x}")
    name = export_of(uri).encode()
    replies = raw.option_replies(OPT_GO, struct.pack(">I", len(name)) + name +
                                 struct.pack(">H", 5) + b"\x00\x01")
    check(replies[-1][0] == REP_ERR_INVALID, f"GO with a bad info count: {replies[-1][0]:#x}")
    replies = raw.option_replies(0x4243, b"\x00" * 20000)  # large, skipped, refused
    check(replies[-1][0] == REP_ERR_UNSUP, f"large unknown option: {replies[-1][0]:#x}")
    size, flags = raw.go(export_of(uri))  # negotiation still alive after all that
    check(size > 0 and flags & 1, "GO after refused options failed")
    raw.request(CMD_READ, 0, 512, cookie=9)
    error, cookie, _ = raw.simple_reply(512)
    check(error == 0 and cookie == 9, "READ after negotiation errors failed")
    raw.close()

    raw = RawClient(uri)
    raw.handshake(client_flags=0x80)  # a flag the server never offered
    check(raw.closed_by_server(), "unknown client flags did not close the connection")
    raw.close()

    raw = RawClient(uri)
    raw.handshake()
    raw.sock.sendall(struct.pack(">QII", 0x1122334455667788, OPT_LIST, 0))
    check(raw.closed_by_server(), "bad option magic did not close the connection")
    raw.close()

    raw = RawClient(uri)
    raw.handshake()
    raw.sock.sendall(struct.pack(">QII", 0x49484156454F5054, 0x4244, 0xFFFFFFF0))
    check(raw.closed_by_server(), "an option claiming 4 GiB of data did not close the connection")
    raw.close()

    healthy(other, "negotiation garbage")
    other.shutdown()


if __name__ == "__main__":
    run(main)
