#!/usr/bin/env bash
# Benchmark (not a test): what the daemon spends on fixed sequential workloads, counted rather
# than timed, so two builds can be compared on a machine other people load at the same time.
# One daemon (file backend with its objects on tmpfs, the `blockpipe init` config, cache_memory
# as given) is filled with GIB GiB of random data (nbdcopy, not counted), then three phases are
# counted one by one:
#   write  fio 1 MiB sequential writes at qd8 over the whole volume (overwrites), one FLUSH,
#          then 3 s of idle time, so sealing, uploads and checkpoints are in the count
#   read1  fio 1 MiB sequential reads at qd8 of the whole volume: every unit is read from the
#          store, checked and decoded (a miss)
#   read2  the same again: hits when cache_memory holds the volume, misses when it does not
# --tool callgrind runs the daemon under valgrind's callgrind with instrumentation switched on
# for the phases only and prints the instructions each phase executed in user space (and
# leaves one callgrind file per phase for callgrind_annotate). valgrind emulates neither
# AVX-512 (so CRC-32C takes the crc32-instruction path instead of folding) nor the CPU's
# fast string copies; glibc is told not to use `rep movsb`/`rep stosb`, which callgrind would
# count once per byte, so copies count as the vector loops they otherwise are.
# --tool counters runs it natively under `perf stat` software counters (no hardware counters
# needed): CPU time, context switches, page faults and system calls by kind, per phase, and
# fio's throughput as a sanity check (the only timed figures, and load-dependent).
#
# usage: bench/count-seq.sh [--tool callgrind|counters] [--blockpipe PATH] [--gib N]
#                           [--cache-memory SIZE] [--busy-poll-us N] [--out DIR]
#   --blockpipe PATH  the daemon to measure (its plugins are found next to it, as installed or
#                     built); default: this tree's build
#   --cache-memory    default 1152MiB (holds the 1 GiB volume: read2 hits); 256MiB makes every
#                     read a miss that reuses evicted buffers
#   --busy-poll-us N  the NBD frontend's busy_poll_us (default: its own, 100): polling executes
#                     instructions while it waits, so 0 gives the steadiest counts
# Method and results: docs/benchmarks.md ("Counted: sequential write and read").
source "$(dirname "$0")/../tests/lib/common.sh"

tool=callgrind gib=1 cache_memory=1152MiB busy_poll= out= binary=$BLOCKPIPE
while (($#)); do
  case $1 in
    --tool) tool=$2; shift 2 ;;
    --blockpipe) binary=$2; shift 2 ;;
    --gib) gib=$2; shift 2 ;;
    --cache-memory) cache_memory=$2; shift 2 ;;
    --busy-poll-us) busy_poll=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h | --help) sed -n '2,/^# Method/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) fail "unknown argument '$1' (see --help)" ;;
  esac
done
case $tool in
  callgrind) require_cmd valgrind callgrind_control fio nbdcopy ;;
  counters) require_cmd perf fio nbdcopy ;;
  *) fail "--tool is callgrind or counters" ;;
esac
[[ -x $binary ]] || fail "no daemon at $binary (build first, or --blockpipe PATH)"
BLOCKPIPE=$binary
out=${out:-$BUILD_DIR/count-seq-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"

objects=$(mktemp -d /dev/shm/bp-count.XXXXXX)
register_path "$objects"
bp_init
sed -i -e "s|^url = .*|url = \"file://$objects\"|" \
  -e "s|^cache_memory = .*|cache_memory = \"$cache_memory\"|" "$BP_CONFIG"
((gib == 1)) || bp_config_sed "s|^size = \"1GiB\"|size = \"${gib}GiB\"|"
if [[ -n $busy_poll ]]; then
  sed -i -e "/^plugin = \"nbd\"/a busy_poll_us = $busy_poll" "$BP_CONFIG"
fi

if [[ $tool == callgrind ]]; then
  GLIBC_TUNABLES=glibc.cpu.x86_rep_movsb_threshold=4294967295:glibc.cpu.x86_rep_stosb_threshold=4294967295 \
    valgrind --tool=callgrind --instr-atstart=no --dump-instr=no \
    --callgrind-out-file="$out/callgrind.out" "$BLOCKPIPE" run --config "$BP_CONFIG" \
    >>"$BP_LOG" 2>&1 &
else
  "$BLOCKPIPE" run --config "$BP_CONFIG" >>"$BP_LOG" 2>&1 &
fi
pid=$!
register_pid "$pid"
wait_until 120 "the daemon's socket" test -S "$BP_SOCK" || fail "daemon did not start"
uri=$(bp_uri_unix)

make_random_file "$BP_TMP/fill.bin" $((gib * 1024))
timeout 900 nbdcopy --flush "$BP_TMP/fill.bin" "$uri" || fail "fill failed"
rm -f "$BP_TMP/fill.bin"
sleep 3

fio_job() {  # name rw
  timeout 1800 fio --name="$1" --ioengine=nbd --uri="$uri" --rw="$2" --bs=1m --iodepth=8 \
    --size="${gib}g" --output-format=json --output="$out/fio-$1.json" >/dev/null ||
    fail "fio $1 failed"
}
write_phase() {
  fio_job write write
  timeout 120 nbdsh -u "$uri" -c 'h.flush()' || fail "flush failed"
  sleep 3
}
read_phase() { fio_job "$1" read; sleep 1; }

events=task-clock,context-switches,page-faults,raw_syscalls:sys_enter
for call in futex epoll_wait recvfrom sendmsg writev pread64 fsync; do
  events+=,syscalls:sys_enter_$call
done
phase=0
count() {  # name command...
  local name=$1
  shift
  phase=$((phase + 1))
  if [[ $tool == callgrind ]]; then
    callgrind_control -i on "$pid" >/dev/null 2>&1
    callgrind_control -z "$pid" >/dev/null 2>&1
    "$@"
    callgrind_control --dump="$name" "$pid" >/dev/null 2>&1
    callgrind_control -i off "$pid" >/dev/null 2>&1
    local file="$out/callgrind.out.$phase"
    wait_until 60 "the callgrind dump" test -s "$file" || fail "no callgrind dump for $name"
    printf '%-6s %15s instructions  (%s)\n' "$name" \
      "$(awk '/^summary:/ { print $2 }' "$file")" "$file"
  else
    perf stat -e "$events" -p "$pid" -o "$out/counters-$name.txt" &
    local stat=$!
    sleep 0.3
    "$@"
    kill -INT "$stat"
    wait "$stat" || true
    printf '%-6s %s\n' "$name" "$(awk '$2 ~ /^[a-z]/ && $1 ~ /^[0-9]/ {
      gsub(",", "", $1); sub("syscalls:sys_enter_", "", $2); printf "%s=%s ", $2, $1 }' \
      "$out/counters-$name.txt")"
  fi
}
count write write_phase
count read1 read_phase read1
count read2 read_phase read2
for name in write read1 read2; do
  "$PY" - "$out/fio-$name.json" "$name" <<'PYEOF'
import json, sys
job = json.load(open(sys.argv[1]))["jobs"][0]
side = "write" if sys.argv[2] == "write" else "read"
print(f"{sys.argv[2]:<6} fio {job[side]['bw'] / 1024:.0f} MiB/s (timed: a sanity check only)")
PYEOF
done
echo "files: $out"
