#!/usr/bin/env bash
# kill -9 during snapshot create, delete and restore, in a loop with a verifying workload: each
# cycle writes and flushes random blocks, sends one snapshot operation and kills the daemon at a
# random moment of it. After every restart no flushed write is lost, the interrupted operation
# either happened whole or not at all, and every snapshot still reads exactly as created; fsck is
# clean midway and at the end. The checking lives in tests/lib/snapshot_crash.py.
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe

# 12 cycles on the file backend, 5 on a remote test server (each cycle restarts the daemon).
default_cycles=12
[[ ${BP_TEST_BACKEND:-file} == file ]] || default_cycles=5
readonly CYCLES=${BP_SNAPSHOT_CRASH_CYCLES:-$default_cycles}
state=$BP_TMP/snapshot-crash.json

run_fsck() {
  stop_blockpipe
  "$BLOCKPIPE" fsck --config "$BP_CONFIG" >"$BP_TMP/fsck.out" 2>&1 || {
    cat "$BP_TMP/fsck.out" >&2
    fail "fsck found problems ($1)"
  }
  log "fsck clean ($1)"
  bp_run
}

start_blockpipe
for ((cycle = 1; cycle <= CYCLES; cycle++)); do
  timeout 120 "$PY" "$BP_LIB_DIR/snapshot_crash.py" "$BP_SOCK" "$BP_CTL" "$state" "$cycle" \
    "$BP_PID" || fail "snapshot crash cycle $cycle failed"
  wait_pid_gone "$BP_PID" 10 || fail "daemon survived SIGKILL in cycle $cycle"
  kill9_blockpipe
  bp_run
  ((cycle != CYCLES / 2)) || run_fsck "after cycle $cycle"
done
timeout 120 "$PY" "$BP_LIB_DIR/snapshot_crash.py" "$BP_SOCK" "$BP_CTL" "$state" "$((CYCLES + 1))" 0 ||
  fail "final verification failed"
run_fsck "at the end"
log "$CYCLES kill -9 cycles during snapshot operations: nothing lost, every snapshot intact"
