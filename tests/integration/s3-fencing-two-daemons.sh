#!/usr/bin/env bash
# Fencing for real on S3: two daemons with different data dirs (two hosts after a failover gone
# wrong) open the same volume in the same bucket and prefix on Ceph RGW. The first one owns the
# volume (its ownership record, volumes/default/owner): the second refuses to start, naming the
# owner, and the first keeps writing. Taken over deliberately (`run --take-over`), the volume is
# the second's: segments are created with `If-None-Match: *`, which RGW enforces, so the first
# one's next write+flush fails with EIO and it logs that another writer owns the volume. After
# both stop, a fresh start reads exactly the new owner's data.
export BP_TEST_BACKEND=s3
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe
require_cmd qemu-io

start_blockpipe
first_uri=$(bp_uri_unix)
first_id=$(cat "$BP_DIR/writer-id") || fail "the first daemon made no writer-id"

# The second daemon, by hand: its own data dir and sockets, the first one's bucket and prefix.
second=$BP_TMP/second
"$BLOCKPIPE" init --data-dir "$second" --port "$(free_port)" --url "$BP_BACKEND_URL" \
  --endpoint "$BP_BACKEND_ENDPOINT" >/dev/null || fail "init of the second data dir failed"
second_uri="nbd+unix:///default?socket=$second/nbd.sock"

qio() { timeout 120 qemu-io -f raw -t writeback "$@"; }

qio -c 'write -P 0x11 0 64k' -c 'flush' "$first_uri" >/dev/null ||
  fail "the first daemon could not write and flush"

# The first daemon owns the volume: the second refuses to start, naming it.
rc=0
timeout -k 5 120 "$BLOCKPIPE" run --config "$second/blockpipe.toml" >"$BP_TMP/second.log" 2>&1 || rc=$?
((rc != 0 && rc != 124 && rc != 137)) ||
  { cat "$BP_TMP/second.log"; fail "the second daemon did not refuse to start promptly (status $rc)"; }
for part in "volume default is in use by another blockpipe daemon" "data dir id $first_id" \
  "pid $BP_PID" "--take-over default"; do
  grep -qF -- "$part" "$BP_TMP/second.log" || { cat "$BP_TMP/second.log"; fail "the refusal does not say '$part'"; }
done
qio -c 'write -P 0x33 64k 64k' -c 'flush' "$first_uri" >/dev/null ||
  fail "the first daemon could not write after the second was refused"

# Deliberate take-over: the second writes first, and the first is fenced by put-if-absent.
"$BLOCKPIPE" run --config "$second/blockpipe.toml" --take-over default >>"$BP_TMP/second.log" 2>&1 &
second_pid=$!
register_pid "$second_pid"
wait_until 60 "second daemon's socket" test -S "$second/nbd.sock" ||
  { cat "$BP_TMP/second.log"; fail "second daemon did not start with --take-over"; }
timeout 120 "$PY" "$BP_LIB_DIR/nbd_write_flush.py" "$second_uri" 0 65536 0x22 >"$BP_TMP/second-write.out" 2>&1 ||
  fail "the new owner could not write and flush: $(cat "$BP_TMP/second-write.out")"
rc=0
timeout 120 "$PY" "$BP_LIB_DIR/nbd_write_flush.py" "$first_uri" 131072 4096 0x44 >"$BP_TMP/first-write.out" 2>&1 || rc=$?
((rc != 0)) || fail "the old owner flushed a write over a volume taken over by the second daemon"
((rc == 5)) || fail "the old owner's write+flush failed, but not with EIO: $(cat "$BP_TMP/first-write.out")"
grep -q "another writer owns this volume" "$BP_LOG" || fail "the first daemon did not log that it was fenced"

# The new owner keeps writing; after both stop, a fresh start reads exactly its data.
timeout 120 "$PY" "$BP_LIB_DIR/nbd_write_flush.py" "$second_uri" 65536 65536 0x55 >"$BP_TMP/second-write.out" 2>&1 ||
  fail "the new owner could not write after the old one was fenced: $(cat "$BP_TMP/second-write.out")"
stop_pid "$second_pid" 60
kill -TERM "$BP_PID"
wait_pid_gone "$BP_PID" 60 || fail "the fenced daemon did not exit after SIGTERM"
wait "$BP_PID" 2>/dev/null || true
BP_PID=
bp_run
qio -c 'read -P 0x22 0 64k' -c 'read -P 0x55 64k 64k' -c 'read -P 0 128k 4k' "$(bp_uri_unix)" >/dev/null ||
  fail "after restart the volume does not hold exactly the new owner's data"
log "second daemon refused, then took over on RGW; the old owner fenced; the new owner's data intact"
