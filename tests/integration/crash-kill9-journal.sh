#!/usr/bin/env bash
# The local journal's promise under kill -9 ([engine] durability = "local", `blockpipe init
# --journal`): a FLUSH is acknowledged once the local journal has the writes, and after each
# SIGKILL the restarted daemon uploads what the store lacks before it serves, so no flushed or
# FUA write is ever lost and no unflushed 4 KiB block is torn. The same verifying workload as
# crash-kill9-flushed-writes (tests/lib/crash_workload.py), and `blockpipe fsck` checks the
# journal and the volume at the end.
source "$(dirname "$0")/../lib/common.sh"

readonly CYCLES=${BP_CRASH_CYCLES:-10}
state=$BP_TMP/crash-state.json

with_journal() {
  bp_config_sed 's/^durability = "store"/durability = "local"/'
}

start_blockpipe with_journal
for ((cycle = 1; cycle <= CYCLES; cycle++)); do
  timeout 120 "$PY" "$BP_LIB_DIR/crash_workload.py" "$(bp_uri_unix)" "$state" "$cycle" "$BP_PID" ||
    fail "crash cycle $cycle failed"
  wait_pid_gone "$BP_PID" 10 || fail "daemon survived SIGKILL in cycle $cycle"
  kill9_blockpipe
  bp_run
done
timeout 120 "$PY" "$BP_LIB_DIR/crash_workload.py" "$(bp_uri_unix)" "$state" "$((CYCLES + 1))" 0 ||
  fail "final verification failed"
grep -q 'local journal' "$BP_LOG" || fail "the daemon never mentioned its local journal"
stop_blockpipe
"$BLOCKPIPE" fsck --config "$BP_CONFIG" >"$BP_TMP/fsck.out" 2>&1 ||
  fail "fsck after the cycles: $(tail -n 5 "$BP_TMP/fsck.out")"
grep -q '^journal .*: clean' "$BP_TMP/fsck.out" || fail "fsck did not check the journal: $(cat "$BP_TMP/fsck.out")"
log "$CYCLES kill -9 cycles with the local journal: no flushed write lost, no torn block"
