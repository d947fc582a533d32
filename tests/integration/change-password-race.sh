#!/usr/bin/env bash
# Two `blockpipe change-password` runs from two machines (two configs with their own data dirs on
# one store) give the same encrypted volume different new passwords at the same moment. The
# metadata is replaced with put-if-match against the version each run read, so exactly one
# change lands: one run succeeds, the other fails without writing (it says the metadata changed
# meanwhile, or, if it started after the first had finished, that the configured password no
# longer opens the volume), and the volume opens with the winner's password and with no other.
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe

P1='first password, long enough'
PA='password of machine a'
PB='password of machine b'
export BLOCKPIPE_PASSWORD=$P1

bp_init
"$BLOCKPIPE" init --data-dir "$BP_DIR" --port "$BP_PORT" --encrypt --force >>"$BP_LOG" 2>&1 ||
  fail "blockpipe init --encrypt failed"
bp_config_sed 's/^kdf = "moderate"$/kdf = "interactive"/'
bp_run
timeout 120 "$PY" "$BP_LIB_DIR/pattern_io.py" write "$(bp_uri_unix default)" 7 20 ||
  fail "pattern write failed"
stop_blockpipe

for m in a b; do
  mkdir -p "$BP_TMP/$m"
  sed -e "s|^data_dir = .*|data_dir = \"$BP_TMP/$m\"|" \
    -e "s|^control_socket = .*|control_socket = \"$BP_TMP/$m/control.sock\"|" "$BP_CONFIG" >"$BP_TMP/$m.toml"
  grep -q "^data_dir = \"$BP_TMP/$m\"" "$BP_TMP/$m.toml" || fail "could not write config $m"
done

printf '%s' "$PA" | timeout 120 "$BLOCKPIPE" change-password --config "$BP_TMP/a.toml" >"$BP_TMP/a.out" 2>&1 &
pid_a=$!
printf '%s' "$PB" | timeout 120 "$BLOCKPIPE" change-password --config "$BP_TMP/b.toml" >"$BP_TMP/b.out" 2>&1 &
pid_b=$!
rc_a=0 rc_b=0
wait "$pid_a" || rc_a=$?
wait "$pid_b" || rc_b=$?
log "a: status $rc_a, $(tail -n 1 "$BP_TMP/a.out"); b: status $rc_b, $(tail -n 1 "$BP_TMP/b.out")"
if ((rc_a == 0 && rc_b != 0)); then
  winner=$PA loser=b
elif ((rc_b == 0 && rc_a != 0)); then
  winner=$PB loser=a
else
  cat "$BP_TMP/a.out" "$BP_TMP/b.out"
  fail "expected exactly one change-password to succeed (statuses $rc_a and $rc_b)"
fi
grep -qE "changed while the new key header was prepared|does not open|wrong password|password" "$BP_TMP/$loser.out" ||
  { cat "$BP_TMP/$loser.out"; fail "the losing run does not say why it failed"; }
grep -q "changed while the new key header was prepared" "$BP_TMP/$loser.out" &&
  log "the runs overlapped: the loser's put-if-match was refused"

opens_with() { BLOCKPIPE_PASSWORD=$1 timeout 120 "$BLOCKPIPE" fsck --config "$BP_CONFIG" --volume default >>"$BP_TMP/fsck.out" 2>&1; }
opens_with "$winner" || fail "the volume does not open with the winning password"
for other in "$P1" "$PA" "$PB"; do
  [[ $other == "$winner" ]] && continue
  ! opens_with "$other" || fail "the volume still opens with a password that should not work"
done
export BLOCKPIPE_PASSWORD=$winner
bp_run
timeout 120 "$PY" "$BP_LIB_DIR/pattern_io.py" verify "$(bp_uri_unix default)" 7 20 ||
  fail "the data does not read back with the winning password"
stop_blockpipe
log "exactly one change-password landed; the volume opens with its password only"
