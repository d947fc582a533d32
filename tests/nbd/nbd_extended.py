#!/usr/bin/python3
"""Structured replies, base:allocation and extended headers over a raw socket (Debian's libnbd
1.14 and qemu 7.2 predate extended headers, so this client speaks them itself):

  - NBD_OPT_STRUCTURED_REPLY, LIST/SET_META_CONTEXT (base:allocation, the "base:" wildcard,
    unknown namespaces ignored, SET before STRUCTURED_REPLY refused);
  - structured READ of a hole is one OFFSET_HOLE chunk; of written data, OFFSET_DATA; errors are
    ERROR_OFFSET chunks; BLOCK_STATUS reports the written range as data and the rest as holes,
    REQ_ONE gives exactly one extent;
  - NBD_OPT_EXTENDED_HEADERS negotiation: accepted without structured replies (the spec asks
    servers to) and after them; STRUCTURED_REPLY after it refused with EXT_HEADER_REQD (the one
    order the spec refuses); with option data refused with INVALID, leaving the connection in
    compact mode; NBD_OPT_EXPORT_NAME after it closes the connection;
  - with extended headers: 32-byte requests and replies whose offset field echoes the request's,
    WRITE with PAYLOAD_LEN, WRITE without it refused, a payload on a command that takes none
    consumed and refused, READ and BLOCK_STATUS_EXT (16-byte descriptors);
  - clients that do not ask keep compact headers: simple replies without any option, 20-byte
    structured chunks and 32-bit BLOCK_STATUS with structured replies only, also on a connection
    opened right after an extended one; a request in the header style that was not negotiated
    closes the connection;
  - with --expect-large (an export over 4 GiB): 64-bit effect lengths that succeed — TRIM and
    WRITE_ZEROES of more than 4 GiB, BLOCK_STATUS_EXT extents longer than 4 GiB, REQ_ONE
    answered with one such extent — while a compact BLOCK_STATUS of the same area stays within
    32 bits, and 64-bit lengths past the end are refused rather than truncated.

usage: nbd_extended.py URI [--expect-large]"""

import os
import struct

from nbdtest import (CMD_FLUSH, CMD_READ, CMD_TRIM, CMD_WRITE, CMD_WRITE_ZEROES, OPT_STRUCTURED_REPLY,
                     REP_ACK, REP_ERR_INVALID, RawClient, check, export_of, need_args, run)

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
STATE_HOLE_ZERO = 3
EINVAL, ENOSPC, EOVERFLOW = 22, 28, 75
GIB = 1 << 30


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
        self.last_offset = offset
        self.sock.sendall(struct.pack(">IHHQQQ", EXTENDED_REQUEST_MAGIC, flags, cmd, cookie,
                                      offset, length) + payload)

    def chunks(self, cookie):
        """Reads structured or extended chunks of one reply up to DONE: [(type, payload)]. An
        extended chunk must carry the offset of the request it answers (the last ext_request)."""
        out = []
        while True:
            if self.extended:
                magic, flags, rtype, got, offset, length = struct.unpack(
                    ">IHHQQQ", self.recv_exact(32))
                check(magic == EXTENDED_REPLY_MAGIC, f"bad extended reply magic {magic:#x}")
                check(offset == self.last_offset,
                      f"extended reply offset {offset}, request offset {self.last_offset}")
                check(length < 1 << 32, f"extended reply payload of {length} bytes")
            else:
                magic, flags, rtype, got, length = struct.unpack(">IHHQI", self.recv_exact(20))
                check(magic == STRUCTURED_MAGIC, f"bad structured reply magic {magic:#x}")
            check(got == cookie, f"reply for cookie {got}, expected {cookie}")
            out.append((rtype, self.recv_exact(length) if length else b""))
            if flags & DONE:
                return out

    def option_type(self, option, data=b""):
        return self.option_replies(option, data)[-1][0]


def error_of(chunk):
    rtype, payload = chunk
    check(rtype in (T_ERROR, T_ERROR_OFFSET), f"expected an error chunk, got type {rtype}")
    error, msglen = struct.unpack(">IH", payload[:6])
    return error


def compact_extents(chunk):
    """(context id, [(length, status)]) of a 32-bit BLOCK_STATUS chunk."""
    rtype, payload = chunk
    check(rtype == T_BS, f"expected BLOCK_STATUS (5), got type {rtype}")
    check(len(payload) >= 12 and (len(payload) - 4) % 8 == 0, f"BLOCK_STATUS of {len(payload)} B")
    cid = struct.unpack(">I", payload[:4])[0]
    return cid, [struct.unpack(">II", payload[i:i + 8]) for i in range(4, len(payload), 8)]


def ext_extents(chunk):
    """(context id, [(length, status)]) of a BLOCK_STATUS_EXT chunk."""
    rtype, payload = chunk
    check(rtype == T_BS_EXT, f"expected BLOCK_STATUS_EXT (6), got type {rtype}")
    cid, count = struct.unpack(">II", payload[:8])
    check(count > 0 and len(payload) == 8 + 16 * count,
          f"BLOCK_STATUS_EXT of {len(payload)} bytes claims {count} descriptors")
    return cid, [struct.unpack(">QQ", payload[8 + 16 * i:24 + 16 * i]) for i in range(count)]


def structured_part(uri, export):
    c = Client(uri)
    c.handshake()
    # SET_META_CONTEXT before structured replies is refused.
    t = c.option_type(OPT_SET_META, meta_data(export, ["base:allocation"]))
    check(t == REP_ERR_INVALID, f"SET_META_CONTEXT before STRUCTURED_REPLY: {t:#x}")
    t = c.option_type(OPT_STRUCTURED_REPLY)
    check(t == REP_ACK, f"STRUCTURED_REPLY: {t:#x}")
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
    check(len(ch) == 1, f"BLOCK_STATUS chunks {[t for t, _ in ch]}")
    cid, ext = compact_extents(ch[0])
    check(cid == context_id, f"BLOCK_STATUS context {cid}, expected {context_id}")
    check(ext[:3] == [(1 << 20, 3), (65536, 0), ((3 << 20) - 65536, 3)],
          f"BLOCK_STATUS extents {ext}")
    c.request(CMD_BLOCK_STATUS, 0, 4 << 20, flags=FLAG_REQ_ONE, cookie=6)
    ch = c.chunks(6)
    check(len(ch[0][1]) == 12, f"REQ_ONE gave {(len(ch[0][1]) - 4) // 8} extents")
    c.request(CMD_BLOCK_STATUS, 0, 0, cookie=7)
    check(error_of(c.chunks(7)[-1]) == EINVAL, "zero-length BLOCK_STATUS not EINVAL")
    c.close()
    return context_id


def negotiation_part(uri, export):
    # Structured replies first, then extended headers: both accepted, extended wins.
    c = Client(uri)
    c.handshake()
    check(c.option_type(OPT_STRUCTURED_REPLY) == REP_ACK, "STRUCTURED_REPLY refused")
    t = c.option_type(OPT_EXTENDED_HEADERS)
    check(t == REP_ACK, f"EXTENDED_HEADERS after STRUCTURED_REPLY: {t:#x}")
    c.go(export)
    c.extended = True
    c.ext_request(CMD_READ, 200 << 20, 4096, cookie=21)
    ch = c.chunks(21)
    check([t for t, _ in ch] == [T_HOLE], f"extended READ of a hole: {[t for t, _ in ch]}")
    c.close()

    # EXTENDED_HEADERS carrying data is refused and changes nothing: without any other option
    # the transmission phase uses simple replies.
    c = Client(uri)
    c.handshake()
    t = c.option_type(OPT_EXTENDED_HEADERS, b"\0\0\0\0")
    check(t == REP_ERR_INVALID, f"EXTENDED_HEADERS with data: {t:#x}")
    c.go(export)
    c.request(CMD_READ, 0, 4096, cookie=22)
    error, cookie, data = c.simple_reply(4096)
    check(error == 0 and cookie == 22 and len(data) == 4096, "simple READ reply after refusal")
    c.close()

    # NBD_OPT_EXPORT_NAME after extended headers: the spec forbids it; the server hangs up.
    c = Client(uri)
    c.handshake()
    c.option_type(OPT_EXTENDED_HEADERS)
    c.send_option(OPT_EXPORT_NAME, export.encode())
    check(c.closed_by_server(), "EXPORT_NAME after extended headers did not close")
    c.close()


def extended_part(uri, export):
    c = Client(uri)
    c.handshake()
    # No structured replies first: extended headers alone are enough.
    t = c.option_type(OPT_EXTENDED_HEADERS)
    check(t == REP_ACK, f"EXTENDED_HEADERS: {t:#x}")
    t = c.option_type(OPT_STRUCTURED_REPLY)
    check(t == REP_ERR_EXT_HEADER_REQD, f"STRUCTURED_REPLY after extended: {t:#x}")
    r = c.option_replies(OPT_SET_META, meta_data(export, ["base:allocation"]))
    check(r[-1][0] == REP_ACK and len(contexts(r)) == 1,
          f"SET_META_CONTEXT with extended headers: {r}")
    context_id = contexts(r)[0][0]
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
    c.ext_request(CMD_READ, (12 << 20) - 4096, 8192 + 8192, cookie=15)
    got = bytearray(16384)
    for rtype, payload in c.chunks(15):
        off = struct.unpack(">Q", payload[:8])[0] - ((12 << 20) - 4096)
        if rtype == T_DATA:
            got[off:off + len(payload) - 8] = payload[8:]
        else:
            check(rtype == T_HOLE, f"unexpected chunk type {rtype} in an extended READ")
    check(bytes(got) == bytes(4096) + data + bytes(4096), "extended READ content differs")
    c.ext_request(CMD_BLOCK_STATUS, 0, size, cookie=16)
    ch = c.chunks(16)
    check(len(ch) == 1, f"BLOCK_STATUS_EXT chunks {[t for t, _ in ch]}")
    cid, ext = ext_extents(ch[0])
    check(cid == context_id, f"BLOCK_STATUS_EXT context {cid}, expected {context_id}")
    check((8192, 0) in ext and ext[0][1] == STATE_HOLE_ZERO, f"BLOCK_STATUS_EXT extents {ext[:4]}")
    check(sum(length for length, _ in ext) <= size, "extents beyond the export")
    # A compact request on an extended connection is malformed traffic: the server hangs up
    # (once 32 bytes are in: it reads the header size it negotiated before looking).
    c.request(CMD_READ, 0, 4096, cookie=17, payload=bytes(4))
    check(c.closed_by_server(), "a compact request after extended headers did not close")
    c.close()
    return size


def compact_part(uri, export):
    """A client that does not ask for extended headers, right after one that did."""
    c = Client(uri)
    c.handshake()
    c.option_type(OPT_STRUCTURED_REPLY)
    r = c.option_replies(OPT_SET_META, meta_data(export, ["base:allocation"]))
    check(r[-1][0] == REP_ACK, f"SET_META_CONTEXT: {r}")
    size, flags = c.go(export)
    c.request(CMD_WRITE, 20 << 20, 4096, cookie=31, payload=b"c" * 4096)
    error, cookie, _ = c.simple_reply()  # structured replies allow 16-byte simple replies
    check(error == 0 and cookie == 31, f"compact WRITE: error {error}")
    c.request(CMD_BLOCK_STATUS, 20 << 20, 1 << 20, cookie=32)
    ch = c.chunks(32)  # 20-byte structured headers, 8-byte descriptors
    _, ext = compact_extents(ch[0])
    check(ext[0] == (4096, 0), f"compact BLOCK_STATUS after an extended client: {ext}")
    # An extended request without negotiation is malformed traffic: the server hangs up.
    c.sock.sendall(struct.pack(">IHHQQQ", EXTENDED_REQUEST_MAGIC, 0, CMD_READ, 33, 0, 4096))
    check(c.closed_by_server(), "an extended request without negotiation did not close")
    c.close()

    c = Client(uri)
    c.handshake()
    c.go(export)
    c.request(CMD_READ, 20 << 20, 4096, cookie=34)
    error, cookie, data = c.simple_reply(4096)  # checks the 16-byte simple reply's magic
    check(error == 0 and cookie == 34 and data == b"c" * 4096,
          "simple READ reply of a client without options")
    c.close()


def large_part(uri, export, size):
    """64-bit effect lengths that succeed, on an export larger than 4 GiB."""
    check(size > 4 * GIB + (64 << 20), f"--expect-large: the export has only {size} bytes")
    c = Client(uri)
    c.handshake()
    c.option_type(OPT_EXTENDED_HEADERS)
    r = c.option_replies(OPT_SET_META, meta_data(export, ["base:allocation"]))
    check(r[-1][0] == REP_ACK, f"SET_META_CONTEXT: {r}")
    c.go(export)
    c.extended = True
    # Data on both sides of the 4 GiB mark, then one TRIM of more than 4 GiB over both.
    start, end = GIB - (1 << 20), size - (1 << 20)
    for i, offset in enumerate((start, GIB, 5 * GIB, end)):
        c.ext_request(CMD_WRITE, offset, 65536, flags=FLAG_PAYLOAD_LEN, cookie=40 + i,
                      payload=os.urandom(65536))
        check(c.chunks(40 + i) == [(T_NONE, b"")], f"WRITE at {offset}")
    c.ext_request(CMD_BLOCK_STATUS, start, end + 65536 - start, cookie=45)
    _, ext = ext_extents(c.chunks(45)[0])
    check(ext[0] == (65536, 0), f"written data at {start}: {ext[:3]}")
    trim = end - start  # > 4 GiB
    check(trim >= 1 << 32, "the TRIM below must need 64 bits")
    c.ext_request(CMD_TRIM, start, trim, cookie=46)
    check(c.chunks(46) == [(T_NONE, b"")], f"TRIM of {trim} bytes failed")
    # While the TRIM is still buffered the server may describe a prefix per reply (the spec
    # allows it); a client asking again from where each reply ended sees zeros up to `end`.
    pos, replies = start, 0
    while pos < end:
        replies += 1
        check(replies <= 1000, f"BLOCK_STATUS made no headway past {pos}")
        c.ext_request(CMD_BLOCK_STATUS, pos, end + 65536 - pos, cookie=47)
        _, ext = ext_extents(c.chunks(47)[0])
        for length, status in ext:
            if pos >= end:
                check((length, status) == (65536, 0), f"the data after the TRIM: {ext}")
                break
            check(status & 2 and pos + length <= end, f"trimmed range at {pos}: {ext[:3]}")
            pos += length
    c.ext_request(CMD_READ, 5 * GIB, 65536, cookie=48)
    ch = c.chunks(48)
    check([t for t, _ in ch] == [T_HOLE], f"READ after the 64-bit TRIM: {[t for t, _ in ch]}")
    # Once flushed, the map holds the TRIM as one hole longer than 4 GiB.
    c.ext_request(CMD_FLUSH, cookie=49)
    check(c.chunks(49) == [(T_NONE, b"")], "FLUSH failed")
    c.ext_request(CMD_BLOCK_STATUS, start, end + 65536 - start, cookie=50)
    _, ext = ext_extents(c.chunks(50)[0])
    check(ext == [(trim, STATE_HOLE_ZERO), (65536, 0)],
          f"after a TRIM of {trim} bytes and a FLUSH the map is {ext[:4]}, expected one hole")
    # REQ_ONE: a single extent, longer than 4 GiB and no longer than asked.
    c.ext_request(CMD_BLOCK_STATUS, start, trim - 4096, flags=FLAG_REQ_ONE, cookie=51)
    _, ext = ext_extents(c.chunks(51)[0])
    check(ext == [(trim - 4096, STATE_HOLE_ZERO)], f"REQ_ONE over the hole: {ext}")
    # WRITE_ZEROES of more than 4 GiB over the rest (the last 64 KiB of data stays).
    c.ext_request(CMD_WRITE_ZEROES, 0, end, cookie=52)
    check(c.chunks(52) == [(T_NONE, b"")], f"WRITE_ZEROES of {end} bytes failed")
    c.ext_request(CMD_FLUSH, cookie=53)
    check(c.chunks(53) == [(T_NONE, b"")], "FLUSH failed")
    c.ext_request(CMD_BLOCK_STATUS, 0, size, cookie=54)
    _, ext = ext_extents(c.chunks(54)[0])
    check(ext[0][0] == end and ext[0][1] & 2 and ext[1] == (65536, 0),
          f"after WRITE_ZEROES of {end} bytes the map starts {ext[:3]}")
    # 64-bit lengths past the end, or over the payload limit, are refused, never truncated.
    c.ext_request(CMD_WRITE_ZEROES, GIB, size, cookie=55)
    check(error_of(c.chunks(55)[-1]) == ENOSPC, "WRITE_ZEROES past the end not ENOSPC")
    c.ext_request(CMD_BLOCK_STATUS, GIB, (1 << 64) - GIB, cookie=56)
    check(error_of(c.chunks(56)[-1]) == EINVAL, "BLOCK_STATUS past the end not EINVAL")
    c.ext_request(CMD_READ, 0, 5 * GIB, cookie=57)
    check(error_of(c.chunks(57)[-1]) in (EINVAL, EOVERFLOW), "READ of 5 GiB accepted")
    c.close()

    # The same area through compact headers: every descriptor fits in 32 bits.
    c = Client(uri)
    c.handshake()
    c.option_type(OPT_STRUCTURED_REPLY)
    c.option_replies(OPT_SET_META, meta_data(export, ["base:allocation"]))
    c.go(export)
    c.request(CMD_BLOCK_STATUS, 0, 0xFFFFF000, cookie=58)
    _, ext = compact_extents(c.chunks(58)[0])
    check(sum(length for length, _ in ext) <= 0xFFFFF000, f"compact extents beyond request {ext}")
    c.close()


def main(argv):
    need_args(argv, 1, "URI [--expect-large]")
    uri = argv[0]
    export = export_of(uri)
    structured_part(uri, export)
    negotiation_part(uri, export)
    size = extended_part(uri, export)
    compact_part(uri, export)
    if "--expect-large" in argv[1:]:
        large_part(uri, export, size)


if __name__ == "__main__":
    run(main)
