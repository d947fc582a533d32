#!/usr/bin/env bash
# Starts npm's s3rver (pinned in package-lock.json) on a free 127.0.0.1 port: an S3 emulator that
# accepts `If-None-Match: *` and silently ignores it, as some S3-compatible stores do. It is the
# real store behind the negative half of the s3-put-if-absent-probe test (blockpipe must not
# write to such a store unless told to run unfenced) and is used for nothing else: it also
# ignores signatures, so it proves nothing about authentication. Path-style only, one bucket.
#
#   start.sh STATE_DIR BUCKET    writes STATE_DIR/env: S3RVER_ENDPOINT, S3RVER_PORT, S3RVER_PID,
#                                S3RVER_BUCKET and its fixed credentials (S3RVER/S3RVER)
# Stop it by its PID (S3RVER_PID). Every wait is bounded.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
state=${1:?usage: start.sh STATE_DIR BUCKET}
bucket=${2:?usage: start.sh STATE_DIR BUCKET}
bin=$here/node_modules/s3rver/bin/s3rver.js
[[ -f $bin ]] || { echo "s3rver/start.sh: s3rver is not installed in $here/node_modules (run scripts/install-deps.sh)" >&2; exit 2; }
command -v node >/dev/null || { echo "s3rver/start.sh: node is not installed (run scripts/install-deps.sh)" >&2; exit 2; }
mkdir -p "$state/data"

answers() {
  /usr/bin/python3 -c 'import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=2)
c.request("GET", "/")
c.getresponse().read()' "$1" 2>/dev/null
}

for attempt in 1 2 3; do
  port=$(/usr/bin/python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # s3rver 3.7 builds ListObjectsV2 continuation tokens with a cipher OpenSSL 3 only offers
  # through its legacy provider.
  setsid node --openssl-legacy-provider "$bin" --directory "$state/data" --address 127.0.0.1 \
    --port "$port" --configure-bucket "$bucket" --no-vhost-buckets --silent \
    >>"$state/s3rver.log" 2>&1 </dev/null &
  pid=$!
  for _ in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || break
    if answers "$port"; then
      cat >"$state/env" <<ENV
S3RVER_ENDPOINT=http://127.0.0.1:$port
S3RVER_PORT=$port
S3RVER_PID=$pid
S3RVER_BUCKET=$bucket
S3RVER_ACCESS_KEY_ID=S3RVER
S3RVER_SECRET_ACCESS_KEY=S3RVER
ENV
      echo "s3rver listening on 127.0.0.1:$port (pid $pid)"
      exit 0
    fi
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  echo "s3rver/start.sh: attempt $attempt on port $port failed: $(tail -n 3 "$state/s3rver.log")" >&2
done
exit 1
