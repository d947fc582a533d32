#!/usr/bin/env bash
# A misconfigured Azure backend is a prompt, clear startup error, never a daemon that hangs
# retrying or comes up half working: against azurite (which verifies Shared Key signatures), a
# wrong account key and a container that does not exist each make `blockpipe run` exit non-zero
# within seconds with a message naming the container, the endpoint and what the service
# answered — and nothing is written. The key never appears in the output. With the right
# credentials the same config then serves.
export BP_TEST_BACKEND=azure
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe

readonly PROMPT_S=30
bp_init
container_count() { azure_admin list "$BP_REMOTE_CONTAINER" | wc -l; }
expect_message() { # WHAT PATTERN...
  local what=$1 pattern
  shift
  for pattern in "$@"; do
    grep -qiE -- "$pattern" "$BP_RUN_OUT" || fail "$what: the error does not mention '$pattern':
$(cat "$BP_RUN_OUT")"
  done
}
endpoint_pattern="127\.0\.0\.1:$AZURITE_PORT"
# A well-formed key (base64 of 64 bytes) that is not the account's.
wrong_key=$("$PY" -c 'import base64, os; print(base64.b64encode(os.urandom(64)).decode())')

log "wrong account key"
AZURE_STORAGE_KEY=$wrong_key bp_run_must_fail "$PROMPT_S"
expect_message "wrong key" "$BP_REMOTE_CONTAINER" "$endpoint_pattern" "AuthorizationFailure|AuthenticationFailed|403|signature"
grep -qF -- "$wrong_key" "$BP_RUN_OUT" && fail "the daemon printed the account key"
[[ $(container_count) == 0 ]] || fail "blobs were written to $BP_REMOTE_CONTAINER with a wrong key"

log "missing container"
missing=no-such-container-$$-$RANDOM
bp_config_sed "s|^url = \"azure://$BP_REMOTE_CONTAINER/|url = \"azure://$missing/|"
bp_run_must_fail "$PROMPT_S"
expect_message "missing container" "$missing" "$endpoint_pattern" "ContainerNotFound|does not exist|not found"
azure_admin list "$missing" >/dev/null 2>&1 && fail "container $missing exists after the failed start"

log "right credentials, existing container"
bp_config_sed "s|^url = \"azure://$missing/|url = \"azure://$BP_REMOTE_CONTAINER/|"
bp_run
timeout 60 qemu-io -f raw -c 'write -P 0x5a 0 64k' -c 'read -P 0x5a 0 64k' "$(bp_uri_unix)" >/dev/null ||
  fail "the daemon does not serve with the right credentials"
stop_blockpipe
(($(container_count) > 0)) || fail "nothing stored in $BP_REMOTE_CONTAINER after a good run"
log "a wrong key and a missing container were prompt, clear errors; nothing written"
