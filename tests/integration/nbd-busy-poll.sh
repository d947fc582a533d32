#!/usr/bin/env bash
# The NBD frontend's adaptive busy polling (busy_poll_us, plugins/frontend-nbd/poll_window.h):
# under a queue-depth-1 client the event-loop threads poll for the next request instead of
# sleeping — they go to sleep far less often than once per request — and once the client stops,
# polling stops: the idle daemon uses almost no CPU. The same client against busy_poll_us = 0 is
# only logged for comparison: how often a thread that never polls sleeps depends on what else
# keeps the machine's CPUs awake (alone, about once per request; beside another test, a tenth
# of that), so it cannot be asserted.
source "$(dirname "$0")/../lib/common.sh"
require_cmd fio

# Voluntary context switches (sleeps) of the daemon's event-loop threads so far.
event_loop_sleeps() {
  local total=0 task n
  for task in /proc/"$BP_PID"/task/*; do
    [[ $(cat "$task/comm" 2>/dev/null) == bp-nbd-* ]] || continue
    n=$(awk '/^voluntary_ctxt_switches/ {print $2}' "$task/status")
    total=$((total + n))
  done
  echo "$total"
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$BP_PID/stat"; }

# Runs 3 s of 4 KiB reads at queue depth 1 and prints "REQUESTS SLEEPS".
qd1_reads() {
  local before after
  before=$(event_loop_sleeps)
  timeout 60 fio --name=qd1 --ioengine=nbd --uri="$(bp_uri_unix)" --rw=randread --bs=4k \
    --size=64m --iodepth=1 --time_based=1 --runtime=3 --output-format=json \
    --output="$BP_TMP/fio.json" >"$BP_TMP/fio.stdout" 2>&1 || fail "fio failed: $(tail -n 5 "$BP_TMP/fio.stdout")"
  after=$(event_loop_sleeps)
  local requests
  requests=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["jobs"][0]["read"]["total_ios"])' "$BP_TMP/fio.json")
  ((requests > 1000)) || fail "fio completed only $requests requests"
  echo "$requests $((after - before))"
}

start_blockpipe
read -r requests sleeps < <(qd1_reads)
log "busy_poll_us default: $requests requests, $sleeps event-loop sleeps"
((sleeps * 2 < requests)) ||
  fail "with busy polling the event-loop threads slept $sleeps times for $requests requests"

# The client is gone: after at most one long sleep the window is closed and nothing spins.
sleep 1
t0=$(cpu_ticks)
sleep 3
t1=$(cpu_ticks)
idle=$((t1 - t0))
log "idle daemon: $idle CPU ticks in 3 s"
((idle <= 15)) || fail "the idle daemon used $idle ticks (1/100 s) of CPU in 3 s: still polling?"

stop_blockpipe
bp_config_sed 's/^plugin = "nbd"$/plugin = "nbd"\nbusy_poll_us = 0/'
bp_run
read -r requests_off sleeps_off < <(qd1_reads)
log "busy_poll_us = 0 (for comparison): $requests_off requests, $sleeps_off event-loop sleeps"
log "busy polling replaces sleeps under a queue-depth-1 client and stops when the client goes"
