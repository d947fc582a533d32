#!/usr/bin/env bash
# Benchmark (not a test) of issue 16's snapshot claims on the file backend: `snapshot create`
# and `volume clone` each take under a second, whatever the volume holds — on a volume with
# 1 GiB written and on one with 8 GiB written. Each volume is filled with random data
# (sequential, 1 MiB writes) and then fragmented with scattered 4 KiB random writes (so its map
# and checkpoints are not trivially small); the volume keeps the default engine settings.
# Times are wall-clock times of the CLI commands (process start, control socket, the daemon's
# flush and record write), the median of --repeat runs; `snapshot list` (which rebuilds every
# snapshot's map to count its exclusive bytes, so it grows with the map) is shown for contrast.
#
# usage: bench/snapshot-clone.sh [--repeat N] [--objects-dir DIR] [--sizes "1 8"]
source "$(dirname "$0")/../tests/lib/common.sh"
require_cmd nbdcopy

repeat=5 objects_parent=/var/tmp sizes="1 8" scattered=20000
while (($#)); do
  case $1 in
    --repeat) repeat=$2; shift 2 ;;
    --objects-dir) objects_parent=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --scattered) scattered=$2; shift 2 ;;
    *) fail "unknown argument $1" ;;
  esac
done

objects=$(mktemp -d "$objects_parent/bp-bench.XXXXXX")
register_path "$objects"
edit() { sed -i -e "s|^url = .*|url = \"file://$objects\"|" "$1"; }
start_blockpipe edit

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
  head -c "$((gib << 30))" /dev/urandom | nbdcopy - "$(bp_uri_unix "$vol")" ||
    fail "filling $vol failed"
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
  segments=$(find "$objects/volumes/$vol/seg" -type f | wc -l)
  ckpt=$(find "$objects/volumes/$vol/ckpt" -type f -printf '%s\n' | sort -n | tail -1)
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
done
log "objects in $objects ($(du -sh "$objects" | cut -f1))"
