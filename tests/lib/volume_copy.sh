# Helpers of the volume-copy tests (sourced after common.sh): extra stores next to the test's
# main data dir, each with its own config, port and daemon, and a whole-device checksum.
#
#   new_store DIR [init options...]   `blockpipe init` a store (--url/--endpoint for S3 or Azure,
#                                     --encrypt), without a [[volume]] of its own: a daemon would
#                                     create that volume at startup, and a copy would then be
#                                     refused onto it. Fast Argon2id costs for encrypted stores.
#   start_store DIR / stop_store      serve it in the background (one at a time; STORE_PID)
#   sha_of SOCKET EXPORT              sha256 of the whole export, read through NBD
#   volume_copy ARGS...               `blockpipe volume copy`, bounded in time

new_store() {
  local dir=$1
  shift
  "$BLOCKPIPE" init --data-dir "$dir" --port "$(free_port)" "$@" >>"$BP_LOG" 2>&1 ||
    fail "blockpipe init --data-dir $dir $* failed"
  sed -i -e '/^\[\[volume\]\]/,$d' -e 's/^kdf = "moderate"$/kdf = "interactive"/' "$dir/blockpipe.toml"
}

start_store() {
  "$BLOCKPIPE" run --config "$1/blockpipe.toml" >>"$BP_TMP/store.log" 2>&1 &
  STORE_PID=$!
  register_pid "$STORE_PID"
  wait_until 60 "daemon of $1" _bp_socket_accepts "$1/control.sock" ||
    fail "daemon of $1 did not start: $(tail -n 5 "$BP_TMP/store.log")"
  wait_until 30 "NBD socket of $1" _bp_socket_accepts "$1/nbd.sock" || fail "no NBD socket in $1"
}

stop_store() {
  kill -TERM "$STORE_PID" 2>/dev/null || true
  wait_pid_gone "$STORE_PID" 60 || fail "daemon $STORE_PID did not stop within 60 s"
  local rc=0
  wait "$STORE_PID" || rc=$?
  ((rc == 0)) || fail "daemon $STORE_PID exited with status $rc: $(tail -n 5 "$BP_TMP/store.log")"
}

sha_of() { timeout 300 nbdcopy "nbd+unix:///$2?socket=$1" - | sha256sum | cut -d' ' -f1; }

volume_copy() { timeout 600 "$BLOCKPIPE" volume copy "$@"; }
