#!/usr/bin/env bash
# Lost replies: the faults filter passes a third of all writes and deletes to the store and then
# answers them with a transient error, as when a response is lost on the network after the store
# committed (and one call in twenty fails outright). Retrying a put-if-absent then meets its own
# object, and a put-if-match its own tag: the retry layer must recognise both as done, not as
# another writer, or the daemon would fence itself off. Under that the kill -9 workload of
# crash-kill9-flushed-writes runs for BP_CRASH_CYCLES cycles (default 6): the daemon keeps
# serving, every flushed write survives each kill and restart, no unflushed block is torn, and
# fsck through the same filter finds the store clean. Also runs as s3.faults-lost-replies and
# azure.faults-lost-replies against the shared test servers.
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe

readonly CYCLES=${BP_CRASH_CYCLES:-6}
state=$BP_TMP/crash-state.json

bp_init
bp_config_append '
[[filter]]
plugin = "faults"
seed = 7
operations = ["write", "delete"]
lost_reply_rate = "33%"

[[filter]]
plugin = "faults"
seed = 8
transient_rate = "5%"'
bp_run

# A first round with the daemon kept alive: the lost replies must have happened and been
# absorbed by retries.
timeout 120 "$PY" "$BP_LIB_DIR/nbd_write_flush.py" "$(bp_uri_unix)" $((64 << 20)) $((4 << 20)) 0x3c \
  >"$BP_TMP/write-flush.out" 2>&1 || fail "write+flush with lost replies failed: $(cat "$BP_TMP/write-flush.out")"
lost=$("$BLOCKPIPE" stats --prometheus --config "$BP_CONFIG" | awk '$1 == "blockpipe_faults_lost_replies" { print $2 }')
((${lost:-0} > 0)) || fail "no reply was lost"
log "$lost replies lost so far, the daemon still serves"

for ((cycle = 1; cycle <= CYCLES; cycle++)); do
  timeout 180 "$PY" "$BP_LIB_DIR/crash_workload.py" "$(bp_uri_unix)" "$state" "$cycle" "$BP_PID" ||
    fail "crash cycle $cycle failed"
  wait_pid_gone "$BP_PID" 10 || fail "daemon survived SIGKILL in cycle $cycle"
  kill9_blockpipe
  bp_run
done
timeout 180 "$PY" "$BP_LIB_DIR/crash_workload.py" "$(bp_uri_unix)" "$state" "$((CYCLES + 1))" 0 ||
  fail "final verification failed"
timeout 120 "$PY" "$BP_LIB_DIR/nbd_write_flush.py" --check "$(bp_uri_unix)" $((64 << 20)) $((4 << 20)) 0x3c ||
  fail "the first round's flushed write is gone"
stop_blockpipe
timeout 300 "$BLOCKPIPE" fsck --config "$BP_CONFIG" >"$BP_TMP/fsck.out" 2>&1 ||
  fail "fsck through the faults filter failed: $(cat "$BP_TMP/fsck.out")"
grep -q '^volume default: clean' "$BP_TMP/fsck.out" || fail "fsck did not report the volume clean: $(cat "$BP_TMP/fsck.out")"
log "$CYCLES kill -9 cycles with a third of all write replies lost: no flushed write lost, fsck clean"
