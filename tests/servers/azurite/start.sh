#!/usr/bin/env bash
# Starts Microsoft's Azure Blob emulator (azurite-blob, pinned in package-lock.json) on a free
# 127.0.0.1 port for one test, in strict mode (no --loose), so requests it would reject on Azure
# fail here too. Everything it keeps lives under STATE_DIR: the blob data, its log, and an `env`
# file a test sources to reach it:
#   AZURITE_BLOB_ENDPOINT  http://127.0.0.1:PORT/devstoreaccount1 (path-style account)
#   AZURE_STORAGE_ACCOUNT  devstoreaccount1
#   AZURE_STORAGE_KEY      the emulator's well-known development key
#   AZURITE_PID, AZURITE_PORT
# Exits 0 once the emulator answers HTTP; non-zero with a message on any failure (the emulator
# is stopped again then). Stop it with stop.sh STATE_DIR.
#
# Usage: start.sh STATE_DIR      (AZURITE_DEBUG=1 also writes azurite's debug log, which shows
#                                the string-to-sign it computed for every request)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
state=${1:?usage: start.sh STATE_DIR}
mkdir -p "$state"
state=$(cd "$state" && pwd)

bin="$here/node_modules/azurite/dist/src/blob/main.js"
if [[ ! -f $bin ]]; then
  echo "start.sh: azurite is not installed in $here/node_modules (run scripts/install-deps.sh)" >&2
  exit 2
fi
command -v node >/dev/null || { echo "start.sh: node is not installed (run scripts/install-deps.sh)" >&2; exit 2; }

if [[ -s $state/env ]]; then
  # A previous instance in this directory: refuse rather than leak it.
  prev=$(sed -n 's/^AZURITE_PID=//p' "$state/env")
  if [[ -n $prev ]] && kill -0 "$prev" 2>/dev/null; then
    echo "start.sh: azurite (PID $prev) is already running for $state; stop.sh it first" >&2
    exit 1
  fi
  rm -f "$state/env"
fi

# The emulator's well-known development account (public, documented by Microsoft; it protects
# nothing and works only against the emulator).
account=devstoreaccount1
key='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

free_port() {
  python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# Answers at all (any HTTP status): azurite replies 400/403 to an unauthenticated request.
answers() {
  python3 - "$1" <<'PY'
import http.client, sys
try:
    c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=2)
    c.request("GET", "/devstoreaccount1?comp=list")
    c.getresponse().read()
    sys.exit(0)
except Exception:
    sys.exit(1)
PY
}

mkdir -p "$state/data"
log=$state/azurite.log
pid=
# The port is free when picked but another process may take it before azurite binds: a few
# attempts with fresh ports.
for attempt in 1 2 3 4 5; do
  port=$(free_port)
  args=(--blobHost 127.0.0.1 --blobPort "$port" --location "$state/data" --silent
        --disableTelemetry)
  if [[ ${AZURITE_DEBUG:-0} == 1 ]]; then
    args+=(--debug "$state/azurite-debug.log")
  fi
  # setsid: the emulator must not take signals meant for the test's process group.
  setsid node "$bin" "${args[@]}" >>"$log" 2>&1 </dev/null &
  pid=$!
  up=0
  # Cold start of node + azurite takes 1-3 s on these machines; 30 s bounds a stuck start.
  for _ in $(seq 1 300); do
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    if answers "$port"; then up=1; break; fi
    sleep 0.1
  done
  if [[ $up == 1 ]]; then break; fi
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo "start.sh: azurite did not answer on 127.0.0.1:$port within 30 s" >&2
    tail -n 20 "$log" >&2 || true
    exit 1
  fi
  wait "$pid" 2>/dev/null || true
  pid=
  if ! grep -q EADDRINUSE "$log"; then break; fi
done
if [[ -z $pid ]]; then
  echo "start.sh: azurite exited during startup; its log ($log) ends with:" >&2
  tail -n 20 "$log" >&2 || true
  exit 1
fi

cat >"$state/env.tmp" <<ENV
AZURITE_BLOB_ENDPOINT=http://127.0.0.1:$port/$account
AZURITE_PORT=$port
AZURITE_PID=$pid
AZURE_STORAGE_ACCOUNT=$account
AZURE_STORAGE_KEY=$key
ENV
mv "$state/env.tmp" "$state/env"
echo "azurite listening on 127.0.0.1:$port (PID $pid, state in $state)"
