#!/usr/bin/env bash
# kill -9 during snapshot create, delete and restore, clone create and delete, while garbage
# collection runs, in a loop with a verifying workload. The daemon collects eagerly (small
# segments, a segment collected once 5% of it is dead, a pass every 20 ms); each cycle overwrites
# and flushes random blocks of the volume and of its clones, asks for a collection pass on every
# volume, sends one snapshot or clone operation and kills the daemon at a random moment of it —
# while the collector reads, relocates and deletes segments that snapshots and clones share.
# After every restart no flushed write is lost, the interrupted operation either happened whole
# or not at all, and every snapshot and clone still reads exactly as created (plus, for a clone,
# its own writes); fsck is clean midway and at the end. Then a collection pass runs to its end
# with every snapshot and clone in place and they are verified again; finally the snapshots and
# clones are deleted and a `gc --wait` pass must give the space back (stored within 1.3x of the
# live data, and STORED equal to what the store's own listing holds). The checking lives in
# tests/lib/snapshot_crash.py.
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe

# 20 cycles on the file backend, 5 on a remote test server (each cycle restarts the daemon).
default_cycles=20
[[ $BP_TEST_BACKEND == file ]] || default_cycles=5
readonly CYCLES=${BP_CRASH_CYCLES:-$default_cycles}
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

# crash_cycle ARGS...: snapshot_crash.py against the running daemon.
crash_cycle() {
  timeout 180 "$PY" "$BP_LIB_DIR/snapshot_crash.py" "$BP_SOCK" "$BP_CTL" "$state" "$@"
}

volume_field() {  # volume_field VOLUME FIELD (gc.X for the gc block)
  "$BLOCKPIPE" volume list --json --config "$BP_CONFIG" | "$PY" -c '
import json, sys
v = [x for x in json.load(sys.stdin) if x["name"] == sys.argv[1]][0]
f = sys.argv[2]
print(v["gc"][f[3:]] if f.startswith("gc.") else v[f])' "$1" "$2"
}

start_blockpipe bp_config_eager_gc
for ((cycle = 1; cycle <= CYCLES; cycle++)); do
  crash_cycle "$cycle" "$BP_PID" || fail "lifecycle crash cycle $cycle failed"
  wait_pid_gone "$BP_PID" 10 || fail "daemon survived SIGKILL in cycle $cycle"
  kill9_blockpipe
  bp_run
  ((cycle != CYCLES / 2)) || run_fsck "after cycle $cycle"
done
requested=$(grep -c 'garbage collection pass [0-9]* requested' "$BP_LOG" || true)
((requested >= CYCLES)) || fail "only $requested gc passes were requested in $CYCLES cycles"

# A pass to its end with every snapshot and clone in place, then everything verified again.
crash_cycle "$((CYCLES + 1))" 0 --settle | tee "$BP_TMP/settle.out" ||
  fail "verification after a full gc pass failed"
moved=$(sed -n 's/.*gc_moved \([0-9]*\)$/\1/p' "$BP_TMP/settle.out")
((moved > 0)) || fail "the collector had moved nothing when the operations were sent"
run_fsck "at the end"

# Space returns: delete every snapshot and clone, then one pass to its end.
"$PY" - "$state" <<'PYEOF' >"$BP_TMP/names"
import json, sys
state = json.load(open(sys.argv[1]))
for name in state["snapshots"]:
    print("snapshot", name)
for name in state["clones"]:
    print("clone", name)
PYEOF
while read -r kind name; do
  if [[ $kind == snapshot ]]; then
    "$BLOCKPIPE" snapshot delete default "$name" --config "$BP_CONFIG" >>"$BP_LOG" 2>&1 ||
      fail "snapshot delete $name failed"
  else
    "$BLOCKPIPE" volume delete "$name" --config "$BP_CONFIG" >>"$BP_LOG" 2>&1 ||
      fail "volume delete $name failed"
  fi
done <"$BP_TMP/names"
"$PY" - "$state" <<'PYEOF'
import json, sys
path = sys.argv[1]
state = json.load(open(path))
state["snapshots"], state["clones"] = {}, {}
json.dump(state, open(path, "w"))
PYEOF
timeout 300 "$BLOCKPIPE" gc --wait --volume default --config "$BP_CONFIG" >"$BP_TMP/gc.out" 2>&1 ||
  fail "blockpipe gc --wait: $(tail -n 5 "$BP_TMP/gc.out")"
stored=$(volume_field default stored_bytes)
live=$(volume_field default live_bytes)
held=$(remote_volume_bytes default)
log "snapshots and clones deleted, after gc --wait: stored $stored, live $live, the store lists $held"
((stored == held)) || fail "volume list says $stored bytes stored, the store holds $held"
((stored * 10 <= live * 13)) || fail "after deleting every snapshot the store holds $stored bytes for $live live"
crash_cycle "$((CYCLES + 2))" 0 || fail "verification after the snapshots' deletion failed"
run_fsck "after the snapshots' deletion"
log "$CYCLES kill -9 cycles during snapshot and clone operations with GC running: nothing lost, every snapshot and clone intact, space returned"
