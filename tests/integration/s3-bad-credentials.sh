#!/usr/bin/env bash
# A misconfigured S3 backend is a prompt, clear startup error, never a daemon that hangs retrying
# or comes up half working: against a real Ceph RGW, a wrong secret key, an unknown access key and
# a bucket that does not exist each make `blockpipe run` exit non-zero within seconds with a
# message naming the bucket, the endpoint and what S3 answered — and nothing is written to the
# store. The secret itself never appears in the output. With the right credentials the same
# config then serves.
export BP_TEST_BACKEND=s3
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe

readonly PROMPT_S=30
bp_init
prefix_count() { s3_admin count "$BP_REMOTE_BUCKET" "$BP_REMOTE_PREFIX" | cut -d' ' -f1; }
expect_message() { # WHAT PATTERN...
  local what=$1 pattern
  shift
  for pattern in "$@"; do
    grep -qiE -- "$pattern" "$BP_RUN_OUT" || fail "$what: the error does not mention '$pattern':
$(cat "$BP_RUN_OUT")"
  done
}
real_secret=$AWS_SECRET_ACCESS_KEY
wrong_secret=WrongSecret${RANDOM}x$(printf '%s' "$real_secret" | rev | cut -c1-20)

log "wrong secret key"
AWS_SECRET_ACCESS_KEY=$wrong_secret bp_run_must_fail "$PROMPT_S"
expect_message "wrong secret" "$BP_REMOTE_BUCKET" "127\.0\.0\.1:$RGW_PORT" "SignatureDoesNotMatch|signature"
grep -qF -- "$wrong_secret" "$BP_RUN_OUT" && fail "the daemon printed the secret key"
[[ $(prefix_count) == 0 ]] || fail "objects were written under $BP_REMOTE_PREFIX with a wrong secret"

log "unknown access key"
AWS_ACCESS_KEY_ID=AKIANOSUCHKEY${RANDOM} bp_run_must_fail "$PROMPT_S"
expect_message "unknown access key" "$BP_REMOTE_BUCKET" "127\.0\.0\.1:$RGW_PORT" "InvalidAccessKeyId|access key"
[[ $(prefix_count) == 0 ]] || fail "objects were written under $BP_REMOTE_PREFIX with an unknown access key"

log "missing bucket"
missing_bucket=no-such-bucket-$$-$RANDOM
bp_config_sed "s|^url = \"s3://$BP_REMOTE_BUCKET/|url = \"s3://$missing_bucket/|"
bp_run_must_fail "$PROMPT_S"
expect_message "missing bucket" "$missing_bucket" "127\.0\.0\.1:$RGW_PORT" "NoSuchBucket|does not exist|not found"
rc=0
s3_admin head-bucket "$missing_bucket" 2>/dev/null || rc=$?
[[ $rc == 2 ]] || fail "bucket $missing_bucket exists after the failed start (head-bucket status $rc)"

log "right credentials, existing bucket"
bp_config_sed "s|^url = \"s3://$missing_bucket/|url = \"s3://$BP_REMOTE_BUCKET/|"
bp_run
timeout 60 qemu-io -f raw -c 'write -P 0x5a 0 64k' -c 'read -P 0x5a 0 64k' "$(bp_uri_unix)" >/dev/null ||
  fail "the daemon does not serve with the right credentials"
stop_blockpipe
(($(prefix_count) > 0)) || fail "nothing stored under $BP_REMOTE_PREFIX after a good run"
log "bad credentials and a missing bucket were prompt, clear errors; nothing written"
