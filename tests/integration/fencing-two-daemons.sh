#!/usr/bin/env bash
# Two daemons with different data dirs serve the same objects (a failover gone wrong). The first
# one owns the volume through its ownership record (volumes/default/owner): the second refuses to
# start with a message naming the owner and the override, while the first keeps serving. Taking
# over deliberately (`run --take-over`) gives the volume to the second daemon; the first one's
# next write+flush collides with the new owner's segment (put-if-absent), fails with EIO, and it
# logs that it was fenced; before that, it already refuses snapshot operations (the ownership
# record no longer holds its claim). A clean SIGTERM releases the volume, so the first data dir then opens
# it again without an override and reads the new owner's data. kill -9 releases nothing: another
# data dir is refused, and the same data dir takes the volume back on restart without a step.
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe
require_cmd qemu-io

start_blockpipe
first_pid=$BP_PID
objects_url="file://$BP_DIR/objects"
owner_object=$BP_DIR/objects/volumes/default/owner
first_id=$(cat "$BP_DIR/writer-id") || fail "the first daemon made no $BP_DIR/writer-id"

# "active <writer id>" or "released <writer id>", from the record's plain body (docs/format.md).
owner_state() {
  "$PY" - "$owner_object" <<'PYEOF'
import struct, sys
data = open(sys.argv[1], "rb").read()
assert data[:4] == b"BPOW", "not an owner record"
state, id_len = struct.unpack_from("<II", data, 80)
writer = data[88:88 + id_len].decode()
print({1: "active", 2: "released"}[state], writer)
PYEOF
}

qio() { timeout 60 qemu-io -f raw -t writeback "$@"; }
write_flush() { timeout 120 "$PY" "$BP_LIB_DIR/nbd_write_flush.py" "$@"; }

qio -c 'write -P 0x11 0 64k' -c 'flush' "$(bp_uri_unix)" >/dev/null ||
  fail "the first daemon could not write and flush"
[[ $(owner_state) == "active $first_id" ]] ||
  fail "the owner record does not name the first daemon's data dir: $(owner_state)"

# The second daemon, by hand: its own data dir and sockets, the first one's objects.
second=$BP_TMP/second
"$BLOCKPIPE" init --data-dir "$second" --port "$(free_port)" --url "$objects_url" >/dev/null ||
  fail "init of the second data dir failed"
second_uri="nbd+unix:///default?socket=$second/nbd.sock"

# run_second [ARGS...]: start it in the background and wait until it serves.
run_second() {
  "$BLOCKPIPE" run --config "$second/blockpipe.toml" "$@" >>"$BP_TMP/second.log" 2>&1 &
  second_pid=$!
  register_pid "$second_pid"
  wait_until 30 "second daemon's socket" test -S "$second/nbd.sock" ||
    { tail -n 20 "$BP_TMP/second.log"; fail "the second daemon did not start"; }
}
# second_must_refuse: it exits promptly with an error that names the owner and the override.
second_must_refuse() {
  local rc=0 out=$BP_TMP/second-refused.out
  timeout -k 5 60 "$BLOCKPIPE" run --config "$second/blockpipe.toml" >"$out" 2>&1 || rc=$?
  cat "$out" >>"$BP_TMP/second.log"
  ((rc != 124 && rc != 137)) || fail "the second daemon neither served nor exited within 60s"
  ((rc != 0)) || fail "the second daemon exited 0 instead of refusing to start"
  [[ ! -S $second/nbd.sock ]] || fail "the refused second daemon left an NBD socket"
  local part
  for part in "volume default is in use by another blockpipe daemon" "host $(hostname)" \
    "data dir id $first_id" "pid $1" "since " "--take-over default"; do
    grep -qF -- "$part" "$out" || { cat "$out"; fail "the refusal does not say '$part'"; }
  done
  log "second daemon refused: $(grep -o 'volume default is in use[^(]*([^)]*)' "$out" | head -1)"
}

# 1. The first daemon owns the volume: the second refuses to start, and writes nothing.
before=$(find "$BP_DIR/objects" -type f -printf '%P %s %T@\n' | sort)
second_must_refuse "$first_pid"
[[ $(find "$BP_DIR/objects" -type f -printf '%P %s %T@\n' | sort) == "$before" ]] ||
  fail "the refused second daemon changed the object store"
qio -c 'write -P 0x33 64k 64k' -c 'flush' -c 'read -P 0x11 0 64k' "$(bp_uri_unix)" >/dev/null ||
  fail "the first daemon stopped serving, or lost data, after the second was refused"

# 2. Deliberate take-over: the second daemon owns it now and writes; the first is fenced.
run_second --take-over default
grep -q "taken over from host" "$BP_TMP/second.log" ||
  { cat "$BP_TMP/second.log"; fail "the second daemon did not log the take-over"; }
second_id=$(cat "$second/writer-id")
[[ $(owner_state) == "active $second_id" ]] || fail "after the take-over: $(owner_state)"
# The old owner has not noticed yet (it wrote nothing since), but it may not take snapshots:
# the new owner would not know what they pin.
rc=0
"$BLOCKPIPE" snapshot create default stale --config "$BP_CONFIG" >"$BP_TMP/stale-snap.out" 2>&1 || rc=$?
((rc != 0)) || fail "the old owner took a snapshot after the take-over"
grep -q "taken over" "$BP_TMP/stale-snap.out" || fail "unclear refusal: $(cat "$BP_TMP/stale-snap.out")"
[[ ! -e $BP_DIR/objects/volumes/default/snap/stale ]] || fail "the refused snapshot left a record"
write_flush "$second_uri" 0 65536 0x22 >"$BP_TMP/second-write.out" 2>&1 ||
  fail "the new owner could not write and flush: $(cat "$BP_TMP/second-write.out")"
rc=0
write_flush "$(bp_uri_unix)" 131072 65536 0x44 >"$BP_TMP/first-write.out" 2>&1 || rc=$?
((rc != 0)) || fail "the old owner flushed a write after the volume was taken over"
((rc == 5)) || fail "the old owner's write+flush failed, but not with EIO: $(cat "$BP_TMP/first-write.out")"
grep -q "another writer owns this volume" "$BP_LOG" ||
  fail "the first daemon did not log that it was fenced"

# The fenced daemon's shutdown leaves the new owner's record alone (its exit status may report
# the unflushable write; it must exit, not hang).
kill -TERM "$first_pid"
wait_pid_gone "$first_pid" 60 || fail "the fenced daemon did not exit after SIGTERM"
wait "$first_pid" 2>/dev/null || true
BP_PID=
[[ $(owner_state) == "active $second_id" ]] || fail "the fenced daemon's shutdown changed the record: $(owner_state)"

# 3. A clean SIGTERM of the owner releases: the first data dir opens it without an override and
#    reads exactly the new owner's data (the fenced write is not there).
stop_pid "$second_pid" 60
grep -q "ownership released" "$BP_TMP/second.log" || fail "the second daemon did not release at SIGTERM"
[[ $(owner_state) == "released $second_id" ]] || fail "after the second's SIGTERM: $(owner_state)"
bp_run
[[ $(owner_state) == "active $first_id" ]] || fail "the first data dir did not take the released volume"
qio -c 'read -P 0x22 0 64k' -c 'read -P 0x33 64k 64k' -c 'read -P 0 128k 64k' "$(bp_uri_unix)" >/dev/null ||
  fail "after the hand-back the volume does not hold exactly the new owner's data"

# 4. kill -9 releases nothing: the other data dir is refused; the same one takes it back.
killed_pid=$BP_PID
qio -c 'write -P 0x55 192k 64k' -c 'flush' "$(bp_uri_unix)" >/dev/null || fail "write before kill -9 failed"
kill9_blockpipe
[[ $(owner_state) == "active $first_id" ]] || fail "after kill -9: $(owner_state)"
second_must_refuse "$killed_pid"
bp_run
grep -q "taken back from an earlier run of this data dir" "$BP_LOG" ||
  fail "the restarted daemon did not log taking the volume back"
qio -c 'read -P 0x22 0 64k' -c 'read -P 0x55 192k 64k' "$(bp_uri_unix)" >/dev/null ||
  fail "after kill -9 and restart the volume lost flushed data"
log "refused without override; take-over fenced the old owner; SIGTERM released; kill -9 taken back"
