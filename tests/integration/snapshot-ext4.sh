#!/usr/bin/env bash
# Snapshots of a mounted ext4 filesystem, with real kernel clients (nbdfuse + loop mounts): a
# snapshot taken after `sync` and `fsfreeze` reads back through the export VOLUME@NAME as a
# clean filesystem (e2fsck -fn) holding the old files while the live filesystem keeps changing;
# a clone of it mounts read-write as the same filesystem and diverges from the live one in both
# directions; a restore brings the old files back into the volume itself and leaves the clone
# as it was. Also run on S3 and Azure (s3.snapshot-ext4, azure.snapshot-ext4).
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe
require_fuse_and_loop
require_cmd mkfs.ext4 e2fsck sha256sum fsfreeze

live_fuse=$BP_TMP/fuse-live snap_fuse=$BP_TMP/fuse-snap clone_fuse=$BP_TMP/fuse-clone
live=$BP_TMP/live snap=$BP_TMP/snap clone=$BP_TMP/clone

fsck_clean() {
  local out rc=0
  out=$(e2fsck -fn "$1" 2>&1) || rc=$?
  ((rc == 0)) || fail "e2fsck -fn ($2) status $rc:
$(tail -n 30 <<<"$out")"
  log "e2fsck clean ($2)"
}

# write_tree DIR SEED COUNT: COUNT files of 4 KiB-1 MiB of seeded random bytes.
write_tree() {
  "$PY" - "$@" <<'PYEOF'
import os, random, sys
d, seed, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
os.makedirs(d, exist_ok=True)
for i in range(count):
    with open(os.path.join(d, f"f{i:04d}"), "wb") as f:
        f.write(rng.randbytes(rng.randint(4096, 1 << 20)))
PYEOF
}

sums_of() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }

start_blockpipe
fuse_attach "$(bp_uri_unix)" "$live_fuse"
mkfs.ext4 -F -q "$FUSE_IMAGE" || fail "mkfs.ext4 failed"
fs_mount "$FUSE_IMAGE" "$live"
write_tree "$live/a" 1 120 || fail "writing tree a"
sums_of "$live" >"$BP_TMP/old.sha256"

# Quiesce the filesystem for the snapshot, as an application-consistent backup does.
sync -f "$live"
fsfreeze -f "$live" || fail "fsfreeze -f"
snap_rc=0
"$BLOCKPIPE" snapshot create default before --config "$BP_CONFIG" >>"$BP_LOG" 2>&1 || snap_rc=$?
fsfreeze -u "$live" || fail "fsfreeze -u"
((snap_rc == 0)) || fail "snapshot create failed"

# The live filesystem changes: files deleted, overwritten, added.
rm -f "$live"/a/f00[0-4]*
write_tree "$live/a2" 2 80 || fail "writing tree a2"
for f in "$live"/a/f01[0-9]*; do head -c 65536 /dev/urandom >"$f"; done
sync -f "$live"

# The snapshot reads as the old filesystem, while the live one keeps being written.
write_tree "$live/busy" 3 60 &
writer=$!
register_pid "$writer"
fuse_attach "$(bp_uri_unix default@before)" "$snap_fuse"
fsck_clean "$FUSE_IMAGE" "snapshot, live volume being written"
fs_mount "$FUSE_IMAGE" "$snap" ro,noload
(cd "$snap" && sha256sum --quiet -c "$BP_TMP/old.sha256") >"$BP_TMP/check.out" 2>&1 ||
  fail "the snapshot's files differ from the old ones: $(head -n 5 "$BP_TMP/check.out")"
[[ ! -e $snap/a2 ]] || fail "a file written after the snapshot shows in it"
wait "$writer" || fail "the live writer failed"
fs_umount "$snap"
fuse_detach "$snap_fuse"
log "snapshot reads as taken"

# A clone of the snapshot is the same filesystem, writable, and diverges.
"$BLOCKPIPE" volume clone default@before fork --config "$BP_CONFIG" >>"$BP_LOG" 2>&1 ||
  fail "volume clone failed"
fuse_attach "$(bp_uri_unix fork)" "$clone_fuse"
fsck_clean "$FUSE_IMAGE" "clone"
fs_mount "$FUSE_IMAGE" "$clone"
(cd "$clone" && sha256sum --quiet -c "$BP_TMP/old.sha256") >"$BP_TMP/check.out" 2>&1 ||
  fail "the clone's files differ from the snapshot's: $(head -n 5 "$BP_TMP/check.out")"
write_tree "$clone/only-in-clone" 4 20 || fail "writing in the clone"
sync -f "$clone"
[[ ! -e $live/only-in-clone ]] || fail "a clone write shows in the live filesystem"
[[ ! -e $clone/a2 ]] || fail "a live write shows in the clone"
fs_umount "$clone"
fsck_clean "$FUSE_IMAGE" "clone after its own writes"
fuse_detach "$clone_fuse"

# Restore the volume itself (no client connected), then the old files are back.
fs_umount "$live"
fuse_detach "$live_fuse"
"$BLOCKPIPE" snapshot restore default before --config "$BP_CONFIG" >>"$BP_LOG" 2>&1 ||
  fail "snapshot restore failed"
fuse_attach "$(bp_uri_unix)" "$live_fuse"
fsck_clean "$FUSE_IMAGE" "restored volume"
fs_mount "$FUSE_IMAGE" "$live"
(cd "$live" && sha256sum --quiet -c "$BP_TMP/old.sha256") >"$BP_TMP/check.out" 2>&1 ||
  fail "the restored files differ: $(head -n 5 "$BP_TMP/check.out")"
[[ ! -e $live/a2 ]] || fail "the restore kept a file written after the snapshot"
[[ ! -e $live/only-in-clone ]] || fail "the restore brought back a file only the clone has"
fs_umount "$live"
fuse_detach "$live_fuse"

# The clone is a volume of its own: the parent's restore left its files alone.
fuse_attach "$(bp_uri_unix fork)" "$clone_fuse"
fsck_clean "$FUSE_IMAGE" "clone after the parent's restore"
fs_mount "$FUSE_IMAGE" "$clone" ro,noload
[[ -d $clone/only-in-clone ]] || fail "the clone lost its own files when its parent was restored"
(cd "$clone" && sha256sum --quiet -c "$BP_TMP/old.sha256") >"$BP_TMP/check.out" 2>&1 ||
  fail "the clone's snapshot files changed: $(head -n 5 "$BP_TMP/check.out")"
fs_umount "$clone"
fuse_detach "$clone_fuse"
log "ext4: snapshot, clone and restore behave"
