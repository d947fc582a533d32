#!/usr/bin/env bash
# The S3 gateway dies under a running daemon and comes back (tests/lib/outage.sh): a write+flush
# during the outage gets EIO once [engine] retry_deadline_ms (5 s) has passed — no hang, no crash
# — and when the gateway returns on the same port the daemon serves writes again without a
# restart; after a final restart every acknowledged-flushed write is intact. The test runs its own
# radosgw process on the shared Ceph cluster, so killing it disturbs no other test.
export BP_TEST_BACKEND=s3
source "$(dirname "$0")/../lib/common.sh"
source "$BP_LIB_DIR/outage.sh"
require_blockpipe
require_cmd qemu-io nbdinfo

readonly RGW_START=$SOURCE_DIR/tests/servers/ceph-rgw/start.sh
gateway=$BP_TMP/gateway
gateway_port=

start_gateway() {
  "$RGW_START" --extra-rgw "$BP_SERVERS_DIR/rgw" "$gateway" $gateway_port >>"$BP_TMP/gateway.out" 2>&1 ||
    fail "could not start our radosgw: $(tail -n 20 "$BP_TMP/gateway.out")"
  gateway_pid=$(source "$gateway/env" && echo "$RGW_PID")
  gateway_port=$(source "$gateway/env" && echo "$RGW_PORT")
  register_pid "$gateway_pid"
}
kill_gateway() {
  kill -KILL "$gateway_pid"
  wait_pid_gone "$gateway_pid" 20 || fail "radosgw $gateway_pid survived SIGKILL"
}

start_gateway
bp_init
bp_config_sed "s|^endpoint = \"$RGW_ENDPOINT\"|endpoint = \"http://127.0.0.1:$gateway_port\"|"
run_outage_test kill_gateway start_gateway
