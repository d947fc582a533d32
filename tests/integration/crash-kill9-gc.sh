#!/usr/bin/env bash
# Garbage collection under kill -9: with collection made eager ([gc] min_dead_ratio 0.05, a
# 20 ms interval, small segments) and a `blockpipe gc` pass started at the beginning of every
# cycle (half of the cycles with the local journal), the verifying crash workload (tests/lib/crash_workload.py) overwrites random blocks and
# SIGKILLs the daemon at a random point, so kills land while GC reads units, relocates blocks,
# uploads the segments it fills, forces checkpoints and deletes the segments it emptied. After
# each restart every flushed or FUA write must be there and no unflushed block torn; at the end a
# `blockpipe gc --wait` pass must bring the store within 1.3x of the live data, the figures
# `volume list` shows must match what the store's own listing holds, and `blockpipe fsck` must
# find the volume clean. 20 cycles on the file backend, 5 on a remote test server.
source "$(dirname "$0")/../lib/common.sh"

default_cycles=20
[[ $BP_TEST_BACKEND == file ]] || default_cycles=5
readonly CYCLES=${BP_CRASH_CYCLES:-$default_cycles}
state=$BP_TMP/crash-state.json

volume_json() {
  "$BLOCKPIPE" volume list --json --config "$BP_CONFIG" |
    "$PY" -c 'import json, sys; v = [x for x in json.load(sys.stdin) if x["name"] == "default"][0]; print(v[sys.argv[1]] if "." not in sys.argv[1] else v["gc"][sys.argv[1].split(".")[1]])' "$1"
}

cycles() {  # cycles FIRST LAST
  local cycle
  for ((cycle = $1; cycle <= $2; cycle++)); do
    "$BLOCKPIPE" gc --config "$BP_CONFIG" >>"$BP_LOG" 2>&1 || fail "blockpipe gc failed in cycle $cycle"
    timeout 120 "$PY" "$BP_LIB_DIR/crash_workload.py" "$(bp_uri_unix)" "$state" "$cycle" "$BP_PID" ||
      fail "crash cycle $cycle failed"
    wait_pid_gone "$BP_PID" 10 || fail "daemon survived SIGKILL in cycle $cycle"
    kill9_blockpipe
    bp_run
  done
}

# Half the cycles acknowledge flushes at the store, half at the local journal (durability =
# "local"), where GC's segments upload in the background beside journaled ones. The switch is
# made after a clean stop, which empties the journal.
half=$(((CYCLES + 1) / 2))
start_blockpipe bp_config_eager_gc
cycles 1 "$half"
stop_blockpipe
bp_config_sed 's/^durability = "store"/durability = "local"/'
bp_run
cycles $((half + 1)) "$CYCLES"
timeout 120 "$PY" "$BP_LIB_DIR/crash_workload.py" "$(bp_uri_unix)" "$state" "$((CYCLES + 1))" 0 ||
  fail "verification after the last kill failed"
grep -q 'local journal' "$BP_LOG" || fail "the daemon never mentioned its local journal"
requested=$(grep -c 'garbage collection pass [0-9]* requested' "$BP_LOG" || true)
((requested >= CYCLES)) || fail "only $requested gc passes were requested in $CYCLES cycles"

stored_before=$(volume_json stored_bytes)
timeout 300 "$BLOCKPIPE" gc --wait --volume default --config "$BP_CONFIG" >"$BP_TMP/gc.out" 2>&1 ||
  fail "blockpipe gc --wait: $(tail -n 5 "$BP_TMP/gc.out")"
grep -q '^default .*done' "$BP_TMP/gc.out" || fail "gc --wait did not report the pass done: $(cat "$BP_TMP/gc.out")"
stored=$(volume_json stored_bytes)
live=$(volume_json live_bytes)
held=$(remote_volume_bytes default)
log "after gc --wait: stored $stored (was $stored_before), live $live, the store lists $held"
((stored == held)) || fail "volume list says $stored bytes stored, the store holds $held"
((stored <= stored_before)) || fail "a gc pass grew the store ($stored_before -> $stored)"
# min_dead_ratio 0.05: what stays is the dead 5% of segments, the checkpoints and the metadata.
((stored * 10 <= live * 13)) || fail "after gc --wait the store holds $stored bytes for $live live"
timeout 120 "$PY" "$BP_LIB_DIR/crash_workload.py" "$(bp_uri_unix)" "$state" "$((CYCLES + 2))" 0 ||
  fail "verification after gc --wait failed"

stop_blockpipe
"$BLOCKPIPE" fsck --config "$BP_CONFIG" >"$BP_TMP/fsck.out" 2>&1 ||
  fail "fsck after the cycles: $(tail -n 5 "$BP_TMP/fsck.out")"
log "$CYCLES kill -9 cycles during garbage collection: no flushed write lost, fsck clean"
