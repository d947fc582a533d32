#!/usr/bin/env bash
# Benchmark (not a test) of issue 17's two claims, on the file backend with objects on tmpfs:
#  1. nbdcopy out of a 4 GiB volume holding 64 MiB (64 scattered 1 MiB pieces) against nbdcopy out
#     of a dense 64 MiB volume: BLOCK_STATUS lets the sparse copy skip the holes (target ≤ 2×).
#  2. TLS-PSK against plaintext on one daemon and one 1 GiB volume of random data, over TCP on
#     127.0.0.1: 1 MiB sequential read and write with nbdcopy (8 requests in flight, one
#     connection), 4 KiB random read and write at queue depth 32 with bench/nbd_rand_io.py
#     (libnbd's asynchronous API; fio's nbd engine cannot do TLS with Debian's libnbd 1.14).
#     Targets: sequential ≥ 0.5× plaintext, random ≥ 0.7×.
#     The same four workloads run against nbdkit's memory plugin with its GnuTLS (`--tls=on
#     --tls-psk`), holding the same 1 GiB, as a peer: its ratio shows what the client's TLS and
#     this machine allow (the client's GnuTLS runs on the same CPUs).
# Each figure is the median of --repeat runs (default 3), plaintext and TLS interleaved.
#
# usage: bench/nbd-tls-sparse.sh [--repeat N] [--seconds S]
source "$(dirname "$0")/../tests/lib/common.sh"
require_cmd nbdcopy nbdkit

repeat=3 seconds=10
while (($#)); do
  case $1 in
    --repeat) repeat=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    *) fail "unknown argument $1" ;;
  esac
done

objects=$(mktemp -d /dev/shm/bp-bench.XXXXXX)
register_path "$objects"
psk=$BP_TMP/keys.psk
(umask 077 && printf 'bench:%s\n' "$(openssl rand -hex 32)" >"$psk")
edit() {
  sed -i -e "s|^url = .*|url = \"file://$objects\"|" \
    -e "s|^listen = .*|&\ntls = \"on\"\ntls_psk_file = \"$psk\"|" "$1"
}
start_blockpipe edit
bp_volume create sparse --size 4GiB >/dev/null
bp_volume create dense --size 64MiB >/dev/null
bp_volume create io --size 1GiB >/dev/null
make_random_file "$BP_TMP/data64" 64
make_random_file "$BP_TMP/data1g" 1024 2
nbdcopy "$BP_TMP/data64" "$(bp_uri_tcp dense)"
nbdcopy "$BP_TMP/data1g" "$(bp_uri_tcp io)"
"$PY" - "$(bp_uri_tcp sparse)" "$BP_TMP/data64" <<'PYEOF'
import sys, nbd
h = nbd.NBD(); h.connect_uri(sys.argv[1])
data = open(sys.argv[2], "rb").read()
for i in range(64):  # 1 MiB every 64 MiB
    h.pwrite(data[i << 20:(i + 1) << 20], i * (64 << 20) + (7 << 20))
h.flush(); h.shutdown()
PYEOF
"$BLOCKPIPE" flush --config "$BP_CONFIG" >/dev/null

kit_port=$(free_port)
nbdkit -f -p "$kit_port" -i 127.0.0.1 --tls=on --tls-psk="$psk" memory 1G >>"$BP_TMP/nbdkit.log" 2>&1 &
kit_pid=$!
register_pid "$kit_pid"
wait_until 20 "nbdkit on port $kit_port" nbdinfo --size "nbd://127.0.0.1:$kit_port/" ||
  fail "nbdkit did not start: $(tail -n 5 "$BP_TMP/nbdkit.log")"
nbdcopy "$BP_TMP/data1g" "nbd://127.0.0.1:$kit_port/"

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b - a}'; }

copy_out() {  # seconds to copy URI to a file on tmpfs
  local t0 t1
  rm -f "$objects/out.img"
  t0=$(now)
  nbdcopy "$1" "$objects/out.img"
  t1=$(now)
  rm -f "$objects/out.img"
  elapsed "$t0" "$t1"
}
sparse_t=() dense_t=()
for ((i = 0; i < repeat; i++)); do
  sparse_t+=("$(copy_out "$(bp_uri_tcp sparse)")")
  dense_t+=("$(copy_out "$(bp_uri_tcp dense)")")
done
sparse=$(printf '%s\n' "${sparse_t[@]}" | median)
dense=$(printf '%s\n' "${dense_t[@]}" | median)

declare -A uris=(
  [plain]=$(bp_uri_tcp io)
  [tls]="nbds://bench@127.0.0.1:$BP_PORT/io?tls-psk-file=$psk"
  [kitplain]="nbd://127.0.0.1:$kit_port/"
  [kittls]="nbds://bench@127.0.0.1:$kit_port/?tls-psk-file=$psk"
)
seq_read() {
  local t0 t1
  t0=$(now)
  nbdcopy --connections=1 --requests=8 --request-size=1048576 "$1" null:
  t1=$(now)
  awk -v s="$(elapsed "$t0" "$t1")" 'BEGIN {printf "%.0f", 1024 / s}'
}
seq_write() {
  local t0 t1
  t0=$(now)
  nbdcopy --connections=1 --requests=8 --request-size=1048576 "$BP_TMP/data1g" "$1"
  t1=$(now)
  awk -v s="$(elapsed "$t0" "$t1")" 'BEGIN {printf "%.0f", 1024 / s}'
}
rand() { "$PY" "$SOURCE_DIR/bench/nbd_rand_io.py" "$1" "$2" "$seconds" 32 | "$PY" -c 'import json,sys; print(round(json.load(sys.stdin)["iops"]))'; }
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A results
for ((i = 0; i < repeat; i++)); do
  for kind in plain tls kitplain kittls; do
    uri=${uris[$kind]}
    results[$kind.sr]+="$(seq_read "$uri") "
    results[$kind.sw]+="$(seq_write "$uri") "
    results[$kind.rr]+="$(rand "$uri" read) "
    results[$kind.rw]+="$(rand "$uri" write) "
  done
done
med() { tr ' ' '\n' <<<"${results[$1]}" | grep . | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

echo
echo "| workload | blockpipe plaintext | blockpipe TLS-PSK | TLS / plaintext | nbdkit memory plaintext | nbdkit TLS-PSK | nbdkit TLS / plaintext | target |"
echo "|---|---|---|---|---|---|---|---|"
for w in "sr:1 MiB sequential read, qd8 (nbdcopy):MiB/s:0.5" "sw:1 MiB sequential write, qd8 (nbdcopy):MiB/s:0.5" \
  "rr:4 KiB random read, qd32 (libnbd aio):IOPS:0.7" "rw:4 KiB random write, qd32 (libnbd aio):IOPS:0.7"; do
  IFS=: read -r key label unit target <<<"$w"
  p=$(med "plain.$key") t=$(med "tls.$key") kp=$(med "kitplain.$key") kt=$(med "kittls.$key")
  echo "| $label | $p $unit | $t $unit | $(ratio "$t" "$p") | $kp $unit | $kt $unit | $(ratio "$kt" "$kp") | ≥ $target |"
done
echo
echo "| nbdcopy out | seconds (median of $repeat) |"
echo "|---|---|"
echo "| 4 GiB volume holding 64 MiB | $sparse |"
echo "| dense 64 MiB volume | $dense |"
echo "| ratio sparse / dense | $(ratio "$sparse" "$dense") (target ≤ 2) |"
echo "load average (1, 5, 15 min) before the TLS runs: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
grep -o 'TLS established ([^,]*, [^,]*' "$BP_LOG" | sort | uniq -c | head -3
