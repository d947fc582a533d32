#!/usr/bin/env bash
# Benchmark (not a test): the daemon's resident memory against its configured bounds. With the
# file backend and the default config (cache_memory 256 MiB unless --cache-memory), fill GIB
# GiB of a volume with random data (nbdcopy), run 4 KiB random reads at qd32 over it (fio) for
# RUNTIME seconds, then leave the daemon idle; prints VmRSS after each phase and the bound
# docs/engine.md states (cache_memory + 15% + the fixed overhead).
#
# usage: bench/memory.sh [--gib N] [--runtime SECONDS] [--cache-memory SIZE] [--objects-dir DIR]
#                        [--blockpipe PATH]
source "$(dirname "$0")/../tests/lib/common.sh"

gib=2 runtime=20 cache_memory=256MiB objects_parent=$BP_TMP binary=$BLOCKPIPE
while (($#)); do
  case $1 in
    --gib) gib=$2; shift 2 ;;
    --runtime) runtime=$2; shift 2 ;;
    --cache-memory) cache_memory=$2; shift 2 ;;
    --objects-dir) objects_parent=$2; shift 2 ;;
    --blockpipe) binary=$2; shift 2 ;;
    -h | --help) sed -n '2,/^# usage/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) fail "unknown argument '$1' (see --help)" ;;
  esac
done
require_cmd fio nbdcopy
BLOCKPIPE=$binary
objects=$(mktemp -d "$objects_parent/bp-memory.XXXXXX")
register_path "$objects"
bp_init
sed -i -e "s|^url = .*|url = \"file://$objects\"|" "$BP_CONFIG"
sed -i -e "s|^cache_memory = .*|cache_memory = \"$cache_memory\"|" "$BP_CONFIG"
bp_config_sed "s|^size = \"1GiB\"|size = \"$((gib + 1))GiB\"|"
bp_run
rss() { awk '/^VmRSS/ { printf "%d", $2 / 1024 }' "/proc/$BP_PID/status"; }
echo "start: $(rss) MiB"
head -c $((gib << 30)) /dev/urandom | nbdcopy - "$(bp_uri_unix)" || fail "fill failed"
echo "after ${gib} GiB fill: $(rss) MiB"
fio --name=randread --ioengine=nbd --uri="$(bp_uri_unix)" --size=${gib}g \
  --rw=randread --bs=4k --iodepth=32 --time_based=1 --runtime="$runtime" --randseed=1 \
  --output-format=terse --terse-version=3 >"$BP_TMP/fio.out" || fail "fio failed"
echo "after random reads: $(rss) MiB ($(awk -F';' 'NF > 8 { print $8; exit }' "$BP_TMP/fio.out") read IOPS)"
for s in 3 6 10; do
  sleep $((s == 3 ? 3 : s == 6 ? 3 : 4))
  echo "idle ${s}s: $(rss) MiB"
done
"$BLOCKPIPE" stats --config "$BP_CONFIG" | grep 'cache:'
stop_blockpipe
