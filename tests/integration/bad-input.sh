#!/usr/bin/env bash
# Bad input is a clean error, never a crash or a hang: `blockpipe run` on a config with an unknown
# key (host, engine and plugin sections), an unset ${VAR}, a TOML syntax error, a bad size, a
# plugin that does not exist (a codec, a filter), a filter key or value its filter refuses, a config file that does not exist, and a TCP port another daemon
# holds — each exits non-zero within seconds with a message naming the file and line and the key
# (or the plugin, variable, path or port). The management CLI without a daemon fails the same way.
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe

case_no=0

# new_case: a fresh data dir with the default config; sets CASE_CONFIG.
new_case() {
  case_no=$((case_no + 1))
  local dir=$BP_TMP/case$case_no
  "$BLOCKPIPE" init --data-dir "$dir" --port "$(free_port)" >/dev/null || fail "init for case $case_no failed"
  CASE_CONFIG=$dir/blockpipe.toml
}

# line_of REGEX: line number of the first config line matching REGEX.
line_of() { grep -n -m1 -E "$1" "$CASE_CONFIG" | cut -d: -f1; }

# insert_after REGEX TEXT: add a line after the first line matching REGEX; prints its number.
insert_after() {
  local at
  at=$(line_of "$1")
  [[ -n $at ]] || fail "no line matches /$1/ in $CASE_CONFIG"
  sed -i "${at}a\\$2" "$CASE_CONFIG"
  echo $((at + 1))
}

replace_line() {
  local at
  at=$(line_of "$1")
  [[ -n $at ]] || fail "no line matches /$1/ in $CASE_CONFIG"
  sed -i "${at}s|.*|$2|" "$CASE_CONFIG"
  echo "$at"
}

# expect_clean_error DESCRIPTION CMD... — then every remaining argument after `--` is a regex the
# message must match (case-insensitive).
expect_clean_error() {
  local what=$1
  shift
  local cmd=() patterns=() out rc=0
  while (($#)) && [[ $1 != -- ]]; do cmd+=("$1"); shift; done
  shift
  patterns=("$@")
  out=$(timeout 30 "${cmd[@]}" 2>&1 </dev/null) || rc=$?
  ((rc != 124)) || fail "$what: still running after 30s (it should refuse at once)"
  ((rc != 0)) || fail "$what: exit status 0, expected an error. Output: $out"
  ((rc < 128)) || fail "$what: killed by signal $((rc - 128)). Output: $out"
  if grep -qE 'AddressSanitizer|runtime error:|terminate called|Segmentation fault|Aborted' <<<"$out"; then
    fail "$what: crashed: $out"
  fi
  local p
  for p in "${patterns[@]}"; do
    grep -qiE -- "$p" <<<"$out" || fail "$what: message does not match /$p/: $out"
  done
  log "ok ($what, status $rc): $(head -n 3 <<<"$out" | tr '\n' ' ')"
}


new_case
line=$(insert_after '^\[host\]' 'bogus_key = 1')
expect_clean_error "unknown key in [host]" "$BLOCKPIPE" run --config "$CASE_CONFIG" -- "blockpipe\.toml:$line" "bogus_key"

new_case
line=$(insert_after '^\[engine\]' 'segmnet_size = "8MiB"')
expect_clean_error "misspelt key in [engine]" "$BLOCKPIPE" run --config "$CASE_CONFIG" -- "blockpipe\.toml:$line" "segmnet_size"

new_case
line=$(insert_after '^url = ' 'bogus_backend_key = "x"')
expect_clean_error "unknown key in [backend]" "$BLOCKPIPE" run --config "$CASE_CONFIG" -- "blockpipe\.toml:$line" "bogus_backend_key"

new_case
line=$(replace_line '^log_level = ' 'log_level = "${BLOCKPIPE_TEST_UNSET_VARIABLE}"')
expect_clean_error "unset \${VAR}" env -u BLOCKPIPE_TEST_UNSET_VARIABLE "$BLOCKPIPE" run --config "$CASE_CONFIG" \
  -- "blockpipe\.toml:$line" "BLOCKPIPE_TEST_UNSET_VARIABLE"

new_case
line=$(replace_line '^\[engine\]' '[engine')
expect_clean_error "TOML syntax error" "$BLOCKPIPE" run --config "$CASE_CONFIG" -- "blockpipe\.toml" "$line"

new_case
line=$(replace_line '^size = "1GiB"' 'size = "12parsecs"')
expect_clean_error "invalid volume size" "$BLOCKPIPE" run --config "$CASE_CONFIG" -- "blockpipe\.toml:$line" "size" "12parsecs"

new_case
replace_line '^plugin = "lz4"' 'plugin = "nosuchcodec"' >/dev/null
expect_clean_error "missing codec plugin" "$BLOCKPIPE" run --config "$CASE_CONFIG" -- "nosuchcodec"

# Backend filters: an unknown filter, a key it does not declare, a value its open() refuses.
new_case
printf '\n[[filter]]\nplugin = "nosuchfilter"\n' >>"$CASE_CONFIG"
line=$(line_of '^plugin = "nosuchfilter"')
expect_clean_error "missing filter plugin" "$BLOCKPIPE" run --config "$CASE_CONFIG" -- \
  "blockpipe\.toml:$((line - 1))" "nosuchfilter" "available filters: .*delay"

new_case
printf '\n[[filter]]\nplugin = "delay"\nlatnecy = "20ms"\n' >>"$CASE_CONFIG"
line=$(line_of '^latnecy')
expect_clean_error "misspelt filter key" "$BLOCKPIPE" run --config "$CASE_CONFIG" -- \
  "blockpipe\.toml:$line" "latnecy" "latency"

new_case
printf '\n[[filter]]\nplugin = "faults"\ntransient_rate = "lots"\n' >>"$CASE_CONFIG"
expect_clean_error "filter value its open refuses" "$BLOCKPIPE" run --config "$CASE_CONFIG" -- \
  "filter\[0\]" "transient_rate must be a rate"

expect_clean_error "config file that does not exist" \
  "$BLOCKPIPE" run --config "$BP_TMP/missing/blockpipe.toml" -- "missing/blockpipe\.toml"

new_case
expect_clean_error "volume list without a running daemon" \
  "$BLOCKPIPE" volume list --config "$CASE_CONFIG" -- "control|running|connect"

# Port in use: a second daemon configured with the first one's TCP port must refuse to start,
# and the first one must be unaffected.
start_blockpipe
new_case
sed -i "s/127\.0\.0\.1:[0-9]*/127.0.0.1:$BP_PORT/" "$CASE_CONFIG"
expect_clean_error "TCP port already in use" "$BLOCKPIPE" run --config "$CASE_CONFIG" -- "$BP_PORT" "in use"
nbdinfo --size "$(bp_uri_tcp)" >/dev/null || fail "the first daemon stopped serving TCP"
nbdinfo --size "$(bp_uri_unix)" >/dev/null || fail "the first daemon stopped serving its Unix socket"
stop_blockpipe
