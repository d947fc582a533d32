# Kernel-filesystem helpers for the integration tests (sourced by common.sh). The machines have
# no NBD kernel module, so an export becomes a real block device in two steps: nbdfuse presents
# it as a file on FUSE, and a loop mount puts ext4/xfs/btrfs on that file. Both kinds of mount are
# recorded as they are made and undone by the EXIT trap in the right order (filesystem first, then
# FUSE) even when the test fails half way; a FUSE mount whose server died is lazily unmounted.

BP_FS_MOUNTS=()    # loop-mounted filesystem directories, innermost last
BP_FUSE_DIRS=()    # nbdfuse mount points
declare -A BP_FUSE_PID=()

# Skip loudly (77) when the kernel side is missing: FUSE, loop devices, or root for mount.
require_fuse_and_loop() {
  [[ $(id -u) == 0 ]] || skip "needs root to mount filesystems"
  [[ -c /dev/fuse ]] || skip "/dev/fuse is not available"
  [[ -e /dev/loop-control ]] || skip "loop devices are not available (/dev/loop-control missing)"
  losetup -f >/dev/null 2>&1 || skip "no free loop device (losetup -f failed)"
  require_cmd nbdfuse mount umount losetup
}

_fuse_file_ready() { [[ -s $1 ]] && [[ -e $2 ]]; }

# fuse_attach URI DIR: expose the export as DIR/disk.img through nbdfuse; sets FUSE_IMAGE to it.
# (Not to be called in $(...): the nbdfuse process must belong to the test's own shell.)
fuse_attach() {
  local uri=$1 dir=$2
  local pidfile=$BP_TMP/nbdfuse.$(basename "$dir").pid
  mkdir -p "$dir"
  rm -f "$pidfile"
  nbdfuse -P "$pidfile" "$dir/disk.img" "$uri" >>"$BP_TMP/nbdfuse.log" 2>&1 &
  local pid=$!
  BP_FUSE_DIRS+=("$dir")
  BP_FUSE_PID[$dir]=$pid
  if ! wait_until 30 "nbdfuse on $dir" _fuse_file_ready "$pidfile" "$dir/disk.img"; then
    fail "nbdfuse did not come up: $(tail -n 5 "$BP_TMP/nbdfuse.log")"
  fi
  FUSE_IMAGE=$dir/disk.img
}

_is_mounted() { findmnt -rn --mountpoint "$1" >/dev/null 2>&1; }

# fuse_detach DIR: unmount (nbdfuse flushes and exits), bounded wait for the process.
fuse_detach() {
  local dir=$1 pid=${BP_FUSE_PID[$1]:-}
  if _is_mounted "$dir"; then
    umount "$dir" 2>/dev/null || umount -l "$dir" || true
  fi
  if [[ -n $pid ]]; then
    wait_pid_gone "$pid" 30 || { log "nbdfuse $pid still running after unmount"; stop_pid "$pid" 5; }
    wait "$pid" 2>/dev/null || true
    unset "BP_FUSE_PID[$dir]"
  fi
  local kept=() d
  for d in "${BP_FUSE_DIRS[@]}"; do [[ $d == "$dir" ]] || kept+=("$d"); done
  BP_FUSE_DIRS=("${kept[@]}")
}

# fs_mount IMAGE DIR [MOUNT_OPTIONS]: loop-mount a filesystem image.
fs_mount() {
  local image=$1 dir=$2 opts=${3:-}
  mkdir -p "$dir"
  mount -o "loop${opts:+,$opts}" "$image" "$dir" || fail "mount -o loop $image $dir failed"
  BP_FS_MOUNTS+=("$dir")
}

# fs_umount DIR: unmount and release the loop device (umount frees an autoclear loop device).
fs_umount() {
  local dir=$1
  umount "$dir" || fail "umount $dir failed"
  local kept=() d
  for d in "${BP_FS_MOUNTS[@]}"; do [[ $d == "$dir" ]] || kept+=("$d"); done
  BP_FS_MOUNTS=("${kept[@]}")
}

mounts_cleanup() {
  local i d
  for ((i = ${#BP_FS_MOUNTS[@]} - 1; i >= 0; i--)); do
    d=${BP_FS_MOUNTS[i]}
    if _is_mounted "$d"; then
      umount "$d" 2>/dev/null || umount -l "$d" 2>/dev/null || log "could not unmount $d"
    fi
  done
  BP_FS_MOUNTS=()
  for d in "${BP_FUSE_DIRS[@]}"; do
    fuse_detach "$d"
  done
}
