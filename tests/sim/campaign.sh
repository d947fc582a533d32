#!/bin/bash
# A long simulation campaign: N processes each run their own range of seeds until a time limit,
# then every failure is printed with the one-line command that replays it.
#
#   tests/sim/campaign.sh [-j JOBS] [-t SECONDS] [-s FIRST_SEED] [-b BUILD_DIR] [-- SIM_ARGS...]
#
# Defaults: one job per CPU, one hour, a random first seed (printed, so the campaign itself can
# be repeated), build/. SIM_ARGS go to every blockpipe-sim (e.g. -- --faults crash --codec zstd).
# Each job owns the seeds FIRST + k*STRIDE .. FIRST + (k+1)*STRIDE - 1. Exit status 1 when any
# seed failed.
set -euo pipefail

jobs=$(nproc)
seconds=3600
first=""
build=build
while getopts "j:t:s:b:h" opt; do
  case $opt in
    j) jobs=$OPTARG ;;
    t) seconds=$OPTARG ;;
    s) first=$OPTARG ;;
    b) build=$OPTARG ;;
    *) sed -n '2,12p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
sim=$build/bin/blockpipe-sim
[ -x "$sim" ] || { echo "campaign: $sim not found (ninja -C $build blockpipe-sim)" >&2; exit 2; }
if [ -z "$first" ]; then
  first=$(( ($(od -An -N4 -tu4 /dev/urandom) + 1) * 1000000000 ))
fi
stride=1000000000
logs=$(mktemp -d "${TMPDIR:-/tmp}/blockpipe-sim-campaign.XXXXXX")
echo "campaign: $jobs jobs for ${seconds}s from seed $first (stride $stride) ${*:-}; logs in $logs"

pids=()
for ((k = 0; k < jobs; k++)); do
  "$sim" --seed $((first + k * stride)) --count $stride --time-limit "$seconds" "$@" \
    > "$logs/job$k.log" 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done

seeds=0
for f in "$logs"/job*.log; do
  n=$(sed -n 's/^\([0-9]*\) seeds from.*/\1/p' "$f" | tail -1)
  seeds=$((seeds + ${n:-0}))
done
failures=$(cat "$logs"/job*.log | grep -c '^FAIL seed' || true)
echo "campaign: $seeds seeds in ${seconds}s ($((seeds / (seconds > 0 ? seconds : 1))) seeds/s), $failures failed"
if [ "$failures" -gt 0 ]; then
  grep -h -A1 '^FAIL seed' "$logs"/job*.log | grep -v '^--$'
fi
exit $status
