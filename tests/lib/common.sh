# Shared helpers for the integration tests (tests/integration/*.sh), sourced first by each test.
# A test gets a private temp dir that a single EXIT trap tears down in a safe order — loop mounts,
# then nbdfuse mounts, then every server the test started, by PID, never by name — so a failing
# test leaves no mount, process or socket behind. Every wait is bounded in time. Servers listen
# only on Unix sockets inside the temp dir and on 127.0.0.1 ports chosen per test, so tests can
# run in parallel. The daemon helpers live in server.sh, the FUSE/loop helpers in mounts.sh.
#
# Environment (ctest sets these; defaults suit a build in <source>/build):
#   SOURCE_DIR   the source tree            BUILD_DIR  the build tree
#   BLOCKPIPE    the daemon binary          BP_KEEP_TMP=1 keeps the temp dir for a post-mortem
#   BP_TEST_SERVER=nbdkit  runs the tests against nbdkit's file plugin instead of blockpipe, to
#                check the test logic itself against a known-good server (blockpipe-only tests
#                skip).
#   BP_TEST_BACKEND=s3|azure  runs the test with its volumes on the S3 or Azure test server that
#                a ctest fixture started (see remote.sh); default file.

set -euo pipefail

BP_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SOURCE_DIR=${SOURCE_DIR:-$(cd "$BP_LIB_DIR/../.." && pwd)}
BUILD_DIR=${BUILD_DIR:-$SOURCE_DIR/build}
BLOCKPIPE=${BLOCKPIPE:-$BUILD_DIR/bin/blockpipe}
BP_TEST_SERVER=${BP_TEST_SERVER:-blockpipe}
BP_TEST_NAME=$(basename "${0%.sh}")

# python3-libnbd exists only for Debian's interpreter, and nbdsh runs whatever `python3` is first
# on PATH, so Debian's directories go first.
export PATH=/usr/bin:/usr/sbin:/bin:/sbin:$PATH
PY=/usr/bin/python3

# A short prefix keeps Unix socket paths well under the 108-byte sun_path limit.
BP_TMP=$(mktemp -d /tmp/bpt.XXXXXX)

log() { printf '[%s %s] %s\n' "$(date +%T)" "$BP_TEST_NAME" "$*" >&2; }

# Stop the test: print why, then the daemon's log tail so the cause is in ctest's output.
fail() {
  printf 'FAIL [%s]: %s\n' "$BP_TEST_NAME" "$*" >&2
  bp_print_log_tail >&2 || true
  exit 1
}

# A skip is loud: ctest shows it as "Skipped" (SKIP_RETURN_CODE 77) with this reason.
skip() {
  printf 'SKIP [%s]: %s\n' "$BP_TEST_NAME" "$*" >&2
  exit 77
}

require_cmd() {
  local cmd
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null 2>&1 ||
      fail "required tool '$cmd' is missing (run scripts/install-deps.sh)"
  done
}

# Tests that check blockpipe's own features (control socket, config errors, object layout) cannot
# run against the reference server.
require_blockpipe() {
  [[ $BP_TEST_SERVER == blockpipe ]] || skip "checks blockpipe itself (BP_TEST_SERVER=$BP_TEST_SERVER)"
  [[ -x $BLOCKPIPE ]] || fail "blockpipe binary not found at $BLOCKPIPE (build first)"
}

# Poll a command until it succeeds: wait_until SECONDS DESCRIPTION CMD ARGS...
wait_until() {
  local seconds=$1 what=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { log "timed out after ${seconds}s waiting for $what"; return 1; }
    sleep 0.1
  done
}

# Wait for a PID (not necessarily our child) to exit: wait_pid_gone PID SECONDS
wait_pid_gone() {
  local pid=$1 seconds=$2
  local deadline=$((SECONDS + seconds))
  while kill -0 "$pid" 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# Stop a process we started: SIGTERM, bounded wait, then SIGKILL. Reaps it if it is our child.
stop_pid() {
  local pid=$1 seconds=${2:-10}
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_pid_gone "$pid" "$seconds"; then
    log "pid $pid ignored SIGTERM for ${seconds}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_pid_gone "$pid" 5 || true
  fi
  wait "$pid" 2>/dev/null || true
}

# A free TCP port on 127.0.0.1. Another process can still take it before we bind, so callers that
# listen retry with a fresh port on "address in use".
free_port() {
  "$PY" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# Random-content file of SIZE MiB, reproducible from SEED (so a failure can be replayed).
make_random_file() {
  local path=$1 mib=$2 seed=${3:-1}
  "$PY" - "$path" "$mib" "$seed" <<'PYEOF'
import random, sys
path, mib, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
with open(path, "wb") as f:
    for _ in range(mib):
        f.write(rng.randbytes(1 << 20))
PYEOF
}

# Processes started by tests besides the daemon (nbdkit peers, background clients).
BP_EXTRA_PIDS=()
register_pid() { BP_EXTRA_PIDS+=("$1"); }
# Paths outside BP_TMP (e.g. on /dev/shm) that the trap removes too.
BP_EXTRA_PATHS=()
register_path() { BP_EXTRA_PATHS+=("$1"); }

bp_cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  mounts_cleanup
  bp_cleanup_servers
  local pid
  for pid in "${BP_EXTRA_PIDS[@]}"; do
    stop_pid "$pid" 5
  done
  remote_cleanup "$rc"
  if [[ ${BP_KEEP_TMP:-0} == 1 ]]; then
    log "kept temp dir $BP_TMP ${BP_EXTRA_PATHS[*]}"
  else
    rm -rf "$BP_TMP" "${BP_EXTRA_PATHS[@]}"
  fi
  case $rc in
    0) log "PASS" ;;
    77) ;;
    *) log "exit status $rc" ;;
  esac
  exit "$rc"
}
trap bp_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# shellcheck source=remote.sh
source "$BP_LIB_DIR/remote.sh"
# shellcheck source=server.sh
source "$BP_LIB_DIR/server.sh"
# shellcheck source=mounts.sh
source "$BP_LIB_DIR/mounts.sh"
