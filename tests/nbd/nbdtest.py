"""Shared helpers for the NBD protocol tests (run with Debian's /usr/bin/python3, which has the
libnbd binding). Each test script takes NBD URIs on its command line, works against any
blockpipe NBD server (the real daemon or tests/harness/nbd_host_harness) and exits non-zero
with a message naming the failed check.

Besides libnbd handles this module has a tiny raw-socket client, for traffic libnbd refuses to
send even in non-strict mode (bad magic, unknown commands, odd option lengths)."""

import errno
import os
import socket
import struct
import sys
import urllib.parse

import nbd

NBD_MAGIC = 0x4E42444D41474943
OPT_MAGIC = 0x49484156454F5054
OPT_REPLY_MAGIC = 0x0003E889045565A9
REQUEST_MAGIC = 0x25609513
SIMPLE_REPLY_MAGIC = 0x67446698

OPT_EXPORT_NAME, OPT_ABORT, OPT_LIST, OPT_INFO, OPT_GO = 1, 2, 3, 6, 7
OPT_STRUCTURED_REPLY = 8
REP_ACK, REP_SERVER, REP_INFO = 1, 2, 3
REP_ERR_UNSUP = (1 << 31) | 1
REP_ERR_INVALID = (1 << 31) | 3
REP_ERR_UNKNOWN = (1 << 31) | 6
INFO_EXPORT, INFO_NAME, INFO_DESCRIPTION, INFO_BLOCK_SIZE = 0, 1, 2, 3
CMD_READ, CMD_WRITE, CMD_DISC, CMD_FLUSH, CMD_TRIM = 0, 1, 2, 3, 4
CMD_WRITE_ZEROES = 6

TIMEOUT = 20.0  # seconds for any single socket wait


class TestFailure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise TestFailure(message)


def run(main):
    """Runs main(argv) and turns failures into a clear message and exit status 1."""
    name = sys.argv[0].rsplit("/", 1)[-1]
    try:
        main(sys.argv[1:])
    except TestFailure as e:
        print(f"FAIL {name}: {e}", file=sys.stderr)
        sys.exit(1)
    except nbd.Error as e:
        print(f"FAIL {name}: unexpected NBD error: {e}", file=sys.stderr)
        sys.exit(1)
    except (OSError, ValueError) as e:
        print(f"FAIL {name}: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    print(f"PASS {name}")


def need_args(argv, count, usage):
    if len(argv) < count:
        print(f"usage: {sys.argv[0]} {usage}", file=sys.stderr)
        sys.exit(2)


# BP_NBD_STRUCTURED=0 makes every libnbd handle refuse structured replies, so the same tests
# exercise simple replies (nbd-protocol.sh runs each script both ways).
STRUCTURED = os.environ.get("BP_NBD_STRUCTURED", "1") != "0"


def new_handle():
    h = nbd.NBD()
    if not STRUCTURED:
        h.set_request_structured_replies(False)
    return h


def connect(uri, strict=True):
    h = new_handle()
    if not strict:
        h.set_strict_mode(0)
    h.connect_uri(uri)
    check(h.get_structured_replies_negotiated() == STRUCTURED,
          f"structured replies negotiated: {h.get_structured_replies_negotiated()}, "
          f"expected {STRUCTURED}")
    return h


def expect_error(what, expected_errnos, fn, *args, **kwargs):
    """Calls fn and requires it to fail with one of expected_errnos (errno names or numbers)."""
    expected = {getattr(errno, e) if isinstance(e, str) else e for e in expected_errnos}
    try:
        fn(*args, **kwargs)
    except nbd.Error as e:
        check(e.errnum in expected,
              f"{what}: expected errno {sorted(errno.errorcode.get(x, x) for x in expected)}, "
              f"got {errno.errorcode.get(e.errnum, e.errnum)} ({e.string})")
        return e.errnum
    raise TestFailure(f"{what}: succeeded, expected an error")


def with_export(uri, export):
    """The same server URI with another export name."""
    parts = urllib.parse.urlsplit(uri)
    query = "?" + parts.query if parts.query else ""
    return f"{parts.scheme}://{parts.netloc}/{urllib.parse.quote(export)}{query}"


# ---- raw client --------------------------------------------------------------------------

def raw_socket(uri):
    """A connected socket to the server named by an nbd:// or nbd+unix:// URI."""
    parts = urllib.parse.urlsplit(uri)
    if parts.scheme == "nbd+unix":
        path = urllib.parse.parse_qs(parts.query).get("socket", [None])[0]
        check(path, f"URI {uri} has no socket= parameter")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(TIMEOUT)
        s.connect(path)
        return s
    if parts.scheme == "nbd":
        s = socket.create_connection((parts.hostname, parts.port or 10809), timeout=TIMEOUT)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s
    raise TestFailure(f"unsupported URI scheme in {uri}")


def export_of(uri):
    return urllib.parse.unquote(urllib.parse.urlsplit(uri).path.lstrip("/"))


class RawClient:
    def __init__(self, uri):
        self.sock = raw_socket(uri)

    def recv_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise TestFailure(f"server closed the connection ({len(data)} of {n} bytes read)")
            data += chunk
        return data

    def closed_by_server(self):
        """True if the server closes the connection (EOF or reset) within TIMEOUT."""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def handshake(self, client_flags=3):
        magic, opt_magic, flags = struct.unpack(">QQH", self.recv_exact(18))
        check(magic == NBD_MAGIC and opt_magic == OPT_MAGIC,
              f"bad greeting magic {magic:#x} {opt_magic:#x} (oldstyle or not NBD?)")
        check(flags & 1, "server does not offer fixed newstyle")
        self.sock.sendall(struct.pack(">I", client_flags))
        return flags

    def send_option(self, option, data=b""):
        self.sock.sendall(struct.pack(">QII", OPT_MAGIC, option, len(data)) + data)

    def read_option_reply(self, option):
        magic, opt, rtype, length = struct.unpack(">QIII", self.recv_exact(20))
        check(magic == OPT_REPLY_MAGIC, f"bad option reply magic {magic:#x}")
        check(opt == option, f"option reply for {opt}, expected {option}")
        return rtype, self.recv_exact(length) if length else b""

    def option_replies(self, option, data=b""):
        """Sends an option and collects replies up to the final (ACK or error)."""
        self.send_option(option, data)
        replies = []
        while True:
            rtype, payload = self.read_option_reply(option)
            replies.append((rtype, payload))
            if rtype == REP_ACK or rtype & (1 << 31):
                return replies

    def go(self, export):
        name = export.encode()
        replies = self.option_replies(OPT_GO, struct.pack(">I", len(name)) + name +
                                      struct.pack(">H", 0))
        check(replies[-1][0] == REP_ACK, f"NBD_OPT_GO {export!r} refused: {replies[-1]}")
        for rtype, payload in replies:
            if rtype == REP_INFO and struct.unpack(">H", payload[:2])[0] == INFO_EXPORT:
                return struct.unpack(">QH", payload[2:12])
        raise TestFailure("NBD_OPT_GO reply lacks NBD_INFO_EXPORT")

    def request(self, cmd, offset=0, length=0, flags=0, cookie=1, payload=b""):
        self.sock.sendall(struct.pack(">IHHQQI", REQUEST_MAGIC, flags, cmd, cookie, offset,
                                      length) + payload)

    def simple_reply(self, read_length=0):
        magic, error, cookie = struct.unpack(">IIQ", self.recv_exact(16))
        check(magic == SIMPLE_REPLY_MAGIC, f"bad reply magic {magic:#x}")
        data = self.recv_exact(read_length) if (read_length and error == 0) else b""
        return error, cookie, data

    def close(self):
        self.sock.close()
