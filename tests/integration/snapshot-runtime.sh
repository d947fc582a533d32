#!/usr/bin/env bash
# Snapshots, clones, restore and resize at runtime through the control socket, checked with real
# NBD clients: a snapshot taken while a client writes covers every acknowledged write and its
# export VOLUME@NAME reads exactly that content, read-only, while the volume keeps changing; a
# clone starts with the snapshot's content and diverges from its parent in both directions; a
# restore (refused while a client is connected) brings the snapshot's content back and keeps
# every snapshot, newer ones included; resize grows at once for new connections and refuses to
# shrink over data without --force. Everything survives a restart, deleting the parent keeps
# the clone readable, and fsck is clean at the end.
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe
require_cmd nbdinfo

bp_snapshot() { "$BLOCKPIPE" snapshot "$@" --config "$BP_CONFIG"; }

# expect_refused DESCRIPTION PATTERN CMD...
expect_refused() {
  local what=$1 pattern=$2 out rc=0
  shift 2
  out=$("$@" 2>&1) || rc=$?
  ((rc != 0)) || fail "$what: succeeded, expected a refusal. Output: $out"
  ((rc < 128)) || fail "$what: died with signal $((rc - 128)). Output: $out"
  grep -qiE "$pattern" <<<"$out" || fail "$what: message does not match /$pattern/: $out"
  kill -0 "$BP_PID" 2>/dev/null || fail "$what: the daemon died"
  log "refused as expected ($what)"
}

# nbd_io URI OP...: run pattern writes/checks through libnbd. Ops: w:OFF:BYTE:LEN writes,
# c:OFF:BYTE:LEN checks (exits 1 on a mismatch), ro checks the export refuses writes,
# size:N checks the export's size, flush.
nbd_io() {
  "$PY" - "$@" <<'PYEOF'
import sys
import nbd
uri, ops = sys.argv[1], sys.argv[2:]
h = nbd.NBD()
h.connect_uri(uri)
for op in ops:
    kind, _, rest = op.partition(":")
    if kind == "w":
        off, byte, n = (int(x, 0) for x in rest.split(":"))
        h.pwrite(bytes([byte]) * n, off)
    elif kind == "c":
        off, byte, n = (int(x, 0) for x in rest.split(":"))
        got = h.pread(n, off)
        if got != bytes([byte]) * n:
            sys.exit(f"{uri}: {n} bytes at {off} are not 0x{byte:02x} (first byte 0x{got[0]:02x})")
    elif kind == "ro":
        if not h.is_read_only():
            sys.exit(f"{uri}: export is writable")
        try:
            h.pwrite(b"x" * 4096, 0)
            sys.exit(f"{uri}: a write to a read-only export succeeded")
        except nbd.Error:
            pass
    elif kind == "size":
        if h.get_size() != int(rest):
            sys.exit(f"{uri}: size {h.get_size()}, expected {rest}")
    elif kind == "flush":
        h.flush()
h.shutdown()
PYEOF
}

start_blockpipe
bp_volume create data --size 64MiB || fail "volume create failed"
MiB=$((1 << 20))

# Written and acknowledged (not flushed by the client): the snapshot's implied flush covers it.
nbd_io "$(bp_uri_unix data)" w:0:0x11:$MiB w:$((8 * MiB)):0x12:$MiB || fail "first writes"
bp_snapshot create data one || fail "snapshot create"
expect_refused "duplicate snapshot" "exists" bp_snapshot create data one
expect_refused "bad snapshot name" "name" bp_snapshot create data "../x"
expect_refused "unknown volume" "nosuch" bp_snapshot create nosuch one

# The volume changes; the snapshot does not.
nbd_io "$(bp_uri_unix data)" w:0:0x21:$MiB w:$((16 * MiB)):0x22:$MiB flush || fail "second writes"
nbd_io "$(bp_uri_unix data@one)" ro c:0:0x11:$MiB c:$((8 * MiB)):0x12:$MiB \
  c:$((16 * MiB)):0:$MiB size:$((64 * MiB)) || fail "snapshot one does not read as taken"
nbd_io "$(bp_uri_unix data)" c:0:0x21:$MiB c:$((16 * MiB)):0x22:$MiB || fail "live volume"
bp_snapshot create data two || fail "snapshot two"
nbd_io "$(bp_uri_unix data)" w:0:0x31:$MiB flush || fail "third writes"

listing=$(bp_snapshot list data --json)
"$PY" -c 'import json,sys; s=json.loads(sys.argv[1]); assert sorted(x["name"] for x in s)==["one","two"], s' \
  "$listing" || fail "snapshot list: $listing"
bp_snapshot list | grep -q "two" || fail "snapshot list (table) lacks two"

# Clone from the first snapshot; both sides diverge.
bp_volume clone data@one copy || fail "volume clone"
expect_refused "clone onto an existing name" "exists" bp_volume clone data@one copy
nbd_io "$(bp_uri_unix copy)" c:0:0x11:$MiB c:$((8 * MiB)):0x12:$MiB c:$((16 * MiB)):0:$MiB \
  w:0:0x41:$MiB flush || fail "clone does not start from the snapshot"
nbd_io "$(bp_uri_unix data)" c:0:0x31:$MiB || fail "a clone write showed in the parent"
nbd_io "$(bp_uri_unix copy)" c:0:0x41:$MiB c:$((8 * MiB)):0x12:$MiB || fail "clone after write"

# Restore: refused while connected; then the snapshot's content is back and both snapshots stay.
ready=$BP_TMP/holder.ready release=$BP_TMP/holder.release
"$PY" - "$(bp_uri_unix data)" "$ready" "$release" <<'PYEOF' &
import os, sys, time
import nbd
uri, ready, release = sys.argv[1:4]
h = nbd.NBD()
h.connect_uri(uri)
open(ready, "w").close()
deadline = time.monotonic() + 120
while not os.path.exists(release) and time.monotonic() < deadline:
    time.sleep(0.05)
h.shutdown()
PYEOF
holder=$!
register_pid "$holder"
wait_until 30 "the holder to connect" test -e "$ready" || fail "holder never connected"
expect_refused "restore while connected" "connection" bp_snapshot restore data one
touch "$release"
wait "$holder" || fail "holder failed"
bp_snapshot restore data one || fail "restore"
nbd_io "$(bp_uri_unix data)" c:0:0x11:$MiB c:$((8 * MiB)):0x12:$MiB c:$((16 * MiB)):0:$MiB ||
  fail "restore did not bring snapshot one back"
nbd_io "$(bp_uri_unix data@two)" c:0:0x21:$MiB c:$((16 * MiB)):0x22:$MiB ||
  fail "snapshot two changed by the restore"
nbd_io "$(bp_uri_unix data)" w:$((32 * MiB)):0x51:$MiB flush || fail "write after restore"

# Resize: grow at once; shrinking over data is refused without --force.
"$BLOCKPIPE" volume resize data --size 128MiB --config "$BP_CONFIG" || fail "grow"
nbd_io "$(bp_uri_unix data)" size:$((128 * MiB)) w:$((100 * MiB)):0x61:$MiB flush || fail "grown"
expect_refused "shrink over data" "force" "$BLOCKPIPE" volume resize data --size 64MiB --config "$BP_CONFIG"
"$BLOCKPIPE" volume resize data --size 96MiB --force --config "$BP_CONFIG" || fail "forced shrink"
nbd_io "$(bp_uri_unix data)" size:$((96 * MiB)) c:$((32 * MiB)):0x51:$MiB || fail "after shrink"

# Everything survives a restart.
restart_blockpipe
nbd_io "$(bp_uri_unix data)" size:$((96 * MiB)) c:0:0x11:$MiB c:$((32 * MiB)):0x51:$MiB ||
  fail "volume after restart"
nbd_io "$(bp_uri_unix data@one)" c:0:0x11:$MiB c:$((16 * MiB)):0:$MiB || fail "one after restart"
nbd_io "$(bp_uri_unix data@two)" c:0:0x21:$MiB || fail "two after restart"
nbd_io "$(bp_uri_unix copy)" c:0:0x41:$MiB c:$((8 * MiB)):0x12:$MiB || fail "clone after restart"

run_fsck() {
  stop_blockpipe
  "$BLOCKPIPE" fsck --config "$BP_CONFIG" >"$BP_TMP/fsck.out" 2>&1 || {
    cat "$BP_TMP/fsck.out" >&2
    fail "fsck found problems ($1)"
  }
  bp_run
}
run_fsck "snapshots, a restore and a clone"

# `volume copy` carries the snapshots (not the clone references: the copy has no clones), and
# refuses to copy a clone, whose shared segments are another volume's.
if [[ ${BP_TEST_BACKEND:-file} == file ]]; then
  source "$BP_LIB_DIR/volume_copy.sh"
  stop_blockpipe
  new_store "$BP_TMP/dst"
  volume_copy data --config "$BP_CONFIG" --to-config "$BP_TMP/dst/blockpipe.toml" \
    --to-name moved >>"$BP_LOG" 2>&1 || fail "volume copy of a volume with snapshots failed"
  out=$(volume_copy copy --config "$BP_CONFIG" --to-config "$BP_TMP/dst/blockpipe.toml" 2>&1) &&
    fail "volume copy of a clone succeeded: $out"
  grep -qi "clone" <<<"$out" || fail "volume copy of a clone: unclear refusal: $out"
  [[ -z $(find "$BP_TMP/dst/objects" -path '*refs*' -type f) ]] || fail "clone references copied"
  start_store "$BP_TMP/dst"
  nbd_io "nbd+unix:///moved@two?socket=$BP_TMP/dst/nbd.sock" c:0:0x21:$MiB ||
    fail "snapshot two did not travel with the copy"
  nbd_io "nbd+unix:///moved?socket=$BP_TMP/dst/nbd.sock" c:0:0x11:$MiB c:$((32 * MiB)):0x51:$MiB ||
    fail "the copied volume"
  stop_store
  bp_run
fi

# Deleting the snapshot and then the parent keeps the clone whole.
bp_snapshot delete data one || fail "snapshot delete"
expect_refused "deleted snapshot export" "one|export" nbd_io "$(bp_uri_unix data@one)" c:0:0x11:4096
bp_volume delete data || fail "parent delete"
nbd_io "$(bp_uri_unix copy)" c:0:0x41:$MiB c:$((8 * MiB)):0x12:$MiB || fail "clone after parent delete"
expect_refused "reuse of the parent's name" "clone" bp_volume create data --size 64MiB
restart_blockpipe
nbd_io "$(bp_uri_unix copy)" c:0:0x41:$MiB c:$((8 * MiB)):0x12:$MiB || fail "clone after restart 2"
run_fsck "a clone of a deleted parent"
bp_volume delete copy || fail "clone delete"
leftover=$(find "$BP_DIR" -path '*volumes/data*' -type f | head -5)
[[ -z $leftover ]] || fail "the deleted parent's shared objects outlived its last clone: $leftover"
log "snapshots, clones, restore and resize behave"
