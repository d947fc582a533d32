#!/usr/bin/env bash
# A real kernel filesystem on a volume, end to end: nbdfuse exposes the export as a file, mkfs.ext4
# (which discards the whole device first) and a loop mount put ext4 on it, and a tree of thousands
# of files (/usr/share/doc) is copied in with its sha256 sums recorded. After umount, e2fsck -fn
# must find the filesystem clean; then the daemon is stopped and restarted, the volume is attached
# and mounted again, fsck'd again, and every file's checksum must match.
source "$(dirname "$0")/../lib/common.sh"
require_fuse_and_loop
require_cmd mkfs.ext4 e2fsck sha256sum

readonly TREE=${BP_EXT4_TREE:-/usr/share/doc}
readonly MIN_FILES=1000
fuse_dir=$BP_TMP/fuse
fs_dir=$BP_TMP/fs
sums=$BP_TMP/tree.sha256

files=$(find "$TREE" -type f | wc -l)
((files >= MIN_FILES)) || fail "$TREE has only $files files; the test needs at least $MIN_FILES"
(cd "$TREE" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$sums" ||
  fail "could not checksum $TREE"

fsck_clean() {
  local out rc=0
  out=$(e2fsck -fn "$FUSE_IMAGE" 2>&1) || rc=$?
  ((rc == 0)) || fail "e2fsck -fn ($1) status $rc:
$(tail -n 30 <<<"$out")"
  log "e2fsck clean ($1)"
}

start_blockpipe
fuse_attach "$(bp_uri_unix)" "$fuse_dir"
mkfs.ext4 -F -q "$FUSE_IMAGE" || fail "mkfs.ext4 failed"
fs_mount "$FUSE_IMAGE" "$fs_dir"
log "copying $files files ($(du -sh "$TREE" | cut -f1)) from $TREE"
cp -a "$TREE" "$fs_dir/tree" || fail "copying $TREE failed"
sync -f "$fs_dir"
fs_umount "$fs_dir"
fsck_clean "after the copy"
fuse_detach "$fuse_dir"

restart_blockpipe
fuse_attach "$(bp_uri_unix)" "$fuse_dir"
fsck_clean "after restart"
fs_mount "$FUSE_IMAGE" "$fs_dir" ro
(cd "$fs_dir/tree" && sha256sum --quiet -c "$sums") >"$BP_TMP/check.out" 2>&1 ||
  fail "checksums differ after restart:
$(head -n 20 "$BP_TMP/check.out")"
copied=$(find "$fs_dir/tree" -type f | wc -l)
((copied == files)) || fail "$copied files after restart, expected $files"
log "all $files files match after restart"
fs_umount "$fs_dir"
fuse_detach "$fuse_dir"
