#!/usr/bin/env bash
# Two daemons with different data dirs serve the same objects (a failover gone wrong). Segments
# are created with put-if-absent, so only one of them can write the volume: the first to upload
# wins, the other's write/flush fails with EIO and it turns read-only instead of corrupting the
# volume. The winner keeps writing, and after both stop a fresh daemon reads exactly the
# winner's data.
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe
require_cmd qemu-io

start_blockpipe
objects_url="file://$BP_DIR/objects"
first_uri=$(bp_uri_unix)

# The second daemon, by hand: its own data dir and sockets, the first one's objects.
second=$BP_TMP/second
"$BLOCKPIPE" init --data-dir "$second" --port "$(free_port)" --url "$objects_url" >/dev/null ||
  fail "init of the second data dir failed"
"$BLOCKPIPE" run --config "$second/blockpipe.toml" >"$BP_TMP/second.log" 2>&1 &
second_pid=$!
register_pid "$second_pid"
wait_until 30 "second daemon's socket" test -S "$second/nbd.sock" ||
  { cat "$BP_TMP/second.log"; fail "second daemon did not start"; }
second_uri="nbd+unix:///default?socket=$second/nbd.sock"

qio() { timeout 60 qemu-io -f raw -t writeback "$@"; }

qio -c 'write -P 0x11 0 64k' -c 'flush' "$first_uri" >/dev/null ||
  fail "the first daemon could not write and flush"
if qio -c 'write -P 0x22 0 64k' -c 'flush' "$second_uri" >"$BP_TMP/second-write.out" 2>&1; then
  fail "the second daemon flushed a write over a volume the first one owns"
fi
grep -q "another writer owns this volume" "$BP_TMP/second.log" ||
  { cat "$BP_TMP/second.log"; fail "the second daemon did not log that it was fenced"; }

# The winner is unaffected: it keeps writing and flushing.
qio -c 'write -P 0x33 64k 64k' -c 'flush' "$first_uri" >/dev/null ||
  fail "the first daemon could not write after the second was fenced"

stop_pid "$second_pid" 30
restart_blockpipe
qio -c 'read -P 0x11 0 64k' -c 'read -P 0x33 64k 64k' "$(bp_uri_unix)" >/dev/null ||
  fail "after restart the volume does not hold exactly the winner's data"
log "second writer fenced; the owner's data intact"
