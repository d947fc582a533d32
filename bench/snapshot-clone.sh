#!/usr/bin/env bash
# Benchmark (not a test) of issue 16's snapshot claims: `snapshot create` and `volume clone` each
# take under a second, whatever the volume holds — on a volume with 1 GiB written and on one
# with 8 GiB written. On the file backend (objects on disk under --objects-dir) or on S3 (a
# private Ceph RGW with a memstore OSD on 127.0.0.1, started here and stopped by PID on exit;
# MEMSTORE_BYTES, default 10 GiB here, must hold the largest volume). Each volume is filled with
# random data (sequential, 1 MiB writes) and then fragmented with scattered 4 KiB random writes
# (so its map and checkpoints are not trivially small); the volume keeps the default engine
# settings. Times are wall-clock times of the CLI commands (process start, control socket, the
# daemon's flush and record write), the median of --repeat runs; `snapshot list` (which rebuilds
# every snapshot's map to count its exclusive bytes, so it grows with the map) is shown for
# contrast. Each volume and its clones are deleted before the next size is filled.
#
# usage: bench/snapshot-clone.sh [--backend file|s3] [--fill random|compressible] [--repeat N]
#                                [--objects-dir DIR] [--sizes "1 8"] [--scattered N]
# --fill compressible stores about an eighth of the bytes (see fill_data) for the same map and
# segments: what lets the 8 GiB volume fit a memstore OSD on a small machine.
source "$(dirname "$0")/../tests/lib/common.sh"
source "$(dirname "$0")/lib.sh"
require_cmd nbdcopy

backend=file repeat=5 objects_parent=/var/tmp sizes="1 8" scattered=20000 fill=random
while (($#)); do
  case $1 in
    --backend) backend=$2; shift 2 ;;
    --fill) fill=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --objects-dir) objects_parent=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --scattered) scattered=$2; shift 2 ;;
    *) fail "unknown argument $1" ;;
  esac
done

[[ $backend == file || $backend == s3 ]] || fail "--backend takes file or s3"
[[ $fill == random || $fill == compressible ]] || fail "--fill takes random or compressible"
# fill_data GIB: the bytes a volume is filled with. compressible: every 4 KiB block holds 512
# random bytes and zeros, so lz4 stores about an eighth of it while the map, the segments and
# the checkpoints are those of random data (segments are cut by logical size).
fill_data() {
  if [[ $fill == random ]]; then
    head -c "$(($1 << 30))" /dev/urandom
    return
  fi
  "$PY" -c '
import os, sys
out = sys.stdout.buffer
pad = bytes(4096 - 512)
for _ in range(int(sys.argv[1]) * 1024):
    out.write(b"".join(os.urandom(512) + pad for _ in range(256)))' "$1"
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
BP_TEST_BACKEND=$backend
RGW_STATE=
if [[ $backend == s3 ]]; then
  bench_private_servers bpsnap
  MEMSTORE_BYTES=${MEMSTORE_BYTES:-10737418240} bench_start_rgw "$shm/rgw-start.log" 3h
  start_blockpipe
else
  objects=$(mktemp -d "$objects_parent/bp-bench.XXXXXX")
  register_path "$objects"
  edit() { sed -i -e "s|^url = .*|url = \"file://$objects\"|" "$1"; }
  start_blockpipe edit
fi
# object_sizes VOLUME KIND: the sizes of the volume's seg or ckpt objects, one a line.
object_sizes() {
  if [[ $backend == s3 ]]; then
    s3_admin list "$BP_REMOTE_BUCKET" "$BP_REMOTE_PREFIX/volumes/$1/$2/" | cut -d' ' -f1
  else
    find "$objects/volumes/$1/$2" -type f -printf '%s\n'
  fi
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }
timed() {  # seconds one command takes
  local t0 t1
  t0=$(now)
  "$@" >/dev/null || fail "$* failed"
  t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f\n", b - a}'
}

printf '%-8s %10s %10s %12s %12s %12s\n' "WRITTEN" "SEGMENTS" "CKPT" "SNAP_CREATE" "CLONE" "SNAP_LIST"
for gib in $sizes; do
  vol=v${gib}g
  bp_volume create "$vol" --size "$((gib + 1))GiB" >/dev/null
  fill_data "$gib" | nbdcopy - "$(bp_uri_unix "$vol")" || fail "filling $vol failed"
  "$PY" - "$(bp_uri_unix "$vol")" "$scattered" <<'PYEOF'
import random, sys, nbd
h = nbd.NBD(); h.connect_uri(sys.argv[1])
blocks, n = h.get_size() // 4096, int(sys.argv[2])
rng = random.Random(16)
buf = nbd.Buffer.from_bytearray(bytearray(rng.randbytes(4096)))
inflight = 0
for i in range(n):
    while h.aio_in_flight() >= 32:
        h.poll(-1)
    h.aio_pwrite(buf, rng.randrange(blocks) * 4096)
while h.aio_in_flight() > 0:
    h.poll(-1)
h.flush(); h.shutdown()
PYEOF
  [[ $? == 0 ]] || fail "scattered writes to $vol failed"
  "$BLOCKPIPE" flush --config "$BP_CONFIG" >/dev/null
  segments=$(object_sizes "$vol" seg | wc -l)
  ckpt=$(object_sizes "$vol" ckpt | sort -n | tail -1)
  creates=() clones=() lists=()
  for ((i = 1; i <= repeat; i++)); do
    # A few more writes first, so every snapshot has something to flush.
    "$PY" -c 'import sys, nbd; h = nbd.NBD(); h.connect_uri(sys.argv[1]); h.pwrite(b"x" * 65536, int(sys.argv[2]) * 65536); h.shutdown()' \
      "$(bp_uri_unix "$vol")" "$i"
    creates+=("$(timed "$BLOCKPIPE" snapshot create "$vol" "s$i" --config "$BP_CONFIG")")
    clones+=("$(timed "$BLOCKPIPE" volume clone "$vol@s$i" "${vol}c$i" --config "$BP_CONFIG")")
  done
  lists+=("$(timed "$BLOCKPIPE" snapshot list "$vol" --config "$BP_CONFIG")")
  printf '%-8s %10s %10s %12s %12s %12s\n' "${gib}GiB" "$segments" "$(numfmt --to=iec "$ckpt")" \
    "$(printf '%s\n' "${creates[@]}" | median)s" "$(printf '%s\n' "${clones[@]}" | median)s" \
    "${lists[0]}s"
  # Room for the next size (RGW keeps objects in RAM): the clones first, then the volume.
  for ((i = 1; i <= repeat; i++)); do
    bp_volume delete "${vol}c$i" >/dev/null || fail "deleting clone ${vol}c$i failed"
  done
  bp_volume delete "$vol" >/dev/null || fail "deleting $vol failed"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
