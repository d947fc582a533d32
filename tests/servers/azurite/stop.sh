#!/usr/bin/env bash
# Stops the azurite instance start.sh recorded in STATE_DIR/env: SIGTERM by its PID, then
# SIGKILL if it has not exited within 10 s. Succeeds when nothing is running there.
#
# Usage: stop.sh STATE_DIR
set -euo pipefail

state=${1:?usage: stop.sh STATE_DIR}
env_file=$state/env
[[ -f $env_file ]] || exit 0
pid=$(sed -n 's/^AZURITE_PID=//p' "$env_file")
if [[ -z $pid ]] || ! [[ $pid =~ ^[0-9]+$ ]]; then
  echo "stop.sh: no AZURITE_PID in $env_file" >&2
  exit 1
fi
# The recorded PID is only ours if it is still a node process running azurite's blob server.
if kill -0 "$pid" 2>/dev/null && grep -q azurite "/proc/$pid/cmdline" 2>/dev/null; then
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "stop.sh: azurite (PID $pid) ignored SIGTERM for 10 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
fi
rm -f "$env_file"
