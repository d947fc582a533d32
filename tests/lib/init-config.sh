# The body of the s3-init-config and azure-init-config tests (sourced after common.sh with
# BP_TEST_BACKEND set): the config `blockpipe init --url … --endpoint …` writes must work as is,
# with the credentials from the environment, and its commented-out credential keys must be keys
# the backend plugin accepts and honours once enabled.

# run_init_config_check SECRET_KEY SECRET_VARIABLE KEY_PATTERN REJECTION
#   SECRET_KEY       the config key holding the secret (secret_access_key, account_key)
#   SECRET_VARIABLE  the environment variable the commented line references
#   KEY_PATTERN      sed alternation of the commented credential keys to enable
#   REJECTION        extended regex of the service's answer to a wrong secret
run_init_config_check() {
  local secret_key=$1 secret_var=$2 keys=$3 rejection=$4
  bp_init
  grep -q '^url = ' "$BP_CONFIG" && grep -q '^endpoint = ' "$BP_CONFIG" ||
    fail "init did not write url and endpoint: $(sed -n '/^\[backend\]/,/^\[\[/p' "$BP_CONFIG")"
  grep -q "^# $secret_key = \"\${$secret_var}\"" "$BP_CONFIG" ||
    fail "init did not show $secret_key = \"\${$secret_var}\" as a commented example"
  grep -qE "^[a-z_]+ = \".*(SECRET|KEY|TOKEN)" "$BP_CONFIG" && fail "init wrote a credential into the file"

  log "the config as written, credentials from the environment"
  bp_run
  timeout 60 qemu-io -f raw -c 'write -P 0x61 0 64k' -c 'flush' "$(bp_uri_unix)" >/dev/null ||
    fail "the init config does not serve writes"
  stop_blockpipe

  log "credential keys enabled in the config"
  bp_config_sed "s/^# \\($keys\\) = /\\1 = /"
  bp_run
  timeout 60 qemu-io -f raw -c 'read -P 0x61 0 64k' -c 'write -P 0x62 64k 64k' -c 'flush' \
    "$(bp_uri_unix)" >/dev/null || fail "the config with credential keys does not serve"
  stop_blockpipe

  # The key is honoured, not ignored in favour of the environment: a wrong secret through it
  # must stop the daemon even though the environment still holds the right one.
  log "a wrong $secret_key in the config takes precedence over the environment"
  bp_config_sed "s/^$secret_key = .*/$secret_key = \"\${BP_WRONG_SECRET}\"/"
  BP_WRONG_SECRET=$("$PY" -c 'import base64, os; print(base64.b64encode(os.urandom(64)).decode())') \
    bp_run_must_fail 30
  grep -qE -- "$rejection" "$BP_RUN_OUT" ||
    fail "the daemon refused to start, but not because the secret was rejected: $(cat "$BP_RUN_OUT")"
}
