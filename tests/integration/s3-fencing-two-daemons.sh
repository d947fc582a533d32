#!/usr/bin/env bash
# Fencing for real on S3: two daemons with different data dirs (two hosts after a failover gone
# wrong) open the same volume in the same bucket and prefix on Ceph RGW. Segments are created with
# `If-None-Match: *`, which RGW enforces, so only one of them can write: the first to upload owns
# the volume, the second's write+flush fails with EIO and it logs that another writer owns the
# volume. The owner keeps writing; after both stop, a fresh start reads exactly the owner's data.
export BP_TEST_BACKEND=s3
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe
require_cmd qemu-io

start_blockpipe
first_uri=$(bp_uri_unix)

# The second daemon, by hand: its own data dir and sockets, the first one's bucket and prefix.
second=$BP_TMP/second
"$BLOCKPIPE" init --data-dir "$second" --port "$(free_port)" --url "$BP_BACKEND_URL" \
  --endpoint "$BP_BACKEND_ENDPOINT" >/dev/null || fail "init of the second data dir failed"
"$BLOCKPIPE" run --config "$second/blockpipe.toml" >"$BP_TMP/second.log" 2>&1 &
second_pid=$!
register_pid "$second_pid"
wait_until 60 "second daemon's socket" test -S "$second/nbd.sock" ||
  { cat "$BP_TMP/second.log"; fail "second daemon did not start"; }
second_uri="nbd+unix:///default?socket=$second/nbd.sock"

qio() { timeout 120 qemu-io -f raw -t writeback "$@"; }

qio -c 'write -P 0x11 0 64k' -c 'flush' "$first_uri" >/dev/null ||
  fail "the first daemon could not write and flush"
rc=0
timeout 120 "$PY" "$BP_LIB_DIR/nbd_write_flush.py" "$second_uri" 0 65536 0x22 >"$BP_TMP/second-write.out" 2>&1 || rc=$?
((rc != 0)) || fail "the second daemon flushed a write over a volume the first one owns"
((rc == 5)) || fail "the second daemon's write+flush failed, but not with EIO: $(cat "$BP_TMP/second-write.out")"
grep -q "another writer owns this volume" "$BP_TMP/second.log" ||
  { cat "$BP_TMP/second.log"; fail "the second daemon did not log that it was fenced"; }

# The owner is unaffected: it keeps writing and flushing.
qio -c 'write -P 0x33 64k 64k' -c 'flush' "$first_uri" >/dev/null ||
  fail "the first daemon could not write after the second was fenced"
# And the fenced daemon stays fenced: new connections see a read-only export, and a write is
# refused.
rc=0
timeout 120 "$PY" "$BP_LIB_DIR/nbd_write_flush.py" "$second_uri" 131072 4096 0x44 >"$BP_TMP/second-write.out" 2>&1 || rc=$?
((rc != 0)) || fail "the fenced daemon flushed a later write"
if ((rc != 5)); then
  ! timeout 30 nbdinfo --can write "$second_uri" ||
    fail "a later write on the fenced daemon failed without EIO on a writable export: $(cat "$BP_TMP/second-write.out")"
  log "the fenced daemon now exports the volume read-only"
fi

stop_pid "$second_pid" 30
restart_blockpipe
qio -c 'read -P 0x11 0 64k' -c 'read -P 0x33 64k 64k' -c 'read -P 0 128k 4k' "$(bp_uri_unix)" >/dev/null ||
  fail "after restart the volume does not hold exactly the owner's data"
log "second writer fenced on RGW; the owner's data intact"
