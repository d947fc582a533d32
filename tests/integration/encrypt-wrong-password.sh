#!/usr/bin/env bash
# A wrong password stops `blockpipe run` quickly, before anything is served or written: the exit
# status is non-zero, the message names the volume and never either password, no NBD socket
# comes up, and every object in the store is byte-identical before and after — even with a
# second volume in the store that would have opened. An unset password variable is refused
# naming it. The right password then still opens the data intact.
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe

RIGHT='correct horse battery staple'
WRONG='correct horse battery stapler'
export BLOCKPIPE_PASSWORD=$RIGHT

bp_init
"$BLOCKPIPE" init --data-dir "$BP_DIR" --port "$BP_PORT" --encrypt --force >>"$BP_LOG" 2>&1 ||
  fail "blockpipe init --encrypt failed"
bp_config_sed 's/^kdf = "moderate"$/kdf = "interactive"/'
bp_run
bp_volume create second --size 64MiB >/dev/null || fail "volume create second failed"
timeout 120 "$PY" "$BP_LIB_DIR/pattern_io.py" write "$(bp_uri_unix)" 1 50 || fail "pattern write failed"
timeout 120 "$PY" "$BP_LIB_DIR/pattern_io.py" write "$(bp_uri_unix second)" 2 50 ||
  fail "pattern write to second failed"
stop_blockpipe

snapshot() { (cd "$BP_DIR/objects" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
before=$(snapshot)
[[ $(grep -c /seg/ <<<"$before") -ge 2 ]] || fail "expected segments of both volumes in the store"

# Runs the daemon in the foreground; sets RUN_RC, RUN_SECONDS and RUN_OUT.
run_refused() {
  RUN_OUT=$BP_TMP/refused.log
  local start=$SECONDS
  RUN_RC=0
  timeout 60 "$BLOCKPIPE" run --config "$BP_CONFIG" >"$RUN_OUT" 2>&1 || RUN_RC=$?
  RUN_SECONDS=$((SECONDS - start))
  cat "$RUN_OUT" >>"$BP_LOG"
  ((RUN_RC != 0)) || fail "the daemon accepted the wrong password (status 0)"
  ((RUN_RC != 124)) || fail "the daemon was still running after 60s instead of refusing"
}

export BLOCKPIPE_PASSWORD=$WRONG
run_refused
grep -q 'wrong password for volume default' "$RUN_OUT" ||
  fail "the refusal does not name the volume: $(tail -n 3 "$RUN_OUT")"
grep -q 'not starting' "$RUN_OUT" || fail "the refusal does not say the daemon is not starting"
if grep -qF -e "$RIGHT" -e "$WRONG" -e 'battery' "$RUN_OUT"; then
  fail "a password appears in the daemon's output"
fi
if grep -q 'serving\|listening' "$RUN_OUT"; then fail "the daemon served before refusing"; fi
[[ ! -S $BP_SOCK ]] || ! _bp_socket_accepts "$BP_SOCK" 2>/dev/null || fail "an NBD socket is accepting"
((RUN_SECONDS <= 30)) || fail "the refusal took ${RUN_SECONDS}s"
[[ $(snapshot) == "$before" ]] || fail "the store changed during a refused start"
log "wrong password refused in ${RUN_SECONDS}s (status $RUN_RC), store unchanged"

unset BLOCKPIPE_PASSWORD
run_refused
grep -q 'BLOCKPIPE_PASSWORD' "$RUN_OUT" || fail "an unset password variable is not named: $(tail -n 3 "$RUN_OUT")"
[[ $(snapshot) == "$before" ]] || fail "the store changed during a start without a password"
log "unset password variable refused, naming it"

export BLOCKPIPE_PASSWORD=$RIGHT
bp_run
timeout 120 "$PY" "$BP_LIB_DIR/pattern_io.py" verify "$(bp_uri_unix)" 1 50 || fail "default lost data"
timeout 120 "$PY" "$BP_LIB_DIR/pattern_io.py" verify "$(bp_uri_unix second)" 2 50 || fail "second lost data"
stop_blockpipe
log "the right password opens both volumes with their data intact"
