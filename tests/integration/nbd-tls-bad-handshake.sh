#!/usr/bin/env bash
# Clients that misbehave around STARTTLS cost the daemon nothing lasting and block nobody:
#  - stalled clients (silent after STARTTLS's ACK, stopped inside a ClientHello record, stopped
#    mid-option before TLS, silent from the start) on the Unix socket and TCP, all on the one
#    event-loop thread (threads = 1): while they hang, nbdinfo and nbdcopy over TLS-PSK are
#    served at once; each stalled client is then dropped by handshake_timeout (3 s here), not
#    before and not much after;
#  - 40 clients sending garbage after STARTTLS are dropped promptly; 40 that disconnect in the
#    middle of a ClientHello leave nothing behind;
#  - afterwards the daemon holds as many descriptors as before, logs each timeout, and still
#    serves.
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe
require_cmd nbdinfo nbdcopy openssl

timeout_s=3
psk=$BP_TMP/keys.psk
(umask 077 && printf 'blockpipe:%s\n' "$(openssl rand -hex 32)" >"$psk") || fail "cannot write $psk"
bp_init
bp_config_sed "s|^listen = .*|&\ntls = \"require\"\ntls_psk_file = \"$psk\"\nthreads = 1\nhandshake_timeout = $timeout_s|"
bp_run

unix_psk="nbds+unix://blockpipe@/default?socket=$BP_SOCK&tls-psk-file=$psk"
tcp_psk="nbds://blockpipe@127.0.0.1:$BP_PORT/default?tls-psk-file=$psk"
make_random_file "$BP_TMP/in.img" 8
nbdcopy "$BP_TMP/in.img" "$unix_psk" || fail "nbdcopy over TLS-PSK failed before the test"
fds_before=$(ls "/proc/$BP_PID/fd" | wc -l)

"$PY" - "$SOURCE_DIR/tests/nbd" "$(bp_uri_unix)" "$(bp_uri_tcp)" "$tcp_psk" "$BP_TMP/in.img" \
  "$timeout_s" <<'PYEOF' || fail "misbehaving TLS clients were not handled (see above)"
import os, select, socket, subprocess, sys, tempfile, time
sys.path.insert(0, sys.argv[1])
from nbdtest import RawClient
unix_uri, tcp_uri, tls_uri, reference = sys.argv[2:6]
timeout = float(sys.argv[6])
OPT_STARTTLS, REP_ACK = 5, 1
CLIENT_HELLO_START = b"\x16\x03\x01\x02\x00"  # handshake record header announcing 512 bytes

def fail(message):
    sys.exit(f"FAIL: {message}")

def starttls(uri):
    c = RawClient(uri)
    c.handshake()
    replies = c.option_replies(OPT_STARTTLS)
    if replies[-1][0] != REP_ACK:
        fail(f"STARTTLS refused on {uri}: {replies[-1][0]:#x}")
    return c.sock

def still_open(sock):
    """True while the server has neither closed sock nor sent anything on it."""
    readable, _, _ = select.select([sock], [], [], 0)
    return not readable

def closed_within(sock, seconds):
    """True if the server closes sock (EOF or reset) within `seconds`."""
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
        return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False

stalled = []  # (what, socket, connected at)
for uri in (unix_uri, tcp_uri):
    where = "unix" if uri.startswith("nbd+unix") else "tcp"
    t = time.monotonic()
    stalled.append((f"silent after STARTTLS ({where})", starttls(uri), t))
    s = starttls(uri)
    s.sendall(CLIENT_HELLO_START + os.urandom(100))
    stalled.append((f"inside a ClientHello ({where})", s, t))
    c = RawClient(uri)
    c.handshake()
    c.sock.sendall(b"IHAVEOPT\0\0\0")  # half an option header, before any TLS
    stalled.append((f"mid-option before TLS ({where})", c.sock, t))
    c = RawClient(uri)
    c.recv_exact(18)  # the greeting; then never a word
    stalled.append((f"silent from the start ({where})", c.sock, t))

# Meanwhile, on the same event loop, real TLS clients are served at once.
start = time.monotonic()
for argv in (["nbdinfo", "--list", tls_uri], ["nbdcopy", tls_uri, "out.img"]):
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run(argv, cwd=tmp, capture_output=True, timeout=60)
        if r.returncode != 0:
            fail(f"{argv[0]} over TLS failed while clients stalled: {r.stderr.decode()[-500:]}")
        if argv[0] == "nbdcopy":
            with open(os.path.join(tmp, "out.img"), "rb") as f, open(reference, "rb") as g:
                want = g.read()
                if f.read(len(want)) != want:
                    fail("nbdcopy over TLS read back different data")
served = time.monotonic() - start
if served >= timeout - 0.5:
    fail(f"TLS clients took {served:.1f}s while others stalled: they waited for the timeout")
for what, s, _ in stalled:
    if not still_open(s):
        fail(f"{what}: closed before handshake_timeout")
print(f"TLS clients served in {served:.2f}s while {len(stalled)} clients stalled", flush=True)

# Garbage after STARTTLS: dropped at once, never waiting for the timeout.
for i in range(40):
    s = starttls(tcp_uri if i % 2 else unix_uri)
    s.sendall(os.urandom(4096) if i % 4 < 2 else b"IHAVEOPT\0\0\0\x07\0\0\0\0")
    t = time.monotonic()
    if not closed_within(s, timeout):
        fail(f"garbage after STARTTLS (client {i}) not dropped within {timeout}s")
    if time.monotonic() - t > 1.0:
        fail(f"garbage after STARTTLS (client {i}) dropped only after {time.monotonic() - t:.1f}s")
    s.close()
# Disconnects in the middle of a ClientHello.
for i in range(40):
    s = starttls(tcp_uri if i % 2 else unix_uri)
    s.sendall(CLIENT_HELLO_START + os.urandom(200))
    s.close()
print("80 garbage and mid-handshake disconnects handled", flush=True)

# Each stalled client is dropped by the handshake timeout, counted from its connect.
for what, s, t in stalled:
    if not closed_within(s, max(0.1, t + timeout + 5 - time.monotonic())):
        fail(f"{what}: still open {time.monotonic() - t:.1f}s after connecting")
    took = time.monotonic() - t
    if took < timeout - 0.5:
        fail(f"{what}: dropped after {took:.1f}s, before the {timeout}s handshake timeout")
    s.close()
print(f"{len(stalled)} stalled clients dropped by the handshake timeout", flush=True)
PYEOF

# Nothing left behind: the daemon's descriptors return to what they were.
fds_back() { (($(ls "/proc/$BP_PID/fd" | wc -l) <= fds_before)); }
wait_until 10 "the daemon's descriptors to return to $fds_before" fds_back ||
  fail "the daemon holds $(ls "/proc/$BP_PID/fd" | wc -l) descriptors, $fds_before before the test"
timeouts=$(grep -c "negotiation timed out" "$BP_LOG" || true)
((timeouts >= 8)) || fail "expected 8 handshake timeouts in the log, found $timeouts"
grep -q "TLS handshake failed" "$BP_LOG" || fail "no failed TLS handshake was logged"
nbdinfo "$tcp_psk" >/dev/null || fail "the daemon no longer serves TLS clients"
kill -0 "$BP_PID" || fail "the daemon died"
log "stalled, garbage and disconnecting TLS clients: no blocking, no leak"
stop_blockpipe
