#!/usr/bin/env bash
# The local journal on a disk that fills up ([engine] durability = "local", [journal] dir on a
# 32 MiB loop-mounted ext4). While the segment directory in the store is made immutable
# (chattr +i: every upload fails, and the daemon keeps the data in memory and retries), each
# FLUSH puts its writes into the journal until the journal's disk is full. From then on FLUSH
# must fail with EIO, promptly, and nothing acknowledged may be lost: every write still reads
# back from the daemon. When the store takes uploads again the journal drains, space returns,
# and FLUSH succeeds again without a restart. Finally, with uploads held back once more, flushed
# writes that only the journal holds survive kill -9 and a restart that replays them; fsck is
# clean.
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe
[[ $(id -u) == 0 ]] || skip "needs root to loop-mount the journal's file system"
[[ -e /dev/loop-control ]] || skip "loop devices are not available (/dev/loop-control missing)"
losetup -f >/dev/null 2>&1 || skip "no free loop device (losetup -f failed)"
require_cmd mkfs.ext4 chattr mount umount

readonly CHUNKS="$PY $BP_LIB_DIR/flushed_chunks.py"
state=$BP_TMP/chunks.json
jfs=$BP_TMP/jfs
segdir=

# The EXIT trap of common.sh removes BP_TMP: the immutable flag must go first, and the daemon
# must be gone before the journal's file system is unmounted.
cleanup_with_unfreeze() {
  local rc=$?
  set +e
  [[ -n $segdir ]] && chattr -i "$segdir" 2>/dev/null
  bp_cleanup_servers
  (exit "$rc")
  bp_cleanup
}
trap cleanup_with_unfreeze EXIT

truncate -s 32M "$BP_TMP/jfs.img"
mkfs.ext4 -q -F "$BP_TMP/jfs.img" || fail "mkfs.ext4 failed"
fs_mount "$BP_TMP/jfs.img" "$jfs"

bp_init
bp_config_sed 's/^durability = "store"/durability = "local"/'
bp_config_append "[journal]
dir = \"$jfs/journal\""
bp_run

# journal_backlog: the segments the journal holds (from `blockpipe stats`).
journal_backlog() {
  "$BLOCKPIPE" stats --config "$BP_CONFIG" 2>/dev/null |
    sed -n 's/^local journal .*: \([0-9]*\) segment(s), .*/\1/p'
}
# journal_backlog_bytes: the bytes of those segments and deltas.
journal_backlog_bytes() {
  "$BLOCKPIPE" stats --config "$BP_CONFIG" 2>/dev/null |
    sed -n 's/^local journal .*segment(s), \([0-9]*\) bytes .*/\1/p'
}
backlog_is_zero() { [[ $(journal_backlog) == 0 ]]; }
hold_uploads() { chattr +i "$segdir" || fail "chattr +i $segdir failed"; }
release_uploads() { chattr -i "$segdir" || fail "chattr -i $segdir failed"; }
chunks() { timeout 300 $CHUNKS "$@" || fail "flushed_chunks.py $* failed"; }

# 1. Uploads flow: flushes succeed and the journal drains.
chunks write "$(bp_uri_unix)" "$state" 0 4 >"$BP_TMP/phase1.out"
segdir=$BP_DIR/objects/volumes/default/seg
[[ -d $segdir ]] || fail "no segment directory at $segdir after flushed writes"
wait_until 60 "the journal to drain" backlog_is_zero || fail "journal backlog stays $(journal_backlog)"
log "uploads flowing: $(cat "$BP_TMP/phase1.out")"

# 2. Uploads held back: the journal fills its disk, then FLUSH fails with EIO.
hold_uploads
chunks write "$(bp_uri_unix)" "$state" 4 80 3 >"$BP_TMP/phase2.out"
log "uploads held back: $(cat "$BP_TMP/phase2.out")"
grep -q ' 3 FLUSH(es) failed with EIO' "$BP_TMP/phase2.out" ||
  fail "the journal's disk never filled up: $(cat "$BP_TMP/phase2.out")"
grep -q ': 0 flushed' "$BP_TMP/phase2.out" && fail "no FLUSH succeeded while the journal had room"
[[ $(journal_backlog) -gt 0 ]] || fail "the journal holds nothing while uploads are held back"
grep -q 'committing .* to the local journal failed' "$BP_LOG" || fail "the daemon did not log the journal failure"
log "free space on the journal's disk: $(df --output=avail -k "$jfs" | tail -n 1 | tr -d ' ') KiB"
chunks verify "$(bp_uri_unix)" "$state" all >"$BP_TMP/verify2.out"
log "while the disk is full: $(cat "$BP_TMP/verify2.out")"

# 3. Uploads flow again: the backlog uploads, the journal drains, FLUSH succeeds again. (A
# FLUSH is the daemon's cue to retry a failed upload at once instead of after its backoff.)
release_uploads
"$BLOCKPIPE" flush --config "$BP_CONFIG" >>"$BP_LOG" 2>&1 || true
wait_until 120 "the journal to drain after uploads resumed" backlog_is_zero ||
  fail "journal backlog stays $(journal_backlog) after uploads resumed"
chunks write "$(bp_uri_unix)" "$state" 100 6 >"$BP_TMP/phase3.out"
grep -q ': 6 flushed, 0 FLUSH' "$BP_TMP/phase3.out" ||
  fail "FLUSH still fails after space came back: $(cat "$BP_TMP/phase3.out")"
log "space came back: $(cat "$BP_TMP/phase3.out")"

# 4. Flushed writes that only the journal holds survive kill -9; the restart replays them.
hold_uploads
chunks write "$(bp_uri_unix)" "$state" 110 4 >"$BP_TMP/phase4.out"
grep -q ': 4 flushed, 0 FLUSH' "$BP_TMP/phase4.out" ||
  fail "FLUSH failed with an almost empty journal: $(cat "$BP_TMP/phase4.out")"
# Each chunk's FLUSH committed it to the journal (as a delta of the segment being filled, or
# whole), so the journal holds at least the 4 MiB written.
[[ $(journal_backlog_bytes) -ge $((4 << 20)) ]] ||
  fail "the journal holds $(journal_backlog_bytes) bytes, expected at least the 4 MiB flushed"
kill9_blockpipe
release_uploads
bp_run
grep -q 'uploaded [0-9]* segment(s) from the local journal' "$BP_LOG" ||
  fail "the restarted daemon did not replay its journal"
chunks verify "$(bp_uri_unix)" "$state" >"$BP_TMP/verify4.out"
log "after kill -9 and replay: $(cat "$BP_TMP/verify4.out")"
stop_blockpipe
"$BLOCKPIPE" fsck --config "$BP_CONFIG" >"$BP_TMP/fsck.out" 2>&1 ||
  fail "fsck: $(tail -n 5 "$BP_TMP/fsck.out")"
grep -q '^journal .*: clean' "$BP_TMP/fsck.out" || fail "fsck did not check the journal: $(cat "$BP_TMP/fsck.out")"
log "a full journal disk failed FLUSHes, lost nothing acknowledged, and recovered"
