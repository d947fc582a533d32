#!/usr/bin/env bash
# qemu-io writes and reads byte patterns at unaligned offsets and lengths (512 bytes at 1000,
# 7 bytes straddling a 4 KiB boundary, 200000 bytes across 64 KiB units, the last sector of the
# device), discards a range, writes zeroes over whole and partial blocks, flushes, and reads every
# byte range back with `read -P` — including the gaps, which must read as zeros. Writes go through
# -t writeback so FLUSH is its own request; one more write goes through qemu's default
# writethrough mode (FUA on the write) right before a kill -9. After the restart every pattern is
# read again.
source "$(dirname "$0")/../lib/common.sh"
require_cmd qemu-io

# The final content of the first 5 MiB and the last sector: "pattern offset length", in order.
readonly LAYOUT="\
0x00 0 1000
0xab 1000 512
0x00 1512 2583
0xcd 4095 7
0x00 4102 4090
0x11 8192 4096
0x00 12288 53243
0x22 65531 200000
0x00 265531 783045
0x00 1048576 1048576
0x00 2097152 1048576
0x00 3145728 65536
0x44 3211264 65536
0x00 3276800 917504
0x55 4194304 100
0x00 4194404 1000
0x55 4195404 7092
0x00 4202496 1048576
0x77 5251072 4096
0x00 5255168 65536
0x66 1073741312 512"

# qemu_io CACHE_MODE CMD...: one qemu-io session; any failed command or pattern mismatch fails.
qemu_io() {
  local cache=$1
  shift
  local args=() cmd out rc=0
  for cmd in "$@"; do args+=(-c "$cmd"); done
  out=$(timeout 120 qemu-io -f raw -t "$cache" "${args[@]}" "$(bp_uri_unix)" 2>&1) || rc=$?
  if ((rc != 0)) || grep -qiE 'verification failed|error|failed' <<<"$out"; then
    fail "qemu-io ($cache) failed (status $rc):
$(grep -iE 'verification failed|error|failed' <<<"$out" | head -n 20)"
  fi
}

verify_layout() {
  local cmds=() pattern offset length
  while read -r pattern offset length; do
    cmds+=("read -P $pattern $offset $length")
  done <<<"$LAYOUT"
  qemu_io writeback "${cmds[@]}"
  log "all $(wc -l <<<"$LAYOUT") ranges read back as expected ($1)"
}

start_blockpipe

qemu_io writeback \
  "write -P 0xab 1000 512" \
  "write -P 0xcd 4095 7" \
  "write -P 0x11 8192 4096" \
  "write -P 0x22 65531 200000" \
  "write -P 0x33 1048576 1048576" \
  "discard 1048576 1048576" \
  "write -P 0x44 3145728 131072" \
  "write -z 3145728 65536" \
  "write -P 0x55 4194304 8192" \
  "write -z 4194404 1000" \
  "write -P 0x66 1073741312 512" \
  "flush"
# Overwrite-then-zero inside one session must not resurrect the old bytes from a buffer.
qemu_io writeback "write -P 0x99 5255168 65536" "write -z 5255168 65536" "flush"
# writethrough: qemu sets FUA on the write itself and sends no separate FLUSH for it.
qemu_io writethrough "write -P 0x77 5251072 4096"
verify_layout "before restart"

kill9_blockpipe
bp_run
verify_layout "after kill -9 and restart"

restart_blockpipe
verify_layout "after SIGTERM and restart"
