#!/usr/bin/python3
"""Structured replies, base:allocation and extended headers over a raw socket (Debian's libnbd
1.14 and qemu 7.2 predate extended headers, so this client speaks them itself):

  - NBD_OPT_STRUCTURED_REPLY, LIST/SET_META_CONTEXT (base:allocation, the "base:" wildcard,
    unknown namespaces ignored, SET before STRUCTURED_REPLY refused);
  - structured READ of a hole is one OFFSET_HOLE chunk; of written data, OFFSET_DATA; errors are
    ERROR_OFFSET chunks; BLOCK_STATUS reports the written range as data and the rest as holes,
    REQ_ONE gives exactly one extent;
  - NBD_OPT_EXTENDED_HEADERS: 32-byte requests and replies, WRITE with PAYLOAD_LEN, WRITE
    without it refused, a 64-bit effect length (TRIM of more than 4 GiB is refused as beyond the
    end, not truncated), BLOCK_STATUS_EXT, a payload on a command that takes none consumed and
    refused, STRUCTURED_REPLY after extended headers refused, NBD_OPT_EXPORT_NAME after
    extended headers closes the connection.

usage: nbd_extended.py URI"""

import os
import struct

from nbdtest import (CMD_READ, CMD_TRIM, CMD_WRITE, OPT_GO, OPT_STRUCTURED_REPLY, REP_ACK,
                     REP_ERR_INVALID, RawClient, check, export_of, need_args, run)

OPT_EXPORT_NAME = 1
OPT_LIST_META, OPT_SET_META, OPT_EXTENDED_HEADERS = 9, 10, 11
REP_META_CONTEXT = 4
REP_ERR_EXT_HEADER_REQD = (1 << 31) | 10
STRUCTURED_MAGIC, EXTENDED_REPLY_MAGIC = 0x668E33EF, 0x6E8A278C
EXTENDED_REQUEST_MAGIC = 0x21E41C71
CMD_BLOCK_STATUS = 7
FLAG_REQ_ONE, FLAG_PAYLOAD_LEN = 1 << 3, 1 << 5
T_NONE, T_DATA, T_HOLE, T_BS, T_BS_EXT = 0, 1, 2, 5, 6
T_ERROR, T_ERROR_OFFSET = (1 << 15) | 1, (1 << 15) | 2
DONE = 1
EINVAL, ENOSPC = 22, 28


def meta_data(export, queries):
    name = export.encode()
    out = struct.pack(">I", len(name)) + name + struct.pack(">I", len(queries))
    for q in queries:
        out += struct.pack(">I", len(q)) + q.encode()
    return out


def contexts(replies):
    out = []
    for rtype, payload in replies:
        if rtype == REP_META_CONTEXT:
            out.append((struct.unpack(">I", payload[:4])[0], payload[4:].decode()))
    return out


class Client(RawClient):
    extended = False

    def ext_request(self, cmd, offset=0, length=0, flags=0, cookie=1, payload=b""):
        self.sock.sendall(struct.pack(">IHHQQQ", EXTENDED_REQUEST_MAGIC, flags, cmd, cookie,
                                      offset, length) + payload)

    def chunks(self, cookie):
        """Reads structured or extended chunks of one reply up to DONE: [(type, payload)]."""
        out = []
        while True:
            if self.extended:
                magic, flags, rtype, got, offset, length = struct.unpack(
                    ">IHHQQQ", self.recv_exact(32))
                check(magic == EXTENDED_REPLY_MAGIC, f"bad extended reply magic {magic:#x}")
            else:
                magic, flags, rtype, got, length = struct.unpack(">IHHQI", self.recv_exact(20))
                check(magic == STRUCTURED_MAGIC, f"bad structured reply magic {magic:#x}")
            check(got == cookie, f"reply for cookie {got}, expected {cookie}")
            out.append((rtype, self.recv_exact(length) if length else b""))
            if flags & DONE:
                return out


def error_of(chunk):
    rtype, payload = chunk
    check(rtype in (T_ERROR, T_ERROR_OFFSET), f"expected an error chunk, got type {rtype}")
    error, msglen = struct.unpack(">IH", payload[:6])
    return error


def structured_part(uri, export):
    c = Client(uri)
    c.handshake()
    # SET_META_CONTEXT before structured replies is refused.
    r = c.option_replies(OPT_SET_META, meta_data(export, ["base:allocation"]))
    check(r[-1][0] == REP_ERR_INVALID, f"SET_META_CONTEXT before STRUCTURED_REPLY: {r[-1][0]:#x}")
    r = c.option_replies(OPT_STRUCTURED_REPLY)
    check(r[-1][0] == REP_ACK, f"STRUCTURED_REPLY: {r[-1][0]:#x}")
    r = c.option_replies(OPT_LIST_META, meta_data(export, []))
    check(contexts(r) == [(0, "base:allocation")], f"LIST_META_CONTEXT (all): {contexts(r)}")
    r = c.option_replies(OPT_LIST_META, meta_data(export, ["base:", "x-unknown:thing"]))
    check(contexts(r) == [(0, "base:allocation")], f"LIST_META_CONTEXT base: {contexts(r)}")
    r = c.option_replies(OPT_SET_META, meta_data(export, ["x-unknown:thing", "base:allocation"]))
    got = contexts(r)
    check(r[-1][0] == REP_ACK and len(got) == 1 and got[0][1] == "base:allocation" and got[0][0],
          f"SET_META_CONTEXT: {r}")
    context_id = got[0][0]
    size, flags = c.go(export)

    data = os.urandom(65536)
    c.request(CMD_WRITE, 1 << 20, len(data), cookie=1, payload=data)
    error, cookie, _ = c.simple_reply()
    check(error == 0 and cookie == 1, f"WRITE: error {error}")

    c.request(CMD_READ, 8 << 20, 65536, cookie=2)
    ch = c.chunks(2)
    check(len(ch) == 1 and ch[0][0] == T_HOLE, f"READ of a hole: {[t for t, _ in ch]}")
    off, hole = struct.unpack(">QI", ch[0][1])
    check(off == 8 << 20 and hole == 65536, f"hole chunk {off} {hole}")

    c.request(CMD_READ, (1 << 20) - 4096, 65536 + 8192, cookie=3)
    got = bytearray(65536 + 8192)
    for rtype, payload in c.chunks(3):
        off = struct.unpack(">Q", payload[:8])[0] - ((1 << 20) - 4096)
        if rtype == T_DATA:
            got[off:off + len(payload) - 8] = payload[8:]
        elif rtype == T_HOLE:
            check(struct.unpack(">I", payload[8:12])[0] > 0, "empty hole chunk")
        else:
            raise AssertionError(f"unexpected chunk type {rtype}")
    check(bytes(got) == bytes(4096) + data + bytes(4096), "structured READ content differs")

    c.request(CMD_READ, size, 4096, cookie=4)
    ch = c.chunks(4)
    check(error_of(ch[-1]) == EINVAL, "READ past the end: not EINVAL")

    c.request(CMD_BLOCK_STATUS, 0, 4 << 20, cookie=5)
    ch = c.chunks(5)
    check(len(ch) == 1 and ch[0][0] == T_BS, f"BLOCK_STATUS chunks {[t for t, _ in ch]}")
    cid = struct.unpack(">I", ch[0][1][:4])[0]
    check(cid == context_id, f"BLOCK_STATUS context {cid}, expected {context_id}")
    ext = [struct.unpack(">II", ch[0][1][i:i + 8]) for i in range(4, len(ch[0][1]), 8)]
    check(ext[:3] == [(1 << 20, 3), (65536, 0), ((3 << 20) - 65536, 3)],
          f"BLOCK_STATUS extents {ext}")
    c.request(CMD_BLOCK_STATUS, 0, 4 << 20, flags=FLAG_REQ_ONE, cookie=6)
    ch = c.chunks(6)
    check(len(ch[0][1]) == 12, f"REQ_ONE gave {(len(ch[0][1]) - 4) // 8} extents")
    c.request(CMD_BLOCK_STATUS, 0, 0, cookie=7)
    e = c.chunks(7) if True else None
    check(error_of(e[-1]) == EINVAL, "zero-length BLOCK_STATUS not EINVAL")
    c.close()


def extended_part(uri, export):
    c = Client(uri)
    c.handshake()
    r = c.option_replies(OPT_EXTENDED_HEADERS)
    check(r[-1][0] == REP_ACK, f"EXTENDED_HEADERS: {r[-1][0]:#x}")
    r = c.option_replies(OPT_STRUCTURED_REPLY)
    check(r[-1][0] == REP_ERR_EXT_HEADER_REQD, f"STRUCTURED_REPLY after extended: {r[-1][0]:#x}")
    r = c.option_replies(OPT_SET_META, meta_data(export, ["base:allocation"]))
    check(r[-1][0] == REP_ACK, f"SET_META_CONTEXT with extended headers: {r[-1][0]:#x}")
    size, flags = c.go(export)
    c.extended = True

    data = os.urandom(8192)
    c.ext_request(CMD_WRITE, 12 << 20, len(data), flags=FLAG_PAYLOAD_LEN, cookie=11, payload=data)
    ch = c.chunks(11)
    check(ch == [(T_NONE, b"")], f"extended WRITE reply {ch}")
    c.ext_request(CMD_WRITE, 0, 0, cookie=12)  # WRITE without PAYLOAD_LEN: no payload follows
    check(error_of(c.chunks(12)[-1]) == EINVAL, "WRITE without PAYLOAD_LEN not EINVAL")
    c.ext_request(CMD_TRIM, 0, 512, flags=FLAG_PAYLOAD_LEN, cookie=13, payload=b"z" * 512)
    check(error_of(c.chunks(13)[-1]) == EINVAL, "TRIM with a payload not EINVAL")
    c.ext_request(CMD_TRIM, 0, (5 << 30) + size, cookie=14)  # 64-bit effect length
    check(error_of(c.chunks(14)[-1]) in (EINVAL, ENOSPC), "TRIM past the end accepted")
    c.ext_request(CMD_READ, 12 << 20, 8192, cookie=15)
    body = b"".join(p[8:] for t, p in c.chunks(15) if t == T_DATA)
    check(body == data, "extended READ content differs")
    c.ext_request(CMD_BLOCK_STATUS, 0, size, cookie=16)
    ch = c.chunks(16)
    check(len(ch) == 1 and ch[0][0] == T_BS_EXT, f"BLOCK_STATUS_EXT chunks {[t for t, _ in ch]}")
    cid, count = struct.unpack(">II", ch[0][1][:8])
    ext = [struct.unpack(">QQ", ch[0][1][8 + 16 * i:24 + 16 * i]) for i in range(count)]
    check(len(ch[0][1]) == 8 + 16 * count, "BLOCK_STATUS_EXT length does not match its count")
    check((8192, 0) in ext and ext[0][1] == 3, f"BLOCK_STATUS_EXT extents {ext[:4]}")
    check(sum(length for length, _ in ext) <= size, "extents beyond the export")
    c.close()

    c = Client(uri)
    c.handshake()
    c.option_replies(OPT_EXTENDED_HEADERS)
    c.send_option(OPT_EXPORT_NAME, export.encode())
    check(c.closed_by_server(), "EXPORT_NAME after extended headers did not close")
    c.close()


def main(argv):
    need_args(argv, 1, "URI")
    uri = argv[0]
    export = export_of(uri)
    structured_part(uri, export)
    extended_part(uri, export)


if __name__ == "__main__":
    run(main)
