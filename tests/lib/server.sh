# Server helpers for the integration tests (sourced by common.sh): create a blockpipe data dir
# with `blockpipe init`, start `blockpipe run` in the background, wait until its NBD and control
# sockets accept connections, stop it with SIGTERM (a hang is a failure: shutdown must drain
# within a bound), kill -9 it, restart it on the same data dir, and call its management CLI.
#
# The one place that knows how the server under test is started is bp_run: BP_TEST_SERVER=nbdkit
# swaps in nbdkit's file plugin (one file per export in a directory, plus an nbd-plugin proxy for
# TCP) so the test logic can be checked against a known-good server.
#
# State of the current instance (one per test; tests that need a second one run it by hand):
#   BP_DIR data dir   BP_CONFIG its blockpipe.toml   BP_LOG daemon stdout+stderr (appended)
#   BP_SOCK NBD Unix socket   BP_CTL control socket   BP_PORT TCP port on 127.0.0.1
#   BP_PID daemon PID (empty when stopped)   BP_EXIT exit status of the last stop

BP_START_TIMEOUT=${BP_START_TIMEOUT:-60}
BP_STOP_TIMEOUT=${BP_STOP_TIMEOUT:-60}
BP_DIR= BP_CONFIG= BP_LOG= BP_SOCK= BP_CTL= BP_PORT= BP_PID= BP_EXIT=
BP_PROXY_PID=

bp_uri_unix() { echo "nbd+unix:///${1:-default}?socket=$BP_SOCK"; }
bp_uri_tcp() { echo "nbd://127.0.0.1:$BP_PORT/${1:-default}"; }

bp_print_log_tail() {
  [[ -n $BP_LOG && -s $BP_LOG ]] || return 0
  echo "---- last 60 lines of $BP_LOG ----"
  tail -n 60 "$BP_LOG"
  echo "---- end of daemon log ----"
}

# bp_init [DIR]: a fresh data dir with the default config (lz4, volume "default" of 1 GiB, NBD on
# unix:DIR/nbd.sock and 127.0.0.1:<free port>) whose objects live on the backend under test:
# DIR/objects, or a place of the test's own on the S3/Azure test server (BP_TEST_BACKEND).
bp_init() {
  BP_DIR=${1:-$BP_TMP/data}
  BP_CONFIG=$BP_DIR/blockpipe.toml
  BP_LOG=$BP_TMP/daemon.log
  BP_SOCK=$BP_DIR/nbd.sock
  BP_CTL=$BP_DIR/control.sock
  BP_PORT=$(free_port)
  mkdir -p "$BP_DIR"
  if [[ $BP_TEST_SERVER == nbdkit ]]; then
    [[ $BP_TEST_BACKEND == file ]] || skip "the nbdkit reference server has no $BP_TEST_BACKEND backend"
    mkdir -p "$BP_DIR/exports"
    truncate -s 1G "$BP_DIR/exports/default"
    echo "# reference server: nbdkit file dir=$BP_DIR/exports" >"$BP_CONFIG"
    return 0
  fi
  local place=()
  if [[ $BP_TEST_BACKEND != file ]]; then
    bp_backend_place "$BP_DIR"
    place=(--url "$BP_BACKEND_URL" --endpoint "$BP_BACKEND_ENDPOINT")
  fi
  "$BLOCKPIPE" init --data-dir "$BP_DIR" --port "$BP_PORT" "${place[@]}" >>"$BP_LOG" 2>&1 ||
    fail "blockpipe init --data-dir $BP_DIR ${place[*]} failed"
  [[ -s $BP_CONFIG ]] || fail "blockpipe init wrote no $BP_CONFIG"
}

# Edit the config with a sed expression, failing if it changed nothing (a silent no-op edit would
# make a test check the wrong thing).
bp_config_sed() {
  local expr=$1 before
  before=$(md5sum <"$BP_CONFIG")
  sed -i -e "$expr" "$BP_CONFIG"
  [[ $(md5sum <"$BP_CONFIG") != "$before" ]] || fail "config edit '$expr' matched nothing in $BP_CONFIG"
}

# Append raw TOML (e.g. another [[volume]]) to the config.
bp_config_append() { printf '%s\n' "$1" >>"$BP_CONFIG"; }

# Garbage collection made eager, for the crash tests: small segments (so a few overwrites leave
# mostly-dead ones), a segment collected once 5% of it is dead, a pass every 20 ms, and a rate
# that never holds it back. A start_blockpipe edit function.
bp_config_eager_gc() {
  bp_config_sed 's/^segment_size = .*/segment_size = "256KiB"/'
  bp_config_append '[gc]
min_dead_ratio = 0.05
interval_ms = 20
rate = "256MiB"'
}

_bp_socket_accepts() {
  "$PY" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(2)
s.connect(sys.argv[1])' "$1"
}

_bp_start_process() {
  echo "==== start $(date +%T.%N) ====" >>"$BP_LOG"
  if [[ $BP_TEST_SERVER == nbdkit ]]; then
    rm -f "$BP_SOCK"
    nbdkit -f -U "$BP_SOCK" file dir="$BP_DIR/exports" >>"$BP_LOG" 2>&1 &
    BP_PID=$!
    wait_until 20 "nbdkit socket" _bp_socket_accepts "$BP_SOCK" || fail "nbdkit did not start"
    nbdkit -f -i 127.0.0.1 -p "$BP_PORT" nbd socket="$BP_SOCK" dynamic-export=true >>"$BP_LOG" 2>&1 &
    BP_PROXY_PID=$!
    return 0
  fi
  "$BLOCKPIPE" run --config "$BP_CONFIG" >>"$BP_LOG" 2>&1 &
  BP_PID=$!
}

# The daemon is ready when both sockets accept connections and the TCP port is listening.
_bp_ready() {
  _bp_socket_accepts "$BP_SOCK" || return 1
  if [[ $BP_TEST_SERVER == blockpipe ]]; then
    _bp_socket_accepts "$BP_CTL" || return 1
  fi
  "$PY" -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2).close()' "$BP_PORT"
}

# Start the server on the existing data dir and wait until it serves. If the daemon exits early
# because another process grabbed our TCP port, retry with a fresh port (twice at most).
bp_run() {
  local attempt rc deadline
  for attempt in 1 2 3; do
    _bp_start_process
    deadline=$((SECONDS + BP_START_TIMEOUT))
    while ! _bp_ready >/dev/null 2>&1; do
      if ! kill -0 "$BP_PID" 2>/dev/null; then
        rc=0
        wait "$BP_PID" || rc=$?
        BP_PID=
        if ((attempt < 3)) && tail -n 5 "$BP_LOG" | grep -qi 'in use'; then
          local old=$BP_PORT
          BP_PORT=$(free_port)
          log "port $old was taken; retrying on $BP_PORT"
          bp_config_sed "s/127\.0\.0\.1:$old/127.0.0.1:$BP_PORT/"
          continue 2
        fi
        fail "daemon exited with status $rc before it was ready"
      fi
      ((SECONDS < deadline)) || fail "daemon not ready after ${BP_START_TIMEOUT}s"
      sleep 0.1
    done
    log "server up: pid $BP_PID, $BP_SOCK, 127.0.0.1:$BP_PORT"
    return 0
  done
}

# bp_run_must_fail SECONDS: run the daemon in the foreground on the current config, expecting it
# to refuse to start. Fails the test if it serves (exit 0 or still running after SECONDS: a bad
# setup must be a prompt error, not a hang or a retry loop). The output is in BP_RUN_OUT.
bp_run_must_fail() {
  local seconds=$1 rc=0 started=$SECONDS
  BP_RUN_OUT=$BP_TMP/run-must-fail.$((++_bp_run_must_fail_count)).out
  timeout -k 5 "$seconds" "$BLOCKPIPE" run --config "$BP_CONFIG" >"$BP_RUN_OUT" 2>&1 || rc=$?
  cat "$BP_RUN_OUT" >>"$BP_LOG"
  ((rc != 124 && rc != 137)) || fail "blockpipe run did not exit within ${seconds}s: $(tail -n 5 "$BP_RUN_OUT")"
  ((rc != 0)) || fail "blockpipe run exited 0 but should have refused to start: $(tail -n 5 "$BP_RUN_OUT")"
  log "blockpipe run refused to start (status $rc after $((SECONDS - started))s)"
}
_bp_run_must_fail_count=0

# start_blockpipe [EDIT_FN]: init a fresh data dir, let EDIT_FN change the config, run it.
start_blockpipe() {
  bp_init
  if [[ -n ${1:-} ]]; then
    "$1" "$BP_CONFIG"
  fi
  bp_run
}

# stop_blockpipe [EXPECTED_STATUS]: SIGTERM, then wait for a clean exit (wait_blockpipe_exit).
stop_blockpipe() {
  [[ -n $BP_PID ]] || fail "stop_blockpipe: no daemon running"
  kill -TERM "$BP_PID" 2>/dev/null || true
  wait_blockpipe_exit "${1:-0}"
}

# wait_blockpipe_exit [EXPECTED_STATUS]: for a daemon that was already told to stop. One that
# does not exit within BP_STOP_TIMEOUT is killed and the test fails: shutdown must not hang.
wait_blockpipe_exit() {
  local expected=${1:-0}
  [[ -n $BP_PID ]] || fail "wait_blockpipe_exit: no daemon running"
  [[ -n $BP_PROXY_PID ]] && stop_pid "$BP_PROXY_PID" 10 && BP_PROXY_PID=
  if ! wait_pid_gone "$BP_PID" "$BP_STOP_TIMEOUT"; then
    kill -KILL "$BP_PID" 2>/dev/null || true
    wait "$BP_PID" 2>/dev/null || true
    BP_PID=
    fail "daemon did not exit within ${BP_STOP_TIMEOUT}s of SIGTERM"
  fi
  BP_EXIT=0
  wait "$BP_PID" || BP_EXIT=$?
  BP_PID=
  [[ $BP_EXIT == "$expected" ]] || fail "daemon exited with status $BP_EXIT after SIGTERM (expected $expected)"
  log "server stopped (status $BP_EXIT)"
}

# Kill the daemon without warning, as a power cut would: nothing unflushed may be relied on.
kill9_blockpipe() {
  [[ -n $BP_PID ]] || fail "kill9_blockpipe: no daemon running"
  [[ -n $BP_PROXY_PID ]] && stop_pid "$BP_PROXY_PID" 10 && BP_PROXY_PID=
  kill -KILL "$BP_PID" 2>/dev/null || true
  wait "$BP_PID" 2>/dev/null || true
  BP_PID=
}

restart_blockpipe() {
  stop_blockpipe
  bp_run
}

# The management CLI against the running daemon: bp_volume create NAME --size 1GiB, etc.
bp_volume() {
  if [[ $BP_TEST_SERVER == nbdkit ]]; then
    case $1 in
      create) truncate -s "${4%iB}" "$BP_DIR/exports/$2" ;;
      delete) rm "$BP_DIR/exports/$2" ;;
      list) ls "$BP_DIR/exports" ;;
    esac
    return
  fi
  "$BLOCKPIPE" volume "$@" --config "$BP_CONFIG"
}

bp_cleanup_servers() {
  [[ -n $BP_PROXY_PID ]] && stop_pid "$BP_PROXY_PID" 5
  [[ -n $BP_PID ]] && stop_pid "$BP_PID" 20
  BP_PID= BP_PROXY_PID=
  return 0
}

# A second, independent server to compare against: the in-RAM ceiling. Sets NBDKIT_SOCK and
# NBDKIT_PID (stopped by the trap, or earlier with stop_pid).
start_nbdkit_memory() {
  local size=${1:-1G}
  NBDKIT_SOCK=$BP_TMP/nbdkit-memory.sock
  rm -f "$NBDKIT_SOCK"
  nbdkit -f -U "$NBDKIT_SOCK" memory "$size" >>"$BP_TMP/nbdkit.log" 2>&1 &
  NBDKIT_PID=$!
  register_pid "$NBDKIT_PID"
  wait_until 20 "nbdkit memory socket" _bp_socket_accepts "$NBDKIT_SOCK" ||
    fail "nbdkit memory did not start: $(tail -n 5 "$BP_TMP/nbdkit.log")"
}
