#!/usr/bin/env bash
# A daemon that ran with the local journal and died keeps its volume: the journal on its data dir
# may hold flushed writes the store lacks. A daemon on another data dir (another host) is refused,
# even with --take-over; with --take-over --force it starts and says what it gave up. The first
# daemon's data dir, restarted, replays its journal and serves every flushed write.
source "$(dirname "$0")/../lib/common.sh"
require_cmd qemu-io

with_journal() { bp_config_sed 's/^durability = "store"/durability = "local"/'; }

start_blockpipe with_journal
first_dir=$BP_DIR first_config=$BP_CONFIG
qemu-io -f raw -t writeback -c 'write -P 0x5a 0 1M' -c flush "$(bp_uri_unix)" >/dev/null ||
  fail "write + flush failed"
kill9_blockpipe

# A second data dir on the same objects.
second=$BP_TMP/second
mkdir -p "$second"
"$BLOCKPIPE" init --data-dir "$second" --port "$(free_port)" \
  --url "$(sed -n 's/^url = "\(.*\)"/\1/p' "$first_config")" >>"$BP_LOG" 2>&1 || fail "second init failed"
BP_CONFIG=$second/blockpipe.toml
bp_run_must_fail 60
grep -q 'local journal' "$BP_RUN_OUT" || fail "the refusal does not mention the journal: $(cat "$BP_RUN_OUT")"
rc=0
timeout 60 "$BLOCKPIPE" run --config "$BP_CONFIG" --take-over all >"$BP_TMP/takeover.out" 2>&1 || rc=$?
((rc != 0 && rc != 124)) || fail "--take-over without --force was not refused (status $rc)"
grep -q -- '--force' "$BP_TMP/takeover.out" || fail "the refusal does not name --force"
log "a second data dir is refused while the journal may hold writes, --take-over too"

# The first data dir comes back: replays, serves the flushed write, and releases at a clean stop.
BP_CONFIG=$first_config BP_DIR=$first_dir
bp_run
qemu-io -f raw -c 'read -P 0x5a 0 1M' "$(bp_uri_unix)" >"$BP_TMP/read.out" 2>&1 ||
  fail "the flushed write is gone after restart: $(cat "$BP_TMP/read.out")"
grep -q 'Pattern verification failed' "$BP_TMP/read.out" && fail "wrong data after restart"
stop_blockpipe
log "the journal's own data dir takes the volume back with every flushed write"

# After the clean stop the record is released: the second data dir starts without an override.
BP_CONFIG=$second/blockpipe.toml BP_SOCK=$second/nbd.sock BP_CTL=$second/control.sock
BP_PORT=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$BP_CONFIG" | head -n 1)
bp_run
stop_blockpipe

# --force: kill the second daemon with the journal on, then the first takes over by force.
sed -i 's/^durability = "store"/durability = "local"/' "$BP_CONFIG"
bp_run
kill9_blockpipe
BP_CONFIG=$first_config BP_DIR=$first_dir BP_SOCK=$first_dir/nbd.sock BP_CTL=$first_dir/control.sock
BP_PORT=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$BP_CONFIG" | head -n 1)
"$BLOCKPIPE" run --config "$BP_CONFIG" --take-over all --force >>"$BP_LOG" 2>&1 &
BP_PID=$!
wait_until 60 "daemon with --force" _bp_ready || fail "--take-over --force did not start: $(tail -n 5 "$BP_LOG")"
grep -q 'with --force' "$BP_LOG" || fail "the forced take-over did not warn about the lost writes"
stop_blockpipe
log "--take-over --force takes the volume and says what it gives up"
