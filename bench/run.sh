#!/usr/bin/env bash
# Benchmark (not a test): the same workloads against blockpipe (file backend, lz4, the default
# config with a unit cache that holds the whole export), blockpipe-zstd-encrypt (the chain
# `blockpipe init --encrypt` writes: zstd then XAES-256-GCM, otherwise the same settings),
# `nbdkit memory` (the in-RAM ceiling), `qemu-nbd` serving a file on tmpfs and, on request,
# `nbdkit file` serving a file in the objects dir (the same disk blockpipe writes its objects to),
# all over Unix sockets. blockpipe's objects go to a temp dir
# on tmpfs by default, which compares the engines; --objects-dir puts them on a disk instead,
# which adds that disk's fsync'd write speed as a bound.
#
# Every server runs for the whole benchmark and each workload runs against them back to back
# (server A, B, C, then the next workload), so a machine whose load drifts affects all of them
# alike; after each run the export is flushed and the server given a second to go idle, so
# background work of one server is not charged to the next. Per server: nbdcopy 1 GiB of random
# data in (which also fills the export so reads hit real data), the fio nbd-engine jobs of
# bench/jobs.fio (4k random write and read at qd32 and qd1, 1 MiB sequential write and read at
# qd8, each time-bounded), then nbdcopy 1 GiB out. Prints a markdown table with the ratio of
# each blockpipe configuration to nbdkit memory and keeps the raw fio JSON next to it. Method and
# results: docs/benchmarks.md.
#
# usage: bench/run.sh [--runtime SECONDS] [--repeat N]
#                     [--servers "blockpipe blockpipe-zstd-encrypt nbdkit-memory qemu-nbd"]
#                     [--jobs "JOB..."] [--objects-dir DIR] [--cache-memory SIZE] [--lz4-acceleration N]
#                     [--zstd-level N] [--cipher NAME] [--journal] [--out DIR]
#   --repeat N          run every fio job N times per server (interleaved); the table shows the
#                       median
#   --servers LIST      which servers (default above; also available: nbdkit-file, and
#                       blockpipe-journal: blockpipe's config with the local journal on, its own
#                       data dir and objects beside blockpipe's, for the journal on/off ratio)
#   --jobs LIST         which sections of bench/jobs.fio, in order (default: the six without a
#                       FLUSH; seqwrite-1m-qd8-flush16m and randwrite-4k-qd32-flush1m send one
#                       every 16 MiB / 1 MiB)
#   --objects-dir DIR   parent of blockpipe's temp object directory and of nbdkit-file's file
#                       (default: /dev/shm)
#   --cache-memory SIZE blockpipe's decoded-unit cache (default: 1152MiB: the 1 GiB export,
#                       which nbdkit memory holds in RAM too, plus the 128 bytes of bookkeeping
#                       the cache charges per unit, 3% for 4 KiB units)
#   --lz4-acceleration N  lz4's `acceleration` key (default: lz4's own default, 1)
#   --zstd-level N      zstd's `level` in blockpipe-zstd-encrypt (default: what init writes, 1)
#   --cipher NAME       the encrypt codec's `cipher` in blockpipe-zstd-encrypt: xaes-256-gcm or
#                       xchacha20-poly1305 (default: what init writes, xaes-256-gcm)
#   --journal           blockpipe acknowledges FLUSH from its local journal ([engine] durability
#                       = "local", journal in its data dir), to compare with the default "store"
# Build first (Release): cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && ninja -C build
source "$(dirname "$0")/../tests/lib/common.sh"

runtime=20
repeat=1
lz4_acceleration=
zstd_level=""
cipher=""
servers="blockpipe blockpipe-zstd-encrypt nbdkit-memory qemu-nbd"
jobs="randwrite-4k-qd32 randwrite-4k-qd1 randread-4k-qd32 randread-4k-qd1 seqwrite-1m-qd8 seqread-1m-qd8"
objects_parent=/dev/shm
cache_memory=1152MiB
journal=0
out=$BUILD_DIR/bench-$(date +%Y%m%d-%H%M%S)
while (($#)); do
  case $1 in
    --runtime) runtime=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --lz4-acceleration) lz4_acceleration=$2; shift 2 ;;
    --zstd-level) zstd_level=$2; shift 2 ;;
    --cipher) cipher=$2; shift 2 ;;
    --servers) servers=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --objects-dir) objects_parent=$2; shift 2 ;;
    --cache-memory) cache_memory=$2; shift 2 ;;
    --journal) journal=1; shift ;;
    --out) out=$2; shift 2 ;;
    -h | --help) sed -n '2,/^# Build first/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) fail "unknown argument '$1' (see --help)" ;;
  esac
done
[[ $runtime =~ ^[0-9]+$ ]] && ((runtime > 0)) || fail "--runtime takes a positive number of seconds"
[[ $repeat =~ ^[0-9]+$ ]] && ((repeat > 0)) || fail "--repeat takes a positive count"
[[ -z $lz4_acceleration || $lz4_acceleration =~ ^[0-9]+$ ]] ||
  fail "--lz4-acceleration takes a number (1 to 65537)"
[[ -z $zstd_level || $zstd_level =~ ^-?[0-9]+$ ]] || fail "--zstd-level takes a number (-7 to 19, not 0)"
[[ -z $cipher || $cipher == xaes-256-gcm || $cipher == xchacha20-poly1305 ]] ||
  fail "--cipher takes xaes-256-gcm or xchacha20-poly1305"
[[ -d $objects_parent && -w $objects_parent ]] ||
  fail "--objects-dir $objects_parent is not a writable directory"
[[ $cache_memory =~ ^[0-9]+([KMG]iB)?$ ]] || fail "--cache-memory takes a size such as 1GiB"
read -r -a server_list <<<"$servers"
for server in "${server_list[@]}"; do
  case $server in
    blockpipe | blockpipe-zstd-encrypt | blockpipe-journal) [[ -x $BLOCKPIPE ]] || fail "blockpipe not built at $BLOCKPIPE" ;;
    nbdkit-memory | nbdkit-file | qemu-nbd) ;;
    *) fail "unknown server '$server' (blockpipe, blockpipe-zstd-encrypt, blockpipe-journal, nbdkit-memory, nbdkit-file, qemu-nbd)" ;;
  esac
done
require_cmd fio nbdcopy nbdkit qemu-nbd nbdinfo nbdsh
read -r -a JOBS <<<"$jobs"
((${#JOBS[@]})) || fail "--jobs names no job"
for job in "${JOBS[@]}"; do
  grep -q "^\[$job\]\$" "$SOURCE_DIR/bench/jobs.fio" || fail "--jobs: bench/jobs.fio has no section [$job]"
done
readonly JOBS
readonly SIZE=$((1 << 30))

mkdir -p "$out"
shm=$(mktemp -d /dev/shm/bpbench.XXXXXX)
register_path "$shm"
input=$shm/input.bin
log "generating 1 GiB of random input on tmpfs"
head -c "$SIZE" /dev/urandom >"$input"

objects=$(mktemp -d "$objects_parent/bpbench-objects.XXXXXX")
register_path "$objects"
objects_fs=$(df --output=fstype "$objects" | tail -n 1)

# The bench's changes to the `blockpipe init` config: objects in $objects, the cache size.
bench_config() {
  bp_config_sed "s|^url = \"file://.*\"|url = \"file://$objects\"|"
  # A plain sed: the default config may already say this size.
  sed -i -e "s|^cache_memory = .*|cache_memory = \"$cache_memory\"|" "$BP_CONFIG"
  grep -q "^cache_memory = \"$cache_memory\"" "$BP_CONFIG" || fail "cannot set cache_memory in $BP_CONFIG"
  if [[ -n $lz4_acceleration ]]; then
    bp_config_sed "s|^plugin = \"lz4\"|plugin = \"lz4\"\nacceleration = $lz4_acceleration|"
  fi
  if ((journal)); then
    bp_config_sed 's|^durability = "store"|durability = "local"|'
  fi
}

# The encrypted configuration runs next to the plain one, so it is started by hand rather than
# through server.sh (which tracks one daemon): `blockpipe init --encrypt` in its own data dir,
# its own object dir beside the plain one's, the same cache size, a random password.
start_blockpipe_encrypted() {
  local dir=$BP_TMP/data-zstd-encrypt port
  ENC_CONFIG=$dir/blockpipe.toml
  ENC_SOCK=$dir/nbd.sock
  mkdir -p "$dir" "$objects-zstd-encrypt"
  register_path "$objects-zstd-encrypt"
  port=$(free_port)
  BLOCKPIPE_PASSWORD=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(24))')
  export BLOCKPIPE_PASSWORD
  "$BLOCKPIPE" init --data-dir "$dir" --port "$port" --encrypt --force >>"$BP_TMP/zstd-encrypt.log" 2>&1 ||
    fail "blockpipe init --encrypt failed"
  sed -i -e "s|^url = \"file://.*\"|url = \"file://$objects-zstd-encrypt\"|" \
    -e "s|^cache_memory = .*|cache_memory = \"$cache_memory\"|" "$ENC_CONFIG"
  [[ -z $zstd_level ]] || sed -i -e "s|^level = -\?[0-9]*$|level = $zstd_level|" "$ENC_CONFIG"
  zstd_level=$(sed -n 's/^level = \(-\?[0-9]*\)$/\1/p' "$ENC_CONFIG")
  [[ -z $cipher ]] || sed -i -e "s|^cipher = \".*\"$|cipher = \"$cipher\"|" "$ENC_CONFIG"
  cipher=$(sed -n 's/^cipher = "\(.*\)"$/\1/p' "$ENC_CONFIG")
  grep -q "^url = \"file://$objects-zstd-encrypt\"" "$ENC_CONFIG" && grep -q "^cache_memory = \"$cache_memory\"" "$ENC_CONFIG" &&
    [[ -n $zstd_level ]] ||
    fail "could not point $ENC_CONFIG at the bench's object dir and cache size"
  "$BLOCKPIPE" run --config "$ENC_CONFIG" >>"$BP_TMP/zstd-encrypt.log" 2>&1 &
  SERVER_PID=$!
  register_pid "$SERVER_PID"
  wait_until 60 "blockpipe-zstd-encrypt socket" _bp_socket_accepts "$ENC_SOCK" ||
    fail "blockpipe-zstd-encrypt did not start: $(tail -n 5 "$BP_TMP/zstd-encrypt.log")"
  URI="nbd+unix:///default?socket=$ENC_SOCK"
}

# blockpipe-journal: the plain blockpipe config (`blockpipe init`, lz4, the same cache) with the
# local journal on (`--journal`: durability = "local", the journal under its data dir), its own
# objects dir beside blockpipe's, started by hand like the encrypted one.
start_blockpipe_journal() {
  local dir=$BP_TMP/data-journal port
  JOURNAL_CONFIG=$dir/blockpipe.toml
  mkdir -p "$dir" "$objects-journal"
  register_path "$objects-journal"
  port=$(free_port)
  "$BLOCKPIPE" init --data-dir "$dir" --port "$port" --journal --force >>"$BP_TMP/journal.log" 2>&1 ||
    fail "blockpipe init --journal failed"
  sed -i -e "s|^url = \"file://.*\"|url = \"file://$objects-journal\"|" \
    -e "s|^cache_memory = .*|cache_memory = \"$cache_memory\"|" "$JOURNAL_CONFIG"
  if [[ -n $lz4_acceleration ]]; then
    sed -i "s|^plugin = \"lz4\"|plugin = \"lz4\"\nacceleration = $lz4_acceleration|" "$JOURNAL_CONFIG"
  fi
  grep -q "^url = \"file://$objects-journal\"" "$JOURNAL_CONFIG" &&
    grep -q "^cache_memory = \"$cache_memory\"" "$JOURNAL_CONFIG" &&
    grep -q '^durability = "local"' "$JOURNAL_CONFIG" ||
    fail "could not point $JOURNAL_CONFIG at the bench's object dir and cache size"
  "$BLOCKPIPE" run --config "$JOURNAL_CONFIG" >>"$BP_TMP/journal.log" 2>&1 &
  SERVER_PID=$!
  register_pid "$SERVER_PID"
  wait_until 60 "blockpipe-journal socket" _bp_socket_accepts "$dir/nbd.sock" ||
    fail "blockpipe-journal did not start: $(tail -n 5 "$BP_TMP/journal.log")"
  URI="nbd+unix:///default?socket=$dir/nbd.sock"
}

# start_server NAME: sets URI and SERVER_PID (empty for blockpipe, which server.sh tracks).
start_server() {
  case $1 in
    blockpipe)
      start_blockpipe bench_config
      URI=$(bp_uri_unix)
      ;;
    blockpipe-zstd-encrypt)
      start_blockpipe_encrypted
      ;;
    blockpipe-journal)
      start_blockpipe_journal
      ;;
    nbdkit-memory)
      start_nbdkit_memory 1G
      SERVER_PID=$NBDKIT_PID
      URI="nbd+unix:///default?socket=$NBDKIT_SOCK"
      ;;
    nbdkit-file)
      local sock=$BP_TMP/nbdkit-file.sock
      rm -f "$sock" "$objects-nbdkit-file.img"
      truncate -s "$SIZE" "$objects-nbdkit-file.img"
      register_path "$objects-nbdkit-file.img"
      nbdkit -f -U "$sock" file file="$objects-nbdkit-file.img" >>"$BP_TMP/nbdkit-file.log" 2>&1 &
      SERVER_PID=$!
      register_pid "$SERVER_PID"
      wait_until 20 "nbdkit file socket" _bp_socket_accepts "$sock" || fail "nbdkit file did not start"
      URI="nbd+unix:///default?socket=$sock"
      ;;
    qemu-nbd)
      local sock=$BP_TMP/qemu-nbd.sock
      rm -f "$sock" "$shm/qemu-nbd.img"
      truncate -s "$SIZE" "$shm/qemu-nbd.img"
      qemu-nbd -f raw -x default --persistent --shared=16 -k "$sock" "$shm/qemu-nbd.img" \
        >>"$BP_TMP/qemu-nbd.log" 2>&1 &
      SERVER_PID=$!
      register_pid "$SERVER_PID"
      wait_until 20 "qemu-nbd socket" _bp_socket_accepts "$sock" || fail "qemu-nbd did not start"
      URI="nbd+unix:///default?socket=$sock"
      ;;
  esac
  local size
  size=$(nbdinfo --size "$URI") || fail "$1: nbdinfo --size failed"
  ((size == SIZE)) || fail "$1: export is $size bytes, expected $SIZE"
}

stop_server() {
  if [[ $1 == blockpipe ]]; then
    "$BLOCKPIPE" stats --config "$BP_CONFIG" >"$out/blockpipe/stats.txt" 2>&1 || true
    stop_blockpipe
  elif [[ $1 == blockpipe-zstd-encrypt ]]; then
    "$BLOCKPIPE" stats --config "$ENC_CONFIG" >"$out/$1/stats.txt" 2>&1 || true
    stop_pid "${server_pid[$1]}" 60
  elif [[ $1 == blockpipe-journal ]]; then
    "$BLOCKPIPE" stats --config "$JOURNAL_CONFIG" >"$out/$1/stats.txt" 2>&1 || true
    stop_pid "${server_pid[$1]}" 60
  else
    stop_pid "${server_pid[$1]}" 20
  fi
  rm -f "$shm/qemu-nbd.img" "$objects-nbdkit-file.img"
}

# Let a server finish what a run left behind (blockpipe uploads its buffered writes) before the
# next server's run starts.
settle() {
  nbdsh -u "$1" -c 'h.flush()' >/dev/null 2>&1 || log "flush of $1 failed"
  sleep 1
}

# timed_copy FILE SRC DST: nbdcopy and record "<bytes> <seconds>" for report.py.
timed_copy() {
  local record=$1 src=$2 dst=$3 t0 t1
  t0=$EPOCHREALTIME
  nbdcopy --flush "$src" "$dst" || fail "nbdcopy $src -> $dst failed"
  t1=$EPOCHREALTIME
  echo "$SIZE $("$PY" -c 'import sys; print(float(sys.argv[2]) - float(sys.argv[1]))' "$t0" "$t1")" >"$record"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A server_uri server_pid
for server in "${server_list[@]}"; do
  mkdir -p "$out/$server"
  log "starting $server"
  SERVER_PID=
  start_server "$server"
  server_uri[$server]=$URI
  server_pid[$server]=$SERVER_PID
done
for server in "${server_list[@]}"; do
  log "$server: nbdcopy 1 GiB in"
  timed_copy "$out/$server/nbdcopy-in.txt" "$input" "${server_uri[$server]}"
  settle "${server_uri[$server]}"
done
for job in "${JOBS[@]}"; do
  for ((run = 1; run <= repeat; run++)); do
    for server in "${server_list[@]}"; do
      dir=$out/$server
      log "$server: $job (${runtime}s, run $run of $repeat)"
      URI=${server_uri[$server]} RUNTIME=$runtime fio --section="$job" "$SOURCE_DIR/bench/jobs.fio" \
        --output-format=json --output="$dir/$job.$run.json" >"$dir/$job.$run.log" 2>&1 ||
        fail "fio $job against $server failed: $(tail -n 5 "$dir/$job.$run.log")"
      settle "${server_uri[$server]}"
    done
  done
done
for server in "${server_list[@]}"; do
  log "$server: nbdcopy 1 GiB out"
  timed_copy "$out/$server/nbdcopy-out.txt" "${server_uri[$server]}" "null:"
done
for server in "${server_list[@]}"; do
  stop_server "$server"
done

{
  echo "Machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM, kernel $(uname -r)"
  echo "fio jobs: ${JOBS[*]}"
  echo "fio $(fio --version), nbdkit $(nbdkit --version | cut -d' ' -f2), $(qemu-nbd --version | head -n 1)"
  echo "fio runtime ${runtime}s per job after 2s ramp, median of $repeat run(s); blockpipe $(git -C "$SOURCE_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "blockpipe objects in $objects_parent ($objects_fs), cache_memory $cache_memory, lz4 acceleration ${lz4_acceleration:-1 (default)}, durability $( ((journal)) && echo "local (journal in the data dir under $BP_TMP)" || echo store); blockpipe-zstd-encrypt: zstd level ${zstd_level:-(what init writes)} then encrypt (${cipher:-cipher: what init writes}); load average before: $load_before"
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  "$PY" "$SOURCE_DIR/bench/report.py" "$out" "${server_list[@]}"
} >"$out/table.md"
cat "$out/table.md"
log "results in $out"
