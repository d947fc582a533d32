#!/usr/bin/env bash
# Benchmark (not a test) of the local tier's targets, in one run: what a volume on an object
# store does against the same volume on the file backend, and against what the store itself
# takes from a plain client. bench/remote.sh measures request economy and raw engine throughput
# per backend; this script judges the targets of the journal, the disk cache and the read path.
#
#   raw store: a private Ceph RGW (memstore, 127.0.0.1, stopped by PID on exit) takes parallel
#     PUTs and then GETs of 4 MiB objects from bench/s3_raw.py (8 threads, its own SigV4 code,
#     nothing of blockpipe's S3 plugin).
#   per backend — file (objects on disk, in the temp data dir), s3 (that RGW), s3-delay (RGW
#     behind the `delay` filter, 20 ms per call) — one 2 GiB volume, cache_memory 256 MiB, a
#     4 GiB disk cache, each step on a daemon (re)started for it:
#     1. durable sequential write: fio 1 MiB writes at qd8 over the whole 2 GiB, then fsync
#        (durability "store": the FLUSH waits for the store); wall time including the FLUSH.
#     2. cold sequential read: restart with the disk cache off (memory cache empty), fio 1 MiB
#        reads at qd8 of the first 1 GiB.
#     3. random reads: restart with the disk cache on; one warm pass (1 MiB sequential reads of
#        the 2 GiB), then 4 KiB random reads at qd32 over the 2 GiB for RUNTIME seconds; the
#        daemon's RSS then and after 3 s idle, the disk cache's size on disk.
#     4. after a restart: 4 KiB random reads at qd32 for the first 15 s of a restarted daemon.
#     5. SQLite: restart with durability "local" (the journal); ext4 on the volume through
#        nbdfuse and a loop mount; bench/sqlite_commits.py (WAL, synchronous=FULL, one small
#        transaction after another) for RUNTIME seconds.
#   local: bench/run.sh with the file backend's default config (objects on disk, cache_memory
#     256 MiB) beside nbdkit memory and nbdkit's file plugin on the same disk, 1 MiB sequential
#     write and read at qd8.
#
# Prints a markdown table of every figure with its target and PASS/MISS (also OUT/table.md) and
# the load average before and after each step; keeps fio JSON, metrics and logs under OUT.
# Every step is bounded in time. Method and results: docs/benchmarks.md, "The local tier".
#
# usage: bench/remote-targets.sh [--backends "file s3 s3-delay"] [--runtime SECONDS]
#                                [--delay DURATION] [--no-local] [--out DIR]
#   --backends LIST   which backend rows (default: file s3 s3-delay)
#   --runtime SECONDS random-read and SQLite phases (default 20)
#   --delay DURATION  the delay filter's latency for s3-delay (default 20ms)
#   --no-local        skip the bench/run.sh comparison with nbdkit
#   --out DIR         results directory (default BUILD_DIR/bench-targets-<date>)
# Build first (Release): cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && ninja -C build
source "$(dirname "$0")/../tests/lib/common.sh"
source "$(dirname "$0")/lib.sh"

backends="file s3 s3-delay"
runtime=20
delay=20ms
local_cmp=1
out=$BUILD_DIR/bench-targets-$(date +%Y%m%d-%H%M%S)
while (($#)); do
  case $1 in
    --backends) backends=$2; shift 2 ;;
    --runtime) runtime=$2; shift 2 ;;
    --delay) delay=$2; shift 2 ;;
    --no-local) local_cmp=0; shift ;;
    --out) out=$2; shift 2 ;;
    -h | --help) sed -n '2,/^# Build first/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) fail "unknown argument '$1' (see --help)" ;;
  esac
done
[[ $runtime =~ ^[0-9]+$ ]] && ((runtime >= 5 && runtime <= 300)) || fail "--runtime takes 5 to 300 seconds"
[[ $delay =~ ^[0-9.]+(ns|us|ms|s)$ ]] || fail "--delay takes a duration such as 20ms"
read -r -a backend_list <<<"$backends"
((${#backend_list[@]})) || fail "--backends names no backend"
for b in "${backend_list[@]}"; do
  [[ $b == file || $b == s3 || $b == s3-delay ]] || fail "unknown backend '$b' (file, s3, s3-delay)"
done
[[ -x $BLOCKPIPE ]] || fail "blockpipe not built at $BLOCKPIPE (see --help)"
require_cmd fio nbdcopy nbdinfo nbdsh nbdfuse mkfs.ext4
require_fuse_and_loop

readonly VOLUME_GIB=2 RESTART_WINDOW=15
# Bounds of the steps: a step that takes longer is a failure, not a slow result.
readonly WRITE_TIMEOUT=900 READ_TIMEOUT=600 RAW_SECONDS=40

mkdir -p "$out"
out=$(cd "$out" && pwd)
bench_private_servers bptargets


rss_mib() { awk '/^VmRSS/ { printf "%d", $2 / 1024 }' "/proc/$BP_PID/status"; }
metrics_snapshot() {
  timeout 30 "$BLOCKPIPE" stats --prometheus --config "$BP_CONFIG" >"$1" 2>&1 || log "warning: stats failed"
}

# fio_run NAME TIMEOUT ARGS...: one fio job against $URI, JSON into $dir/NAME.json; writes the
# wall time (including any end_fsync) to $dir/NAME.wall.
fio_run() {
  local name=$1 limit=$2 t0
  shift 2
  t0=$EPOCHREALTIME
  timeout "$limit" fio --name="$name" --ioengine=nbd --uri="$URI" "$@" \
    --output-format=json --output="$dir/$name.json" >"$dir/$name.log" 2>&1 ||
    fail "fio $name failed or took over ${limit}s: $(tail -n 5 "$dir/$name.log")"
  "$PY" -c 'import sys; print(float(sys.argv[2]) - float(sys.argv[1]))' "$t0" "$EPOCHREALTIME" >"$dir/$name.wall"
}

set_disk_cache() { sed -i "/^\[disk_cache\]/,/^\[/s|^size = .*|size = \"$1\"|" "$BP_CONFIG"; }
set_durability() { sed -i "s|^durability = .*|durability = \"$1\"|" "$BP_CONFIG"; }

# A fresh data dir and store place for BACKEND: 2 GiB volume, 256 MiB memory cache, 4 GiB disk
# cache, durability "store"; s3-delay adds the delay filter in front of RGW.
start_session() {
  BP_TEST_BACKEND=${1%-delay}
  bp_init "$BP_TMP/data-$1"
  bp_config_sed "s|^size = \"1GiB\"|size = \"${VOLUME_GIB}GiB\"|"
  grep -q '^cache_memory = "256MiB"$' "$BP_CONFIG" || fail "init config has another cache_memory"
  grep -q '^durability = "store"$' "$BP_CONFIG" || fail "init config has no durability = \"store\""
  bp_config_append "$(printf '[disk_cache]\ndir = "%s"\nsize = "4GiB"' "$BP_DIR/cache")"
  [[ $1 == s3-delay ]] && bp_config_append "$(printf '[[filter]]\nplugin = "delay"\nlatency = "%s"' "$delay")"
  cp "$BP_CONFIG" "$dir/blockpipe.toml"
  bp_run
  URI=$(bp_uri_unix)
}

restart() {
  stop_blockpipe
  bp_run
}

backend_rows() {
  local b=$1
  dir=$out/$b
  mkdir -p "$dir"
  start_session "$b"

  note "$b: durable sequential write, 1 MiB qd8, ${VOLUME_GIB} GiB + FLUSH"
  fio_run seqwrite "$WRITE_TIMEOUT" --rw=write --bs=1m --iodepth=8 --size="${VOLUME_GIB}g" \
    --end_fsync=1 --runtime="$WRITE_TIMEOUT"
  metrics_snapshot "$dir/after-write.prom"

  note "$b: cold sequential read, 1 MiB qd8, 1 GiB, disk cache off"
  set_disk_cache 0
  restart
  metrics_snapshot "$dir/cold-before.prom"
  fio_run coldread "$READ_TIMEOUT" --rw=read --bs=1m --iodepth=8 --size=1g --runtime="$READ_TIMEOUT"
  metrics_snapshot "$dir/cold-after.prom"

  note "$b: warm pass over ${VOLUME_GIB} GiB, disk cache on"
  set_disk_cache 4GiB
  restart
  fio_run warmpass "$READ_TIMEOUT" --rw=read --bs=1m --iodepth=8 --size="${VOLUME_GIB}g" --runtime="$READ_TIMEOUT"
  note "$b: 4 KiB random reads qd32 over ${VOLUME_GIB} GiB, ${runtime}s"
  metrics_snapshot "$dir/rand-before.prom"
  fio_run randread "$((runtime + 120))" --rw=randread --bs=4k --iodepth=32 --size="${VOLUME_GIB}g" \
    --time_based=1 --runtime="$runtime" --ramp_time=2 --randseed=1234
  rss_mib >"$dir/rss-busy.txt"
  sleep 3
  rss_mib >"$dir/rss-idle.txt"
  metrics_snapshot "$dir/rand-after.prom"
  timeout 30 "$BLOCKPIPE" stats --config "$BP_CONFIG" >"$dir/stats-rand.txt" 2>&1 || true
  du -sb "$BP_DIR/cache" | cut -f1 >"$dir/disk-cache-bytes.txt"

  note "$b: 4 KiB random reads qd32, first ${RESTART_WINDOW}s after a restart"
  restart
  fio_run restartread "$((RESTART_WINDOW + 120))" --rw=randread --bs=4k --iodepth=32 \
    --size="${VOLUME_GIB}g" --time_based=1 --runtime="$RESTART_WINDOW" --randseed=99
  metrics_snapshot "$dir/restart-after.prom"

  note "$b: SQLite commits on ext4 on the volume, journal on, ${runtime}s"
  set_durability local
  restart
  fuse_attach "$URI" "$BP_TMP/fuse-$b"
  timeout 300 mkfs.ext4 -q -F -E nodiscard,lazy_itable_init=1,lazy_journal_init=1 "$FUSE_IMAGE" ||
    fail "mkfs.ext4 on $FUSE_IMAGE failed"
  fs_mount "$FUSE_IMAGE" "$BP_TMP/mnt-$b"
  metrics_snapshot "$dir/sqlite-before.prom"
  timeout $((runtime + 120)) "$PY" "$SOURCE_DIR/bench/sqlite_commits.py" "$BP_TMP/mnt-$b" "$runtime" \
    >"$dir/sqlite.json" 2>"$dir/sqlite.log" || fail "sqlite_commits on $b failed: $(tail -n 3 "$dir/sqlite.log")"
  metrics_snapshot "$dir/sqlite-after.prom"
  fs_umount "$BP_TMP/mnt-$b"
  fuse_detach "$BP_TMP/fuse-$b"
  timeout 30 "$BLOCKPIPE" stats --config "$BP_CONFIG" >"$dir/stats-end.txt" 2>&1 || true
  stop_blockpipe
}

echo "$(load)" >"$out/load-before.txt"
: >"$out/loads.txt"
if [[ " ${backend_list[*]} " == *" s3"* ]]; then
  bench_start_rgw "$out/servers.log" 2h
  use_rgw
  note "raw store: parallel PUT then GET of 4 MiB objects, 8 threads"
  raw_prefix=raw-$$-$RANDOM
  register_s3_prefix "$RGW_BUCKET" "$raw_prefix"
  timeout $((2 * RAW_SECONDS + 120)) "$PY" "$SOURCE_DIR/bench/s3_raw.py" "$RGW_BUCKET" "$raw_prefix" \
    --threads 8 --size-mib 4 --count 256 --seconds "$RAW_SECONDS" >"$out/raw.json" 2>"$out/raw.log" ||
    fail "s3_raw.py failed: $(tail -n 3 "$out/raw.log") $(cat "$out/raw.json")"
  s3_admin delete-prefix "$RGW_BUCKET" "$raw_prefix" >/dev/null || log "warning: could not delete the raw objects"
fi
for b in "${backend_list[@]}"; do
  backend_rows "$b"
done
if ((local_cmp)); then
  note "local: bench/run.sh, file backend default config vs nbdkit memory and nbdkit file"
  mkdir -p "$out/local" "$BP_TMP/local-objects"
  timeout 1800 "$SOURCE_DIR/bench/run.sh" --servers "blockpipe nbdkit-memory nbdkit-file" \
    --jobs "seqwrite-1m-qd8 seqread-1m-qd8" --objects-dir "$BP_TMP/local-objects" \
    --cache-memory 256MiB --runtime "$runtime" --out "$out/local" >"$out/local/run.log" 2>&1 ||
    fail "bench/run.sh failed: $(tail -n 5 "$out/local/run.log")"
fi
echo "$(load)" >"$out/load-after.txt"

{
  echo "Machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM, kernel $(uname -r); fio $(fio --version); $(radosgw --version 2>/dev/null | head -n 1 | cut -d' ' -f1-3)"
  echo "blockpipe $(git -C "$SOURCE_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown); load average before: $(cat "$out/load-before.txt"), after: $(cat "$out/load-after.txt")"
  echo
  "$PY" "$SOURCE_DIR/bench/targets_report.py" "$out" "${backend_list[@]}"
} >"$out/table.md"
cat "$out/table.md"
log "results in $out"
