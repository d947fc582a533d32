#!/usr/bin/env bash
# TLS per listener: one [[frontend]] section whose `listen` entries carry their own tls= modes.
#  - `tls = "require"` for the section, the Unix socket opting out with "tls=off" and a second
#    TCP port with "tls=on": nbdinfo and nbdcopy work in plaintext over the Unix socket, where
#    STARTTLS is refused; a plaintext client of the required-TLS port is refused and learns no
#    export name (raw NBD_OPT_LIST gets only NBD_REP_ERR_TLS_REQD); nbdinfo and nbdcopy with a
#    tls-psk-file URI work on that port and read back what the plaintext client wrote; the
#    "tls=on" port serves both kinds of client.
#  - The other way round (no section `tls`, only the TCP entry says tls=require) behaves alike.
#  - A bad tls= value stops startup with the file, the line of `listen` and the entry.
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe
require_cmd nbdinfo nbdcopy openssl

psk=$BP_TMP/keys.psk
(umask 077 && printf 'blockpipe:%s\n' "$(openssl rand -hex 32)" >"$psk") ||
  fail "cannot write $psk"

# raw_check URI OPTION EXPECTED_TYPE: a raw client sends one option before any TLS and requires
# exactly one reply, of the expected type (so nothing else, no export name, came back).
raw_check() {
  "$PY" - "$SOURCE_DIR/tests/nbd" "$@" <<'PYEOF'
import sys
sys.path.insert(0, sys.argv[1])
from nbdtest import RawClient
uri, option, expected = sys.argv[2], int(sys.argv[3]), int(sys.argv[4], 0)
c = RawClient(uri)
c.handshake()
replies = c.option_replies(option)
types = [hex(t) for t, _ in replies]
if len(replies) != 1 or replies[0][0] != expected:
    sys.exit(f"option {option} on {uri}: replies {types}, expected only {expected:#x}")
PYEOF
}
OPT_LIST=3 OPT_STARTTLS=5 REP_ERR_POLICY=0x80000002 REP_ERR_TLS_REQD=0x80000005

# check_listeners REQUIRE_PORT [ON_PORT]: the Unix socket is plaintext, REQUIRE_PORT needs TLS,
# ON_PORT (if given) takes either.
check_listeners() {
  local port=$1 on_port=${2:-}
  local unix_plain tcp_plain tcp_psk out
  unix_plain=$(bp_uri_unix)
  tcp_plain="nbd://127.0.0.1:$port/default"
  tcp_psk="nbds://blockpipe@127.0.0.1:$port/default?tls-psk-file=$psk"

  # Plaintext over the Unix socket: listing, info, a copy in.
  nbdinfo --list "$unix_plain" | grep -q 'export="default"' ||
    fail "plaintext nbdinfo --list over the Unix socket failed"
  make_random_file "$BP_TMP/in.img" 16 "$port"
  nbdcopy "$BP_TMP/in.img" "$unix_plain" || fail "plaintext nbdcopy into the Unix socket failed"
  # STARTTLS is refused there: the listener is "off".
  raw_check "$unix_plain" $OPT_STARTTLS $REP_ERR_POLICY || fail "STARTTLS not refused on the plaintext Unix socket"
  nbdinfo "nbds+unix://blockpipe@/default?socket=$BP_SOCK&tls-psk-file=$psk" >/dev/null 2>&1 &&
    fail "a TLS client was served on the plaintext Unix socket"

  # Plaintext over TCP: refused, nothing listed.
  out=$(nbdinfo --list "nbd://127.0.0.1:$port/" 2>&1) && fail "plaintext TCP listing succeeded: $out"
  grep -q default <<<"$out" && fail "a plaintext TCP client learned an export name: $out"
  nbdinfo "$tcp_plain" >/dev/null 2>&1 && fail "a plaintext TCP client was served"
  raw_check "$tcp_plain" $OPT_LIST $REP_ERR_TLS_REQD || fail "plaintext NBD_OPT_LIST on TCP was not refused alone"

  # TLS-PSK over TCP: listing, and the copy back compares equal.
  nbdinfo --list "$tcp_psk" | grep -q 'export="default"' || fail "nbdinfo --list over TLS-PSK (tcp) failed"
  rm -f "$BP_TMP/out.img"
  nbdcopy "$tcp_psk" "$BP_TMP/out.img" || fail "nbdcopy out over TLS-PSK (tcp) failed"
  cmp <(head -c $((16 << 20)) "$BP_TMP/out.img") "$BP_TMP/in.img" ||
    fail "what came back over TLS differs from what went in over the Unix socket"

  if [[ -n $on_port ]]; then
    nbdinfo --list "nbd://127.0.0.1:$on_port/" | grep -q 'export="default"' ||
      fail "plaintext client refused on the tls=on port"
    nbdinfo "nbds://blockpipe@127.0.0.1:$on_port/default?tls-psk-file=$psk" >/dev/null ||
      fail "TLS client refused on the tls=on port"
  fi
}

# 1. The section requires TLS; the Unix socket opts out, a second port makes it optional.
bp_init
on_port=$(free_port)
bp_config_sed "s|^listen = .*|listen = [\"127.0.0.1:$BP_PORT\", \"unix:$BP_SOCK tls=off\", \"127.0.0.1:$on_port tls=on\"]\ntls = \"require\"\ntls_psk_file = \"$psk\"|"
bp_run
grep -q "listening on 127.0.0.1:$BP_PORT (TLS required)" "$BP_LOG" || fail "the log does not say which port requires TLS"
grep -q "listening on 127.0.0.1:$on_port (TLS optional)" "$BP_LOG" || fail "the log does not say which port offers TLS"
grep -Eq "listening on unix:$BP_SOCK\$" "$BP_LOG" || fail "the Unix socket is not logged as plaintext"
check_listeners "$BP_PORT" "$on_port"
grep -q "TLS established" "$BP_LOG" || fail "no TLS connection was logged"
log "section tls = \"require\" with a plaintext Unix socket and an optional-TLS port"
stop_blockpipe

# 2. No section `tls`: only the TCP entry requires TLS.
bp_config_sed '/^tls = "require"$/d'
bp_config_sed "s|^listen = .*|listen = [\"127.0.0.1:$BP_PORT tls=require\", \"unix:$BP_SOCK\"]|"
bp_run
check_listeners "$BP_PORT"
log "tls=require on the TCP entry alone"
stop_blockpipe

# 3. A bad mode stops startup at the line of `listen`, naming the entry.
bp_config_sed "s|tls=require|tls=maybe|"
line=$(grep -n '^listen = ' "$BP_CONFIG" | cut -d: -f1)
bp_run_must_fail 30
grep -q "blockpipe.toml:$line: \[frontend\[0\]\] key \`listen\`" "$BP_RUN_OUT" ||
  fail "the refusal does not point at line $line, key listen: $(tail -n 2 "$BP_RUN_OUT")"
grep -q "tls=maybe: must be \"off\", \"on\" or \"require\"" "$BP_RUN_OUT" ||
  fail "the refusal does not explain the tls= value: $(tail -n 2 "$BP_RUN_OUT")"
log "a bad tls= value is refused at the line of listen"
