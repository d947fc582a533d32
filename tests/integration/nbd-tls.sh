#!/usr/bin/env bash
# NBD over TLS, with real clients (libnbd's nbdinfo/nbdcopy and qemu-img, both on GnuTLS):
#  - `blockpipe init --tls-psk FILE` creates a 0600 PSK file and a config requiring TLS;
#  - TLS-PSK over the Unix socket and TCP: nbdinfo lists and maps, nbdcopy copies in and out
#    (compared), qemu-img convert reads it back (compared);
#  - a plaintext client is refused by `tls = "require"` and learns no export name; a wrong key
#    fails the handshake; a PSK file readable by others stops the daemon with a clear message;
#  - X.509 (a CA, server and client certificates made here with openssl): nbdinfo and qemu-img
#    over TLS; TLS 1.2 and 1.3 each pinned by a Python ssl client (STARTTLS, GO, READ); with
#    tls_verify_clients a client without a certificate is refused;
#  - tls_allowed_clients: an export limited to one PSK identity refuses another and hides
#    itself from that identity's listing.
source "$(dirname "$0")/../lib/common.sh"
require_cmd nbdinfo nbdcopy qemu-img openssl

psk=$BP_TMP/keys.psk
tls_init() {
  BP_DIR=$BP_TMP/data BP_CONFIG=$BP_TMP/data/blockpipe.toml BP_LOG=$BP_TMP/daemon.log
  BP_SOCK=$BP_DIR/nbd.sock BP_CTL=$BP_DIR/control.sock BP_PORT=$(free_port)
  "$BLOCKPIPE" init --data-dir "$BP_DIR" --port "$BP_PORT" --tls-psk "$psk" >>"$BP_LOG" 2>&1 ||
    fail "blockpipe init --tls-psk failed"
}
tls_init
[[ -f $psk ]] || fail "init --tls-psk did not create $psk"
[[ $(stat -c %a "$psk") == 600 ]] || fail "$psk has mode $(stat -c %a "$psk"), expected 600"
grep -Eq '^blockpipe:[0-9a-f]{64}$' "$psk" || fail "$psk does not hold one identity:hexkey line"
grep -q '^tls = "require"' "$BP_CONFIG" || fail "init --tls-psk did not require TLS"
# The readiness probe of bp_run connects without speaking NBD, which TLS does not change.
bp_run
grep -q "$(cut -d: -f2 "$psk")" "$BP_LOG" && fail "the PSK appears in the daemon log"

unix_psk="nbds+unix://blockpipe@/default?socket=$BP_SOCK&tls-psk-file=$psk"
tcp_psk="nbds://blockpipe@127.0.0.1:$BP_PORT/default?tls-psk-file=$psk"

# Plaintext against `require`: no listing, no export.
out=$(nbdinfo --list "nbd+unix:///?socket=$BP_SOCK" 2>&1) && fail "plaintext listing succeeded: $out"
grep -q default <<<"$out" && fail "a plaintext client learned an export name: $out"
nbdinfo "nbd://127.0.0.1:$BP_PORT/default" >/dev/null 2>&1 && fail "plaintext TCP client was served"
log "plaintext clients refused with nothing listed"

# Wrong key.
bad=$BP_TMP/bad.psk
(umask 077 && printf 'blockpipe:%s\n' "$(openssl rand -hex 32)" >"$bad")
nbdinfo "nbds+unix://blockpipe@/default?socket=$BP_SOCK&tls-psk-file=$bad" >/dev/null 2>&1 &&
  fail "a client with the wrong PSK was served"
log "wrong PSK refused"

for uri in "$unix_psk" "$tcp_psk"; do
  nbdinfo --list "$uri" | grep -q 'export="default"' || fail "nbdinfo --list over TLS: $uri"
  nbdinfo --map "$uri" | grep -q 'hole' || fail "nbdinfo --map over TLS shows no hole: $uri"
done
make_random_file "$BP_TMP/in.img" 64
nbdcopy "$BP_TMP/in.img" "$unix_psk" || fail "nbdcopy into the volume over TLS-PSK (unix) failed"
nbdcopy "$tcp_psk" "$BP_TMP/out.img" || fail "nbdcopy out of the volume over TLS-PSK (tcp) failed"
cmp <(head -c $((64 << 20)) "$BP_TMP/out.img") "$BP_TMP/in.img" || fail "TLS-PSK copy differs"
# qemu: PSK credentials live in a directory as keys.psk.
mkdir -p "$BP_TMP/qpsk"
cp "$psk" "$BP_TMP/qpsk/keys.psk"
for addr in "server.type=unix,server.path=$BP_SOCK" "server.type=inet,server.host=127.0.0.1,server.port=$BP_PORT"; do
  rm -f "$BP_TMP/q.raw"
  timeout 120 qemu-img convert -O raw \
    --object "tls-creds-psk,id=tls0,dir=$BP_TMP/qpsk,username=blockpipe,endpoint=client" \
    --image-opts "driver=nbd,$addr,export=default,tls-creds=tls0" "$BP_TMP/q.raw" ||
    fail "qemu-img convert over TLS-PSK ($addr) failed"
  cmp <(head -c $((64 << 20)) "$BP_TMP/q.raw") "$BP_TMP/in.img" || fail "qemu-img TLS-PSK copy differs ($addr)"
done
log "TLS-PSK: nbdinfo, nbdcopy and qemu-img over unix and tcp"

# A PSK file others can read is refused at startup.
stop_blockpipe
chmod 644 "$psk"
bp_run_must_fail 30
grep -q "chmod 600" "$BP_RUN_OUT" || fail "no clear message for a readable PSK file: $(cat "$BP_RUN_OUT")"
chmod 600 "$psk"
log "a PSK file readable by others is refused"

# Per-export identities: "default" only for identity "blockpipe"; "other" for anyone.
printf 'intruder:%s\n' "$(openssl rand -hex 32)" >>"$psk"
bp_config_sed 's|^tls_psk_file = .*|&\ntls_allowed_clients = ["default:blockpipe"]|'
bp_run
bp_volume create other --size 64MiB >/dev/null || fail "volume create other failed"
list=$(nbdinfo --list "nbds+unix://intruder@/?socket=$BP_SOCK&tls-psk-file=$psk") ||
  fail "listing as intruder failed"
grep -q 'export="other"' <<<"$list" || fail "intruder does not see export other: $list"
grep -q 'export="default"' <<<"$list" && fail "intruder sees export default: $list"
nbdinfo "nbds+unix://intruder@/default?socket=$BP_SOCK&tls-psk-file=$psk" >/dev/null 2>&1 &&
  fail "intruder was served export default"
nbdinfo "$unix_psk" >/dev/null || fail "identity blockpipe refused on export default"
log "tls_allowed_clients admits only the listed identity"
stop_blockpipe

# X.509: CA, server certificate for 127.0.0.1/localhost, client certificate.
pki=$BP_TMP/pki
mkdir -p "$pki"
(
  cd "$pki" || exit 1
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=blockpipe test CA" \
    -keyout ca-key.pem -out ca-cert.pem 2>/dev/null &&
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server-key.pem \
      -out server.csr 2>/dev/null &&
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext &&
    openssl x509 -req -in server.csr -CA ca-cert.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
      -extfile server.ext -out server-cert.pem 2>/dev/null &&
    openssl req -newkey rsa:2048 -nodes -subj "/CN=backup-client" -keyout client-key.pem \
      -out client.csr 2>/dev/null &&
    printf 'extendedKeyUsage=clientAuth\n' >client.ext &&
    openssl x509 -req -in client.csr -CA ca-cert.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
      -extfile client.ext -out client-cert.pem 2>/dev/null &&
    chmod 600 ./*-key.pem
) || fail "making certificates with openssl failed"
# libnbd and qemu read a directory with ca-cert.pem, client-cert.pem, client-key.pem.
mkdir -p "$BP_TMP/xclient" "$BP_TMP/xanon"
cp "$pki/ca-cert.pem" "$pki/client-cert.pem" "$pki/client-key.pem" "$BP_TMP/xclient/"
cp "$pki/ca-cert.pem" "$BP_TMP/xanon/"
bp_config_sed "s|^tls_psk_file = .*|tls_certificate = \"$pki/server-cert.pem\"\ntls_key = \"$pki/server-key.pem\"\ntls_ca = \"$pki/ca-cert.pem\"\ntls_verify_clients = true|"
bp_config_sed 's|^tls_allowed_clients = .*|tls_allowed_clients = ["default:backup-client"]|'
bp_run
for uri in "nbds+unix:///default?socket=$BP_SOCK&tls-certificates=$BP_TMP/xclient" \
  "nbds://127.0.0.1:$BP_PORT/default?tls-certificates=$BP_TMP/xclient"; do
  nbdinfo --map "$uri" | grep -q data || fail "nbdinfo over X.509 failed: $uri"
done
grep -q 'client "CN=backup-client"' "$BP_LOG" || fail "the client certificate subject was not logged"
# libnbd and qemu (GnuTLS) settle on TLS 1.3; Python's ssl pins each version in turn.
for version in 1.2 1.3; do
  for uri in "nbd://127.0.0.1:$BP_PORT/default" "nbd+unix:///default?socket=$BP_SOCK"; do
    /usr/bin/python3 "$SOURCE_DIR/tests/nbd/tls_version_probe.py" "$uri" "$version" \
      "$BP_TMP/xclient" "$BP_TMP/in.img" >>"$BP_TMP/probe.log" 2>&1 ||
      fail "TLS $version over $uri: $(tail -1 "$BP_TMP/probe.log")"
  done
done
nbdinfo "nbds://127.0.0.1:$BP_PORT/default?tls-certificates=$BP_TMP/xanon" >/dev/null 2>&1 &&
  fail "a client without a certificate was served despite tls_verify_clients"
rm -f "$BP_TMP/q.raw"
timeout 120 qemu-img convert -O raw \
  --object "tls-creds-x509,id=tls0,dir=$BP_TMP/xclient,endpoint=client" \
  --image-opts "driver=nbd,server.type=inet,server.host=127.0.0.1,server.port=$BP_PORT,export=default,tls-creds=tls0,tls-hostname=localhost" \
  "$BP_TMP/q.raw" || fail "qemu-img convert over X.509 failed"
cmp <(head -c $((64 << 20)) "$BP_TMP/q.raw") "$BP_TMP/in.img" || fail "qemu-img X.509 copy differs"
log "X.509: nbdinfo and qemu-img with client certificates; anonymous clients refused"
