#!/usr/bin/env bash
# Stops what tests/servers/ceph-rgw/start.sh started: `stop.sh STATE_DIR` the whole cluster (every
# gateway on it included), `stop.sh OUT_DIR` one extra gateway. Only the PIDs start.sh recorded
# are signalled, and only while their command line still names this cluster's ceph.conf, so a
# reused PID or another instance is never touched. Gateways stop first (while the monitor can
# still answer their goodbyes), then the OSD by SIGKILL — on a clean shutdown memstore would
# first write everything it holds to disk, only for it to be deleted — then the monitor. Waits
# are bounded; then the cluster's data (monitor store, OSD, gateway state) is removed and the
# logs are kept for a post-mortem. Exits 0 when nothing it started is left running.
set -euo pipefail

[[ $# == 1 ]] || { echo "usage: stop.sh STATE_DIR|EXTRA_RGW_DIR" >&2; exit 2; }
dir=$(realpath -m "$1")
[[ -f $dir/pids ]] || { echo "ceph-rgw/stop.sh: nothing recorded in $dir" >&2; exit 0; }

ours() { # PID CONF: still the process start.sh launched?
  [[ -r /proc/$1/cmdline ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$2"
}

# wait_gone SECONDS PID...: true when all are gone in time.
wait_gone() {
  local deadline=$((SECONDS + $1)) pid
  shift
  for pid in "$@"; do
    while kill -0 "$pid" 2>/dev/null; do
      ((SECONDS < deadline)) || return 1
      sleep 0.1
    done
  done
}

declare -a gateways=() osds=() mons=() wrappers=()
while read -r pid name conf; do
  [[ -n $pid ]] && ours "$pid" "$conf" || continue
  case $name in
    *-wrapper) wrappers+=("$pid") ;;
    osd) osds+=("$pid") ;;
    mon) mons+=("$pid") ;;
    *) gateways+=("$pid") ;;
  esac
done <"$dir/pids"

stop_group() { # SIGNAL PID...: signal, bounded wait, SIGKILL what is left
  local sig=$1
  shift
  (($#)) || return 0
  kill "-$sig" "$@" 2>/dev/null || true
  if ! wait_gone 20 "$@"; then
    echo "ceph-rgw/stop.sh: still running 20s after SIG$sig: $*; sending SIGKILL" >&2
    kill -KILL "$@" 2>/dev/null || true
  fi
}
stop_group TERM "${gateways[@]}"
stop_group KILL "${osds[@]}"
stop_group TERM "${mons[@]}"
# A wrapper whose daemon was never recorded (a start that failed half way) still has a child:
# SIGKILL it by parent PID (it is a throwaway daemon of this cluster either way).
for pid in "${wrappers[@]}"; do
  pkill -KILL -P "$pid" 2>/dev/null || true
done
all=("${gateways[@]}" "${osds[@]}" "${mons[@]}" "${wrappers[@]}")
if ((${#all[@]})) && ! wait_gone 10 "${all[@]}"; then
  echo "ceph-rgw/stop.sh: processes still running in $dir" >&2
  exit 1
fi

: >"$dir/pids"
rm -f "$dir/env"
if [[ -f $dir/ceph.conf ]]; then
  rm -rf "$dir/mon" "$dir/osd" "$dir/rgw" "$dir/run" "$dir/monmap" "$dir/keyring"
fi
echo "stopped ${#gateways[@]} gateway(s), ${#osds[@]} OSD(s), ${#mons[@]} monitor(s) ($dir)"
