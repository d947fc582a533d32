#!/usr/bin/env bash
# The Azure Blob service goes away under a running daemon and comes back (tests/lib/outage.sh):
# a write+flush during the outage gets EIO once [engine] retry_deadline_ms (5 s) has passed — no
# hang, no crash — and when the emulator returns on the same port with the same --location the
# daemon serves writes again without a restart; after a final restart every acknowledged-flushed
# write is intact. The test runs its own azurite, so stopping it disturbs no other test.
export BP_TEST_BACKEND=azure
source "$(dirname "$0")/../lib/common.sh"
source "$BP_LIB_DIR/outage.sh"
require_blockpipe
require_cmd qemu-io nbdinfo node

readonly AZURITE_DIR=$SOURCE_DIR/tests/servers/azurite
# bp_init finds "the" azurite through BP_SERVERS_DIR: make that ours.
BP_SERVERS_DIR=$BP_TMP/servers
state=$BP_SERVERS_DIR/azurite

bash "$AZURITE_DIR/start.sh" "$state" >"$BP_TMP/azurite-start.out" 2>&1 ||
  fail "could not start azurite: $(cat "$BP_TMP/azurite-start.out")"
azurite_pid=$(sed -n 's/^AZURITE_PID=//p' "$state/env")
azurite_port=$(sed -n 's/^AZURITE_PORT=//p' "$state/env")
register_pid "$azurite_pid"

# SIGTERM, as an orderly shutdown or a host reboot would: azurite persists what it acknowledged
# (its metadata store is saved on exit; a SIGKILL could lose blobs it had confirmed, which would
# be the emulator's loss, not blockpipe's).
stop_azurite() {
  kill -TERM "$azurite_pid"
  wait_pid_gone "$azurite_pid" 30 || fail "azurite $azurite_pid did not stop within 30s"
}

# The same emulator, port and blob store again. start.sh picks a fresh port, so the restart is
# done here with the same arguments and the old port.
_azurite_answers() {
  "$PY" -c 'import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=2)
c.request("GET", "/devstoreaccount1?comp=list")
c.getresponse().read()' "$azurite_port"
}
start_azurite_again() {
  setsid node "$AZURITE_DIR/node_modules/azurite/dist/src/blob/main.js" --blobHost 127.0.0.1 \
    --blobPort "$azurite_port" --location "$state/data" --silent --disableTelemetry \
    >>"$state/azurite.log" 2>&1 </dev/null &
  azurite_pid=$!
  register_pid "$azurite_pid"
  wait_until 30 "azurite on port $azurite_port" _azurite_answers ||
    fail "azurite did not come back on port $azurite_port: $(tail -n 20 "$state/azurite.log")"
}

bp_init
# The container lives in this test's own emulator, which goes away with the temp dir.
BP_REMOTE_PLACES=()
run_outage_test stop_azurite start_azurite_again
