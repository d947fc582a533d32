#!/usr/bin/env bash
# `blockpipe init --url s3://BUCKET/PREFIX --endpoint http://127.0.0.1:PORT` writes a config that
# serves on Ceph RGW as is, with credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, and
# no secret in the file; its commented access_key_id/secret_access_key lines, once enabled, are
# accepted by the S3 plugin and take precedence over the environment (tests/lib/init-config.sh).
export BP_TEST_BACKEND=s3
source "$(dirname "$0")/../lib/common.sh"
source "$BP_LIB_DIR/init-config.sh"
require_blockpipe
require_cmd qemu-io
run_init_config_check secret_access_key AWS_SECRET_ACCESS_KEY 'access_key_id\|secret_access_key' SignatureDoesNotMatch
grep -q '^region = "us-east-1"' "$BP_CONFIG" && grep -q '^addressing = "path"' "$BP_CONFIG" ||
  fail "init did not write region and path-style addressing for a custom endpoint"
log "the init config works on RGW with credentials from the environment or the file"
