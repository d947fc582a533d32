#!/usr/bin/env bash
# `blockpipe init --url azure://CONTAINER/PREFIX --endpoint http://127.0.0.1:PORT/ACCOUNT` writes
# a config that serves on azurite as is, with credentials from AZURE_STORAGE_ACCOUNT and
# AZURE_STORAGE_KEY, and no secret in the file; its commented account/account_key lines, once
# enabled, are accepted by the Azure plugin and take precedence over the environment
# (tests/lib/init-config.sh).
export BP_TEST_BACKEND=azure
source "$(dirname "$0")/../lib/common.sh"
source "$BP_LIB_DIR/init-config.sh"
require_blockpipe
require_cmd qemu-io
run_init_config_check account_key AZURE_STORAGE_KEY 'account\|account_key' \
  'AuthorizationFailure|key was rejected'
log "the init config works on azurite with credentials from the environment or the file"
