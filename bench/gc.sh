#!/usr/bin/env bash
# Benchmark (not a test) of garbage collection on the file backend (objects on the root disk):
#  1. space after scattered overwrites: a 1 GiB volume, 4 GiB of incompressible 4 KiB random
#     writes (fio, nbd engine, queue depth 32, --refill_buffers), FLUSH, 60 s idle; STORED
#     (what `volume list` reports, checked against the objects' sizes on disk) against LIVE.
#     Target: stored ≤ 1.3× live.
#  2. ext4 through nbdfuse on a 1 GiB volume: 1,024 pairs of 128 KiB files written
#     alternately, one of each pair deleted, fstrim; then stored against live every 5 s for
#     60 s. Target: stored ≤ 1.2× live within 60 s.
#  3. client 4 KiB random-write IOPS (fio, qd32, 30 s) on a volume already holding 2 GiB of
#     overwrites, with [gc] enabled = false and with GC at its defaults; the bytes GC rewrote
#     during the second run and its write amplification. Target: ≥ 0.7× without GC.
# Results go to stdout as lines `RESULT key value`.
#
# usage: bench/gc.sh [--only space|ext4|iops] [--seconds S]
source "$(dirname "$0")/../tests/lib/common.sh"
require_cmd fio

only="" seconds=30
while (($#)); do
  case $1 in
    --only) only=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    *) fail "unknown argument $1" ;;
  esac
done

vol() {  # vol FIELD [VOLUME]: one figure of `volume list --json` (gc.X for the gc block)
  "$BLOCKPIPE" volume list --json --config "$BP_CONFIG" | "$PY" -c '
import json, sys
v = [x for x in json.load(sys.stdin) if x["name"] == sys.argv[2]][0]
f = sys.argv[1]
print(v["gc"][f[3:]] if f.startswith("gc.") else v[f])' "$1" "${2:-default}"
}
on_disk() { find "$BP_DIR/objects/volumes/${1:-default}" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
fio_randwrite() {  # fio_randwrite NAME EXTRA...: 4 KiB random writes at qd32 to the default volume
  local name=$1
  shift
  fio --name="$name" --ioengine=nbd --uri="$(bp_uri_unix)" --rw=randwrite --bs=4k --iodepth=32 \
    --size=1g --refill_buffers --norandommap --randrepeat=0 --output-format=json \
    --output="$BP_TMP/$name.json" "$@" >/dev/null || fail "fio $name failed"
  "$PY" -c 'import json, sys; print(round(json.load(open(sys.argv[1]))["jobs"][0]["write"]["iops"]))' \
    "$BP_TMP/$name.json"
}
gc_off() { bp_config_append $'[gc]\nenabled = false'; }

space() {
  start_blockpipe
  local t0=$SECONDS
  fio_randwrite overwrite --io_size=4g >/dev/null
  log "4 GiB of 4 KiB random writes in $((SECONDS - t0)) s"
  "$BLOCKPIPE" flush --config "$BP_CONFIG" >/dev/null
  log "after the writes: stored $(vol stored_bytes), live $(vol live_bytes), rewritten $(vol gc.rewritten_bytes)"
  sleep 60
  local stored live disk
  stored=$(vol stored_bytes) live=$(vol live_bytes) disk=$(on_disk)
  echo "RESULT space.stored $stored"
  echo "RESULT space.on_disk $disk"
  echo "RESULT space.live $live"
  echo "RESULT space.ratio $(ratio "$stored" "$live")"
  echo "RESULT space.gc_rewritten $(vol gc.rewritten_bytes)"
  echo "RESULT space.write_amplification $(vol gc.write_amplification)"
  stop_blockpipe
}

ext4() {
  require_cmd nbdfuse
  start_blockpipe
  local mnt=$BP_TMP/fuse fs=$BP_TMP/fs i stored live
  mkdir -p "$mnt" "$fs"
  nbdfuse -P "$BP_TMP/fuse.pid" "$mnt/disk.img" "$(bp_uri_unix)" &
  wait_until 20 "nbdfuse" test -s "$BP_TMP/fuse.pid" || fail "nbdfuse did not start"
  mkfs.ext4 -F -q -E nodiscard "$mnt/disk.img"
  mount -o loop "$mnt/disk.img" "$fs"
  head -c $((2048 * 128 * 1024)) /dev/urandom >"$BP_TMP/src"
  for ((i = 0; i < 1024; i++)); do  # a and b alternate, so their blocks interleave on disk
    dd if="$BP_TMP/src" of="$fs/a$i" bs=128k skip=$((2 * i)) count=1 status=none
    dd if="$BP_TMP/src" of="$fs/b$i" bs=128k skip=$((2 * i + 1)) count=1 status=none
  done
  sync -f "$fs"
  rm -f "$fs"/b*
  sync -f "$fs"
  fstrim "$fs"
  sync -f "$fs"
  umount "$fs"
  "$BLOCKPIPE" flush --config "$BP_CONFIG" >/dev/null
  log "after fstrim: stored $(vol stored_bytes), live $(vol live_bytes)"
  local t0=$SECONDS reached=""
  for ((i = 0; i <= 12; i++)); do
    stored=$(vol stored_bytes) live=$(vol live_bytes)
    echo "RESULT ext4.t$((SECONDS - t0)) $(ratio "$stored" "$live")"
    if [[ -z $reached ]] && ((stored * 10 <= live * 12)); then reached=$((SECONDS - t0)); fi
    ((i < 12)) && sleep 5
  done
  echo "RESULT ext4.stored $stored"
  echo "RESULT ext4.live $live"
  echo "RESULT ext4.ratio $(ratio "$stored" "$live")"
  echo "RESULT ext4.seconds_to_1.2x ${reached:-never}"
  echo "RESULT ext4.write_amplification $(vol gc.write_amplification)"
  umount "$mnt" || true
  stop_blockpipe
}

iops() {
  local mode edit
  for mode in off on; do
    edit=""
    [[ $mode == off ]] && edit=gc_off
    start_blockpipe $edit
    fio_randwrite prefill --io_size=2g >/dev/null
    local before
    before=$(vol gc.rewritten_bytes)
    echo "RESULT iops.gc_$mode $(fio_randwrite "measure-$mode" --time_based --runtime="$seconds")"
    echo "RESULT iops.gc_${mode}_rewritten $(($(vol gc.rewritten_bytes) - before))"
    echo "RESULT iops.gc_${mode}_write_amplification $(vol gc.write_amplification)"
    echo "RESULT iops.gc_${mode}_ratio $(ratio "$(vol stored_bytes)" "$(vol live_bytes)")"
    stop_blockpipe
    rm -rf "$BP_DIR"
  done
}

[[ -z $only || $only == space ]] && { space; rm -rf "$BP_DIR"; }
[[ -z $only || $only == ext4 ]] && { ext4; rm -rf "$BP_DIR"; }
[[ -z $only || $only == iops ]] && iops
log "done"
