#!/usr/bin/env bash
# The durability contract under kill -9, over many cycles: write, FLUSH (and one FUA write), then
# pipelined unflushed writes, and SIGKILL the daemon at a random point among them. After each
# restart every flushed or FUA write must be there, and every unflushed 4 KiB block must be
# wholly its old or its new content — never torn, never garbage. The checking lives in
# tests/lib/crash_workload.py; the state file carries what was durable from cycle to cycle.
source "$(dirname "$0")/../lib/common.sh"

readonly CYCLES=${BP_CRASH_CYCLES:-24}
state=$BP_TMP/crash-state.json

start_blockpipe
for ((cycle = 1; cycle <= CYCLES; cycle++)); do
  timeout 120 "$PY" "$BP_LIB_DIR/crash_workload.py" "$(bp_uri_unix)" "$state" "$cycle" "$BP_PID" ||
    fail "crash cycle $cycle failed"
  # The workload sent SIGKILL itself; make sure the daemon is gone and reaped, then restart.
  wait_pid_gone "$BP_PID" 10 || fail "daemon survived SIGKILL in cycle $cycle"
  kill9_blockpipe
  bp_run
done
timeout 120 "$PY" "$BP_LIB_DIR/crash_workload.py" "$(bp_uri_unix)" "$state" "$((CYCLES + 1))" 0 ||
  fail "final verification failed"
log "$CYCLES kill -9 cycles: no flushed write lost, no torn block"
