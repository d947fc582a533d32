#!/usr/bin/env bash
# Fencing rests on put-if-absent (`If-None-Match: *`) and on put-if-match (`If-Match: ETag`, for
# the ownership record), and some S3-compatible stores accept the headers and silently ignore
# them, so the S3 backend probes the store at startup instead of trusting it. Both outcomes
# against real stores (RGW honours both; s3rver ignores both):
#   - Ceph RGW honours it (checked first with our own client: a second conditional PUT gets 412):
#     the probe says so, the volume is writable, no warning, and no probe object is left behind.
#   - npm's s3rver ignores it (checked the same way: the second PUT succeeds): blockpipe refuses
#     to create a volume there (a clear startup error naming allow_unfenced) and writes nothing;
#     with [engine] allow_unfenced = true it writes, with a warning; set back to false, the
#     existing volume is served read-only and a write is refused.
export BP_TEST_BACKEND=s3
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe
require_cmd qemu-io nbdinfo node

count_under() { s3_admin count "$1" "$2" | cut -d' ' -f1; }

log "RGW: our own client sees If-None-Match honoured"
use_rgw
probe_key=$(remote_unique_name)/direct-probe
register_s3_prefix "$RGW_BUCKET" "${probe_key%/*}"
echo first | s3_admin put "$RGW_BUCKET" "$probe_key" - || fail "plain PUT to RGW failed"
rc=0
echo second | s3_admin put --if-none-match "$RGW_BUCKET" "$probe_key" - 2>/dev/null || rc=$?
[[ $rc == 3 ]] || fail "RGW did not refuse a conditional PUT over an existing key (status $rc)"

log "RGW: the daemon's probe finds put-if-absent honoured and the volume writable"
start_blockpipe
grep -q "put-if-absent honoured" "$BP_LOG" || fail "the S3 backend did not log a positive probe"
grep -q "put-if-match honoured" "$BP_LOG" || fail "the S3 backend did not log a positive If-Match probe"
grep -qiE "NOT honoured|no atomic put-if-absent|no conditional put" "$BP_LOG" && fail "a fencing warning on RGW"
nbdinfo --can write "$(bp_uri_unix)" || fail "the volume is not writable on RGW"
timeout 60 qemu-io -f raw -t writeback -c 'write -P 0x71 0 64k' -c 'flush' "$(bp_uri_unix)" >/dev/null ||
  fail "write+flush on RGW failed"
stop_blockpipe
s3_admin list "$BP_REMOTE_BUCKET" "$BP_REMOTE_PREFIX" | grep -q blockpipe-probe &&
  fail "probe objects were left under $BP_REMOTE_PREFIX"

log "s3rver: our own client sees If-None-Match ignored"
s3rver_state=$BP_TMP/s3rver
bash "$SOURCE_DIR/tests/servers/s3rver/start.sh" "$s3rver_state" unfenced >"$BP_TMP/s3rver-start.out" 2>&1 ||
  fail "could not start s3rver: $(cat "$BP_TMP/s3rver-start.out")"
source "$s3rver_state/env"
register_pid "$S3RVER_PID"
s3rver_admin() {
  s3_admin --endpoint "$S3RVER_ENDPOINT" --access-key "$S3RVER_ACCESS_KEY_ID" \
    --secret-key "$S3RVER_SECRET_ACCESS_KEY" "$@"
}
echo first | s3rver_admin put unfenced direct/probe - || fail "plain PUT to s3rver failed"
echo second | s3rver_admin put --if-none-match unfenced direct/probe - ||
  fail "s3rver refused a conditional PUT: it honours If-None-Match after all, so this half of the test proves nothing"

log "s3rver: no volume is created without allow_unfenced"
# The daemon talks to s3rver with s3rver's credentials, set in the config (they take precedence
# over RGW's, which stay in the environment for the cleanup of the RGW prefixes).
bp_config_sed "s|^url = .*|url = \"s3://unfenced/vol\"|"
bp_config_sed "s|^endpoint = .*|endpoint = \"$S3RVER_ENDPOINT\"|"
bp_config_sed 's|^# access_key_id = .*|access_key_id = "${S3RVER_ACCESS_KEY_ID}"|'
bp_config_sed 's|^# secret_access_key = .*|secret_access_key = "${S3RVER_SECRET_ACCESS_KEY}"|'
export S3RVER_ACCESS_KEY_ID S3RVER_SECRET_ACCESS_KEY
bp_run_must_fail 30
grep -q "put-if-absent is NOT honoured" "$BP_RUN_OUT" || fail "no warning that s3rver ignores put-if-absent: $(cat "$BP_RUN_OUT")"
grep -q "put-if-match (If-Match) is NOT honoured" "$BP_RUN_OUT" ||
  fail "no warning that s3rver ignores If-Match: $(cat "$BP_RUN_OUT")"
grep -q "with a made-up version tag succeeded" "$BP_RUN_OUT" ||
  fail "the If-Match probe does not say what s3rver did: $(cat "$BP_RUN_OUT")"
grep -q "allow_unfenced" "$BP_RUN_OUT" || fail "the error does not name allow_unfenced: $(cat "$BP_RUN_OUT")"
[[ $(s3rver_admin count unfenced vol/ | cut -d' ' -f1) == 0 ]] ||
  fail "objects were written to a store that cannot fence: $(s3rver_admin list unfenced vol/)"

log "s3rver: allow_unfenced = true writes, with a warning"
bp_config_sed "s/^allow_unfenced = false/allow_unfenced = true/"
bp_run
grep -q "writable without fencing" "$BP_LOG" || fail "no warning that volumes are writable unfenced"
timeout 60 qemu-io -f raw -t writeback -c 'write -P 0x72 0 64k' -c 'flush' "$(bp_uri_unix)" >/dev/null ||
  fail "write+flush with allow_unfenced = true failed"
stop_blockpipe
objects=$(s3rver_admin count unfenced vol/ | cut -d' ' -f1)
((objects > 0)) || fail "nothing stored with allow_unfenced = true"

log "s3rver: back to allow_unfenced = false, the volume is read-only"
bp_config_sed "s/^allow_unfenced = true/allow_unfenced = false/"
bp_run
! nbdinfo --can write "$(bp_uri_unix)" || fail "the volume is writable on a store that cannot fence"
timeout 60 qemu-io -r -f raw -c 'read -P 0x72 0 64k' "$(bp_uri_unix)" >"$BP_TMP/read.out" 2>&1 ||
  fail "the unfenced volume's data is not readable: $(cat "$BP_TMP/read.out")"
# Sent to the server anyway (strict mode off), not just refused by the client library.
timeout 60 "$PY" -c 'import nbd, sys
h = nbd.NBD()
h.set_strict_mode(0)
h.connect_uri(sys.argv[1])
try:
    h.pwrite(b"\x73" * 4096, 0)
    h.flush()
except nbd.Error as e:
    print("refused:", e.string)
    sys.exit(0)
sys.exit("the write was accepted")' "$(bp_uri_unix)" >"$BP_TMP/write.out" 2>&1 ||
  fail "a write to the read-only volume: $(cat "$BP_TMP/write.out")"
log "$(cat "$BP_TMP/write.out")"
stop_blockpipe
[[ $(s3rver_admin count unfenced vol/ | cut -d' ' -f1) == "$objects" ]] ||
  fail "objects changed while the volume was read-only"
log "probe: RGW fenced and writable; s3rver refused, unfenced only on request, read-only otherwise"
