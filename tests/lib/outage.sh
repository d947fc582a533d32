# The body of the *-outage tests (sourced after common.sh): the object store goes away under a
# running daemon and comes back, and the durability contract must hold throughout. With
# [engine] retry_deadline_ms small (5 s):
#   1. write + FLUSH succeeds (the store is up);
#   2. the store stops; a write + FLUSH gets EIO — not before the retry deadline (transient
#      failures are retried) and not much after it (no hang) — and the daemon keeps answering;
#   3. the store comes back on the same address; without restarting blockpipe a write + FLUSH
#      succeeds again;
#   4. after a clean restart of blockpipe every write whose FLUSH succeeded is there, and the
#      range whose FLUSH failed holds, block by block, either its old content or the new one.

readonly OUTAGE_DEADLINE_MS=5000
readonly MIB=1048576

_outage_write_flush() { # OFFSET LENGTH BYTE → status of nbd_write_flush.py, output in BP_TMP
  timeout 180 "$PY" "$BP_LIB_DIR/nbd_write_flush.py" "$(bp_uri_unix)" "$@" >"$BP_TMP/write-flush.out" 2>&1
}

# run_outage_test STOP_FN START_FN: the daemon's data dir is initialised (bp_init) and points at
# the store; STOP_FN takes the store down, START_FN brings it back on the same endpoint.
run_outage_test() {
  local stop_store=$1 start_store=$2 rc started elapsed
  local deadline_s=$((OUTAGE_DEADLINE_MS / 1000))
  bp_config_sed "s/^retry_deadline_ms = .*/retry_deadline_ms = $OUTAGE_DEADLINE_MS/"
  bp_run

  _outage_write_flush 0 "$MIB" 0x11 || fail "write+flush before the outage: $(cat "$BP_TMP/write-flush.out")"
  log "flushed 1 MiB; stopping the store"
  "$stop_store"

  started=$SECONDS rc=0
  _outage_write_flush "$MIB" "$MIB" 0x22 || rc=$?
  elapsed=$((SECONDS - started))
  ((rc != 124)) || fail "write+flush hung for 180s while the store was down"
  ((rc != 0)) || fail "write+flush succeeded while the store was down"
  ((rc == 5)) || fail "write+flush during the outage did not fail with EIO: $(cat "$BP_TMP/write-flush.out")"
  ((elapsed >= deadline_s - 1)) ||
    fail "EIO after ${elapsed}s, before the ${deadline_s}s retry deadline (transient errors must be retried)"
  ((elapsed <= deadline_s + 60)) || fail "EIO only after ${elapsed}s (retry deadline ${deadline_s}s)"
  log "EIO after ${elapsed}s during the outage: $(cat "$BP_TMP/write-flush.out")"
  kill -0 "$BP_PID" 2>/dev/null || fail "the daemon died during the outage"
  timeout 30 nbdinfo --size "$(bp_uri_unix)" >/dev/null || fail "the daemon stopped answering during the outage"

  log "bringing the store back"
  "$start_store"
  started=$SECONDS
  _outage_write_flush $((2 * MIB)) "$MIB" 0x33 ||
    fail "write+flush after the store came back (no daemon restart): $(cat "$BP_TMP/write-flush.out")"
  log "service resumed without a restart ($((SECONDS - started))s): $(cat "$BP_TMP/write-flush.out")"
  timeout 60 qemu-io -f raw -c 'read -P 0x11 0 1M' -c 'read -P 0x33 2M 1M' "$(bp_uri_unix)" >/dev/null ||
    fail "flushed data not readable after the store came back"

  restart_blockpipe
  timeout 60 qemu-io -f raw -c 'read -P 0x11 0 1M' -c 'read -P 0x33 2M 1M' "$(bp_uri_unix)" >/dev/null ||
    fail "an acknowledged-flushed write is missing after restarting blockpipe"
  timeout 60 "$PY" "$BP_LIB_DIR/nbd_write_flush.py" --check "$(bp_uri_unix)" "$MIB" "$MIB" 0x00 0x22 ||
    fail "the range whose flush failed holds neither its old nor its new content"
  log "outage: EIO after the deadline, resumed without a restart, every flushed write intact"
}
