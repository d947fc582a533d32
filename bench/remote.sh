#!/usr/bin/env bash
# Benchmark (not a test) of blockpipe on its remote backends, beside the file backend: a private
# Ceph RGW for S3 and azurite for Azure Blob, started here and stopped by PID on exit, and the
# file backend with its objects on tmpfs as the reference row. blockpipe runs with the config
# `blockpipe init` writes (lz4, 16 MiB segments, 1 s flush interval, 256 MiB unit cache), only
# pointed at each store. Two things are measured per backend, each on a fresh daemon and a fresh
# place in the store:
#
#   request economy: a fixed amount of 4 KiB random writes (fio, qd32, no block written twice)
#     into a fresh 1 GiB volume, then one FLUSH. The backend requests it cost are counted by kind
#     from the daemon's metrics before and after (`blockpipe stats --prometheus`), from the
#     store's own request log (RGW's access log lines; azurite's debug log, which this script
#     turns on for this phase only) and from listings of the store before and after (objects
#     created and deleted). Printed per GiB written, as bytes per PUT, and as PUTs per 4 MiB
#     written against the target of at most 1 (PASS/MISS; the verdict takes the highest of the
#     PUT counts the three sources give).
#   throughput: nbdcopy of random data into a volume of the same size (with a final flush), the
#     fio nbd-engine sections of bench/jobs.fio that fit (4k random write and read at qd32, 1 MiB
#     sequential write and read at qd8; fio clamps their 1 GiB size to the volume, so every job
#     covers the whole volume, which the copy filled), then nbdcopy of the volume out to null:.
#
# Every server listens on 127.0.0.1 or a Unix socket under a temp dir; every step is bounded in
# time. RGW keeps objects in RAM (memstore), azurite's state and the file backend's objects go
# to /dev/shm, so all three stores hold their bytes in memory and the rows compare the paths to
# them. Prints two markdown tables (also OUT/table.md) and keeps the raw fio JSON, metrics
# snapshots, store log excerpts and listings under OUT. Method and results: docs/benchmarks.md,
# "Remote backends". The local tier's targets (journal, disk cache, read path) are judged by the
# sibling bench/remote-targets.sh.
#
# usage: bench/remote.sh [--backends "file s3 azure"] [--phases "economy throughput"]
#                        [--runtime SECONDS] [--economy-size MiB] [--economy-rate IOPS]
#                        [--copy-size MiB] [--engine KEY=VALUE]... [--out DIR]
#   --backends LIST     which backends, in this order (default: file s3 azure)
#   --phases LIST       which measurements (default: economy throughput)
#   --runtime SECONDS   measured time of each fio throughput job, after a 2 s ramp (default 20)
#   --economy-size MiB  amount of 4 KiB random writes in the request-economy phase (default 256,
#                       at most 1024: the volume is 1 GiB and no block is written twice)
#   --economy-rate IOPS pace the economy phase's writer to this many 4 KiB writes per second
#                       (default: as fast as qd32 goes), to see what a slow writer costs
#   --copy-size MiB     size of the throughput volume and of the nbdcopy input (default 512)
#   --engine KEY=VALUE  change one [engine] key of the init config (e.g. flush_interval_ms=4000,
#                       io_threads=32); repeatable, printed in the table's header
#   --out DIR           results directory (default BUILD_DIR/bench-remote-<date>)
# Build first (Release): cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && ninja -C build
source "$(dirname "$0")/../tests/lib/common.sh"
source "$(dirname "$0")/lib.sh"

backends="file s3 azure"
phases="economy throughput"
economy_rate=
engine_changes=()
runtime=20
economy_mib=256
copy_mib=512
out=$BUILD_DIR/bench-remote-$(date +%Y%m%d-%H%M%S)
while (($#)); do
  case $1 in
    --backends) backends=$2; shift 2 ;;
    --phases) phases=$2; shift 2 ;;
    --economy-rate) economy_rate=$2; shift 2 ;;
    --engine) engine_changes+=("$2"); shift 2 ;;
    --runtime) runtime=$2; shift 2 ;;
    --economy-size) economy_mib=$2; shift 2 ;;
    --copy-size) copy_mib=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h | --help) sed -n '2,/^# Build first/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) fail "unknown argument '$1' (see --help)" ;;
  esac
done
[[ $runtime =~ ^[0-9]+$ ]] && ((runtime > 0 && runtime <= 600)) ||
  fail "--runtime takes a number of seconds from 1 to 600"
[[ $economy_mib =~ ^[0-9]+$ ]] && ((economy_mib >= 4 && economy_mib <= 1024)) ||
  fail "--economy-size takes a number of MiB from 4 to 1024"
[[ $copy_mib =~ ^[0-9]+$ ]] && ((copy_mib >= 16 && copy_mib <= 4096)) ||
  fail "--copy-size takes a number of MiB from 16 to 4096"
[[ -z $economy_rate || ($economy_rate =~ ^[0-9]+$ && $economy_rate -gt 0) ]] ||
  fail "--economy-rate takes a positive number of writes per second"
for change in "${engine_changes[@]}"; do
  [[ $change =~ ^[a-z_]+=[A-Za-z0-9\"]+$ ]] || fail "--engine takes KEY=VALUE (e.g. flush_interval_ms=4000), got '$change'"
done
read -r -a phase_list <<<"$phases"
((${#phase_list[@]})) || fail "--phases names no phase"
for phase in "${phase_list[@]}"; do
  [[ $phase == economy || $phase == throughput ]] || fail "unknown phase '$phase' (economy, throughput)"
done
read -r -a backend_list <<<"$backends"
((${#backend_list[@]})) || fail "--backends names no backend"
for backend in "${backend_list[@]}"; do
  case $backend in
    file | s3 | azure) ;;
    *) fail "unknown backend '$backend' (file, s3, azure)" ;;
  esac
done
[[ -x $BLOCKPIPE ]] || fail "blockpipe not built at $BLOCKPIPE (see --help)"
require_cmd fio nbdcopy nbdinfo nbdsh

readonly JOBS=(randwrite-4k-qd32 randread-4k-qd32 seqwrite-1m-qd8 seqread-1m-qd8)
readonly RGW_LIFETIME=2h
# Bounds of the single steps: a step that takes longer is a failure, not a slow result.
readonly COPY_TIMEOUT=900 ECONOMY_TIMEOUT=900 FLUSH_TIMEOUT=300 STATS_TIMEOUT=30

mkdir -p "$out"
out=$(cd "$out" && pwd)
# The test servers' state (tests/lib/remote.sh finds their env files here), removed at exit
# after the daemons and the stores (bench/lib.sh); the stores' objects vanish with them, so
# nothing remote is left to delete.
bench_private_servers bpremote
AZURITE_STATE=
bench_stop_other_stores() { stop_azurite; }

start_rgw() {
  bench_start_rgw "$out/servers.log" "$RGW_LIFETIME"
}

# start_azurite [debug]: "debug" writes azurite's debug log, which names every request.
start_azurite() {
  AZURITE_STATE=$BP_SERVERS_DIR/azurite
  log "starting azurite${1:+ with its debug log} in $AZURITE_STATE"
  AZURITE_DEBUG=$([[ ${1:-} == debug ]] && echo 1 || echo 0) timeout 120 \
    "$SOURCE_DIR/tests/servers/azurite/start.sh" "$AZURITE_STATE" >>"$out/servers.log" 2>&1 ||
    fail "azurite did not start: $(tail -n 5 "$out/servers.log")"
}

stop_azurite() {
  [[ -n $AZURITE_STATE ]] || return 0
  timeout 60 "$SOURCE_DIR/tests/servers/azurite/stop.sh" "$AZURITE_STATE" >>"$out/servers.log" 2>&1 ||
    log "warning: azurite/stop.sh $AZURITE_STATE failed"
  AZURITE_STATE=
}

# The bench's changes to the `blockpipe init` config: the volume size, and for the file backend
# objects on tmpfs instead of the data dir.
VOLUME_MIB=
FILE_OBJECTS=
bench_config() {
  if [[ $BP_TEST_BACKEND == file ]]; then
    FILE_OBJECTS=$(mktemp -d "$shm/objects.XXXXXX")
    bp_config_sed "s|^url = \"file://.*\"|url = \"file://$FILE_OBJECTS\"|"
  fi
  bp_config_sed "s|^size = \"1GiB\"|size = \"${VOLUME_MIB}MiB\"|"
  local change key
  for change in "${engine_changes[@]}"; do
    key=${change%%=*}
    # A key init leaves to the daemon is written commented out ("# io_threads = 16").
    sed -n '/^\[engine\]/,/^\[/p' "$BP_CONFIG" | grep -q "^\(# \)\?$key = " ||
      fail "--engine $change: the init config's [engine] has no key $key"
    sed -i "/^\[engine\]/,/^\[/s|^\(# \)\?$key = .*|$key = ${change#*=}|" "$BP_CONFIG"
  done
}

# start_session BACKEND PHASE MiB: a fresh data dir and a fresh place in the store, one volume.
start_session() {
  BP_TEST_BACKEND=$1
  VOLUME_MIB=$3
  bp_init "$BP_TMP/data-$1-$2"
  bench_config
  bp_run
  URI=$(bp_uri_unix)
  local size
  size=$(timeout 30 nbdinfo --size "$URI") || fail "$1: nbdinfo --size failed"
  ((size == VOLUME_MIB << 20)) || fail "$1: export is $size bytes, expected $VOLUME_MIB MiB"
}

# Every object the store holds for the current session as "KEY SIZE", sorted.
list_store() {
  case $BP_TEST_BACKEND in
    file) find "$FILE_OBJECTS" -type f -printf '%P %s\n' ;;
    s3) s3_admin list "$BP_REMOTE_BUCKET" "$BP_REMOTE_PREFIX" | awk '{print $2, $1}' ;;
    azure) azure_admin list "$BP_REMOTE_CONTAINER" | awk -F '\t' '{print $1, $2}' ;;
  esac | LC_ALL=C sort
}

# The store's request log and where it ends now (lines), so a phase can cut out its own window.
store_log() {
  case $BP_TEST_BACKEND in
    s3) echo "$RGW_STATE/log/rgw.main.log" ;;
    azure) echo "$AZURITE_STATE/azurite-debug.log" ;;
    *) echo "" ;;
  esac
}
store_log_lines() {
  local f
  f=$(store_log)
  if [[ -n $f && -f $f ]]; then wc -l <"$f"; else echo 0; fi
}

metrics_snapshot() {
  timeout "$STATS_TIMEOUT" "$BLOCKPIPE" stats --prometheus --config "$BP_CONFIG" >"$1" 2>&1 ||
    fail "blockpipe stats failed: $(tail -n 3 "$1")"
}

# Let the daemon upload what a run left behind before the next run starts.
settle() {
  timeout "$FLUSH_TIMEOUT" nbdsh -u "$URI" -c 'h.flush()' >/dev/null 2>&1 || fail "flush of $URI failed"
  sleep 1
}

# Request economy: 4 KiB random writes into a fresh 1 GiB volume, one FLUSH, and what it cost.
# The store listings run outside the window the store's log is cut to, so the admin client's own
# requests are not counted; the daemon is otherwise idle, so its metrics and the store's log
# cover the same requests.
economy() {
  local backend=$1 dir=$out/$1 t0 t1
  [[ $backend == azure ]] && start_azurite debug
  start_session "$backend" economy 1024
  local pace=()
  [[ -n $economy_rate ]] && pace=(--rate_iops="$economy_rate")
  log "$backend: request economy, ${economy_mib} MiB of 4 KiB random writes at qd32${economy_rate:+ paced to $economy_rate/s}, then FLUSH (load $(load))"
  echo "$(load)" >"$dir/economy-load.txt"
  list_store >"$dir/economy-objects-before.txt" || fail "$backend: listing the store failed"
  store_log_lines >"$dir/economy-log-start.txt"
  metrics_snapshot "$dir/economy-metrics-before.prom"
  t0=$EPOCHREALTIME
  timeout $((ECONOMY_TIMEOUT + 60)) fio --name=economy --ioengine=nbd --uri="$URI" --rw=randwrite --bs=4k \
    --iodepth=32 --size=1g --io_size="${economy_mib}m" --randseed=1234 --runtime="$ECONOMY_TIMEOUT" "${pace[@]}" \
    --output-format=json --output="$dir/economy.json" >"$dir/economy.log" 2>&1 ||
    fail "$backend: fio economy failed: $(tail -n 5 "$dir/economy.log")"
  t1=$EPOCHREALTIME
  timeout "$FLUSH_TIMEOUT" nbdsh -u "$URI" -c 'h.flush()' >/dev/null 2>&1 || fail "$backend: FLUSH failed"
  echo "$t0 $t1 $EPOCHREALTIME" >"$dir/economy-times.txt"
  # Whatever the daemon does right after the FLUSH (a checkpoint, say) belongs to the bill.
  sleep 2
  metrics_snapshot "$dir/economy-metrics-after.prom"
  sleep 1
  local log_file start end
  log_file=$(store_log)
  start=$(cat "$dir/economy-log-start.txt")
  end=$(store_log_lines)
  if [[ -n $log_file && -f $log_file ]]; then
    sed -n "$((start + 1)),${end}p" "$log_file" >"$dir/economy-store.log"
  fi
  list_store >"$dir/economy-objects-after.txt" || fail "$backend: listing the store failed"
  "$BLOCKPIPE" stats --config "$BP_CONFIG" >"$dir/economy-stats.txt" 2>&1 || true
  stop_blockpipe
  [[ $backend == azure ]] && stop_azurite
  return 0
}

# timed_copy RECORD SRC DST: nbdcopy with a final flush; records "<bytes> <seconds>".
timed_copy() {
  local record=$1 src=$2 dst=$3 t0 t1
  t0=$EPOCHREALTIME
  timeout "$COPY_TIMEOUT" nbdcopy --flush "$src" "$dst" || fail "nbdcopy $src -> $dst failed or took over ${COPY_TIMEOUT}s"
  t1=$EPOCHREALTIME
  echo "$((copy_mib << 20)) $("$PY" -c 'import sys; print(float(sys.argv[2]) - float(sys.argv[1]))' "$t0" "$t1")" >"$record"
}

throughput() {
  local backend=$1 dir=$out/$1 job
  [[ $backend == azure ]] && start_azurite
  start_session "$backend" throughput "$copy_mib"
  echo "$(load)" >"$dir/throughput-load.txt"
  metrics_snapshot "$dir/throughput-metrics-before.prom"
  local log_start log_file
  log_start=$(store_log_lines)
  log "$backend: nbdcopy ${copy_mib} MiB in (load $(load))"
  timed_copy "$dir/nbdcopy-in.txt" "$input" "$URI"
  settle
  for job in "${JOBS[@]}"; do
    log "$backend: $job (${runtime}s)"
    URI=$URI RUNTIME=$runtime timeout $((runtime + 120)) fio --section="$job" "$SOURCE_DIR/bench/jobs.fio" \
      --output-format=json --output="$dir/$job.json" >"$dir/$job.log" 2>&1 ||
      fail "fio $job on $backend failed: $(tail -n 5 "$dir/$job.log")"
    settle
  done
  log "$backend: nbdcopy the volume out"
  timed_copy "$dir/nbdcopy-out.txt" "$URI" "null:"
  metrics_snapshot "$dir/throughput-metrics-after.prom"
  "$BLOCKPIPE" stats --config "$BP_CONFIG" >"$dir/throughput-stats.txt" 2>&1 || true
  log_file=$(store_log)
  if [[ -n $log_file && -f $log_file ]]; then
    sleep 1
    sed -n "$((log_start + 1)),$(store_log_lines)p" "$log_file" | gzip -1 >"$dir/throughput-store.log.gz"
  fi
  echo "$(load)" >>"$dir/throughput-load.txt"
  stop_blockpipe
  [[ $backend == azure ]] && stop_azurite
  return 0
}

load_before=$(load)
input=$shm/input.bin
if [[ " ${phase_list[*]} " == *" throughput "* ]]; then
  log "generating ${copy_mib} MiB of random input on tmpfs"
  head -c "$((copy_mib << 20))" /dev/urandom >"$input"
fi
[[ " ${backend_list[*]} " == *" s3 "* ]] && start_rgw
for backend in "${backend_list[@]}"; do
  mkdir -p "$out/$backend"
  for phase in "${phase_list[@]}"; do
    "$phase" "$backend"
  done
done

{
  echo "Machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM, kernel $(uname -r); fio $(fio --version)"
  echo "blockpipe $(git -C "$SOURCE_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown), init config (lz4, 16 MiB segments, 64 KiB units, flush_interval_ms 1000, cache 256 MiB, io_threads by the backend: 16, or 8 on the file backend)${engine_changes[*]:+ with ${engine_changes[*]}}"
  [[ " ${phase_list[*]} " == *" throughput "* ]] && echo "fio runtime ${runtime}s per throughput job after 2s ramp"
  [[ -n $RGW_STATE ]] && echo "s3: $(radosgw --version 2>/dev/null | head -n 1) with a memstore OSD"
  [[ " ${backend_list[*]} " == *" azure "* ]] &&
    echo "azure: azurite $(node -p "require('$SOURCE_DIR/tests/servers/azurite/node_modules/azurite/package.json').version" 2>/dev/null), state on tmpfs"
  echo "load average before: $load_before, after: $(load)"
  echo
  "$PY" - "$out" "$economy_mib" "${economy_rate:-0}" "$copy_mib" "${backend_list[@]}" <<'PYEOF'
"""The two tables: throughput per backend, and the request economy of 4 KiB random writes."""
import gzip
import json
import os
import statistics
import re
import sys

out, economy_mib, economy_rate, copy_mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
backends = sys.argv[5:]
MIB, GIB = 1 << 20, 1 << 30
TITLES = {"file": "file (tmpfs)", "s3": "s3 (Ceph RGW)", "azure": "azure (azurite)"}


def read(path, default=None):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def fio_side(path, direction):
    try:
        with open(path) as f:
            job = json.load(f)["jobs"][0]
    except (OSError, ValueError, KeyError, IndexError):
        return None
    return None if job.get("error") else job[direction]


def copy_rate(path):
    text = read(path)
    if not text:
        return None
    size, seconds = text.split()
    return int(size) / MIB / float(seconds)


def metrics(path):
    values = {}
    for line in (read(path) or "").splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                values[name] = int(float(value))
            except ValueError:
                pass
    return values


RGW_LINE = re.compile(r'beast: \S+: \S+ - \S+ \[[^]]*\] "(\w+) (\S+) HTTP/[\d.]+" (\d+)')
AZURITE_LINE = re.compile(r"RequestMethod=(\w+) RequestURL=(\S+)")


def store_lines(path):
    if path.endswith(".gz"):
        try:
            with gzip.open(path, "rt", errors="replace") as f:
                return f.read().splitlines()
        except OSError:
            return []
    return (read(path) or "").splitlines()


RGW_LATENCY = re.compile(r"latency=([\d.]+)s")


def store_requests(backend, path, latencies=None):
    """Requests by kind from the store's own log window: put, get, list, delete, other. RGW's
    lines also carry each request's latency, collected by kind into latencies if given."""
    counts = {}
    for line in store_lines(path):
        if backend == "s3":
            m = RGW_LINE.search(line)
            if not m:
                continue
            method, target = m.group(1), m.group(2)
            query = target.partition("?")[2]
            if method == "PUT":
                kind = "put"
            elif method == "GET" and ("list-type" in query or "prefix=" in query):
                kind = "list"
            elif method in ("GET", "HEAD"):
                kind = "get"
            elif method == "DELETE" or (method == "POST" and "delete" in query):
                kind = "delete"
            else:
                kind = "other"
            lat = RGW_LATENCY.search(line)
            if latencies is not None and lat:
                latencies.setdefault(kind, []).append(float(lat.group(1)))
        else:
            m = AZURITE_LINE.search(line)
            if not m:
                continue
            method, query = m.group(1), m.group(2).partition("?")[2]
            if method == "PUT":
                kind = "put"
            elif method == "GET" and "comp=list" in query:
                kind = "list"
            elif method in ("GET", "HEAD"):
                kind = "get"
            elif method == "DELETE":
                kind = "delete"
            else:
                kind = "other"
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def daemon_requests(backend, before, after):
    """Backend requests by kind from the daemon's metrics; Azure's plugin counts only a total."""
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    if backend == "s3":
        p = "blockpipe_s3_"
        return {"put": delta.get(p + "put_requests", 0),
                "get": delta.get(p + "get_requests", 0) + delta.get(p + "read_requests", 0),
                "list": delta.get(p + "list_requests", 0),
                "delete": delta.get(p + "delete_requests", 0) + delta.get(p + "delete_many_requests", 0)}
    if backend == "azure":
        return {"total": delta.get("blockpipe_azure_requests", 0)}
    return {}


def objects(path):
    """{key: size} from a listing of "KEY SIZE" lines."""
    listing = {}
    for line in (read(path) or "").splitlines():
        key, _, size = line.rpartition(" ")
        if key:
            listing[key] = int(size)
    return listing


def economy(backend):
    d = os.path.join(out, backend)
    side = fio_side(os.path.join(d, "economy.json"), "write")
    times = (read(os.path.join(d, "economy-times.txt")) or "").split()
    if side is None or len(times) != 3:
        return None
    t0, t1, t2 = map(float, times)
    written = side["io_bytes"]
    before = objects(os.path.join(d, "economy-objects-before.txt"))
    after = objects(os.path.join(d, "economy-objects-after.txt"))
    created = [k for k in after if k not in before]
    deleted = [k for k in before if k not in after]
    # What the created objects hold, as the store counts it (compressed units, map deltas).
    stored = sum(after[k] for k in created)
    daemon = daemon_requests(backend, metrics(os.path.join(d, "economy-metrics-before.prom")),
                             metrics(os.path.join(d, "economy-metrics-after.prom")))
    store = store_requests(backend, os.path.join(d, "economy-store.log")) if backend != "file" else None
    if store is not None:
        store = {k: store.get(k, 0) for k in ("put", "get", "list", "delete", "other")}
    puts = [len(created)]
    if "put" in daemon:
        puts.append(daemon["put"])
    if store is not None:
        puts.append(store["put"])
    put = max(puts)
    total = daemon.get("total") if backend == "azure" else None
    if backend == "s3":
        total = sum(daemon[k] for k in ("put", "get", "list", "delete"))
    store_total = sum(store.values()) if store is not None else None
    # The file backend counts no requests; only its PUTs are known (from the listing).
    known = [x for x in (total, store_total) if x is not None]
    all_requests = max(known) if known else None
    gib = written / GIB
    per_4mib = put / (written / (4 * MIB)) if written else float("inf")
    return {
        "written": written, "iops": side["iops"], "write_s": t1 - t0, "flush_s": t2 - t1,
        "load": (read(os.path.join(d, "economy-load.txt")) or "").strip(),
        "daemon": daemon, "store": store, "created": len(created), "deleted": len(deleted),
        "put": put, "requests": all_requests, "requests_per_gib": None if all_requests is None else all_requests / gib,
        "puts_per_gib": put / gib, "mib_per_put": written / MIB / put if put else None,
        "stored_mib_per_put": stored / MIB / put if stored and put else None,
        "per_4mib": per_4mib,
    }


def kinds(counts):
    if counts is None:
        return "n/a"
    return " / ".join(f"{counts.get(k, 0):,}" for k in ("put", "get", "list", "delete"))


def table(header, rows):
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()


def mibs(v):
    return "n/a" if v is None else f"{v:,.0f} MiB/s"


# Throughput.
rows = [[f"nbdcopy {copy_mib} MiB in"] + [mibs(copy_rate(os.path.join(out, b, "nbdcopy-in.txt"))) for b in backends]]
for job, title, direction, unit in (
        ("randwrite-4k-qd32", "4k random write, qd32", "write", "iops"),
        ("randread-4k-qd32", "4k random read, qd32", "read", "iops"),
        ("seqwrite-1m-qd8", "1 MiB sequential write, qd8", "write", "mibs"),
        ("seqread-1m-qd8", "1 MiB sequential read, qd8", "read", "mibs")):
    cells = [title]
    for b in backends:
        side = fio_side(os.path.join(out, b, job + ".json"), direction)
        if side is None:
            cells.append("n/a")
        elif unit == "iops":
            cells.append(f"{side['iops']:,.0f} IOPS")
        else:
            cells.append(mibs(side["bw_bytes"] / MIB))
    rows.append(cells)
rows.append([f"nbdcopy {copy_mib} MiB out"] + [mibs(copy_rate(os.path.join(out, b, "nbdcopy-out.txt"))) for b in backends])


def session_cell(b):
    """What the throughput session cost the backend, from the daemon's metrics."""
    d = os.path.join(out, b)
    before = metrics(os.path.join(d, "throughput-metrics-before.prom"))
    after = metrics(os.path.join(d, "throughput-metrics-after.prom"))
    if not after:
        return "n/a", "n/a", "n/a"
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    cache = (f"{delta.get('blockpipe_unit_cache_hits_total', 0):,} / "
             f"{delta.get('blockpipe_unit_cache_misses_total', 0):,}")
    requests = kinds(daemon_requests(b, before, after)) if b == "s3" else (
        f"{delta.get('blockpipe_azure_requests', 0):,} in all" if b == "azure" else "n/a (no metrics)")
    latency = "n/a"
    if b == "s3":
        lat = {}
        store_requests(b, os.path.join(d, "throughput-store.log.gz"), lat)
        if lat.get("get") and lat.get("put"):
            latency = (f"{statistics.median(lat['get']) * 1000:.1f} / "
                       f"{statistics.median(lat['put']) * 1000:.0f} ms")
    return cache, requests, latency


sessions = {b: session_cell(b) for b in backends}
rows.append(["unit cache hits / misses"] + [sessions[b][0] for b in backends])
rows.append(["backend PUT / GET / LIST / DELETE"] + [sessions[b][1] for b in backends])
rows.append(["median GET / PUT latency, store's log"] + [sessions[b][2] for b in backends])
if any(cell != "n/a" for row in rows[:6] for cell in row[1:]):
    print(f"Throughput ({copy_mib} MiB volume filled by the copy in):\n")
    table(["workload"] + [TITLES[b] for b in backends], rows)

# Request economy.
results = {b: economy(b) for b in backends}
if all(r is None for r in results.values()):
    sys.exit(0)


def cell(b, fn):
    r = results[b]
    if r is None:
        return "n/a"
    v = fn(b, r)
    return "n/a" if v is None else v


pace = f", paced to {economy_rate:,} writes/s" if economy_rate else ""
print(f"Request economy ({economy_mib} MiB of 4 KiB random writes at qd32{pace} into a fresh 1 GiB volume, then FLUSH):\n")
spec = [
    ("written, IOPS", lambda b, r: f"{r['written'] / MIB:,.0f} MiB, {r['iops']:,.0f} IOPS"),
    ("writes / final FLUSH (s)", lambda b, r: f"{r['write_s']:.1f} / {r['flush_s']:.2f}"),
    ("PUT / GET / LIST / DELETE, daemon metrics",
     lambda b, r: kinds(r["daemon"]) if b == "s3" else (f"{r['daemon']['total']:,} requests in all (no split)" if b == "azure" else "n/a (no metrics)")),
    ("PUT / GET / LIST / DELETE, store's log",
     lambda b, r: None if r["store"] is None else kinds(r["store"]) + (f" (+{r['store']['other']} other)" if r["store"]["other"] else "")),
    ("objects created / deleted, store listing", lambda b, r: f"{r['created']:,} / {r['deleted']:,}"),
    ("backend requests per GiB written",
     lambda b, r: None if r["requests_per_gib"] is None else f"{r['requests_per_gib']:,.1f}"),
    ("PUTs per GiB written", lambda b, r: f"{r['puts_per_gib']:,.1f}"),
    ("MiB written per PUT (logical / stored)",
     lambda b, r: f"{r['mib_per_put']:,.1f} / " + ("n/a" if r["stored_mib_per_put"] is None else f"{r['stored_mib_per_put']:,.1f}")),
    ("PUTs per 4 MiB written (target ≤ 1)",
     lambda b, r: f"{r['per_4mib']:.3f}: **{'PASS' if r['per_4mib'] <= 1 else 'MISS'}**"),
    ("load average at start", lambda b, r: r["load"]),
]
table([""] + [TITLES[b] for b in backends], [[title] + [cell(b, fn) for b in backends] for title, fn in spec])
PYEOF
} >"$out/table.md"
cat "$out/table.md"
log "results in $out"
