#!/usr/bin/env bash
# Benchmark (not a test) of garbage collection (issue 16), on the file backend (objects on the
# root disk, in the temp data dir) or on S3: a private Ceph RGW (memstore OSD, 127.0.0.1,
# started here and stopped by PID on exit, as bench/remote-targets.sh does). blockpipe runs the
# config `blockpipe init` writes (lz4, default [gc]: min_dead_ratio 0.3, rate 64 MiB/s); fio
# writes with --refill_buffers, so the data does not compress. STORED is what `volume list`
# reports, checked against the store's own listing of the volume's objects (file sizes on
# disk, or an S3 listing by tests/lib/s3_admin.py); LIVE is what the map references. Steps,
# each on a fresh daemon and a fresh volume:
#  space     1 GiB volume, 4 GiB of 4 KiB random writes (fio nbd engine, qd32), FLUSH, then
#            stored/live every 5 s for 60 s idle. Target: stored <= 1.3x live after the minute.
#  snapshot  the same writes with a snapshot taken after the first 2 GiB; after the FLUSH,
#            stored/live with the snapshot, then `snapshot delete` and stored/live every 5 s for
#            60 s (no `blockpipe gc`: background collection only). Target: the space returns,
#            stored <= 1.3x live within the minute.
#  ext4      ext4 through nbdfuse on a 1 GiB volume: 1,024 pairs of 128 KiB files written
#            alternately, one of each pair deleted, fstrim, FLUSH; stored/live every 5 s for
#            60 s. Target: stored <= 1.2x live within 60 s.
#  iops      4 KiB random-write IOPS (fio, qd32, --seconds) on a volume already holding 2 GiB of
#            overwrites, with [gc] enabled = false and then with GC at its defaults, alternating
#            --rounds times; the bytes GC read and rewrote during each measured run and that
#            run's write amplification ((client bytes + rewritten bytes) / client bytes).
#            Target: with GC >= 0.7x without (the ratio of the rounds' totals).
#  reads     the same prefill, then at once 4 KiB random reads (fio, qd32, --seconds) while GC
#            collects what the prefill left (on) or not (off), alternating --rounds times, with
#            the bytes GC read and rewrote meanwhile. The default cache (256 MiB) holds a quarter
#            of the volume, so most reads go to the store, where GC's own reads compete. Target:
#            with GC >= 0.7x without, the bar the writes have.
# Prints `RESULT key value` lines as it goes and, at the end, a markdown table (also
# OUT/table.md) with the command, the machine, and the load average at the start of each step.
#
# usage: bench/gc.sh [--backend file|s3] [--only "space snapshot ext4 iops reads"] [--seconds S]
#                    [--rate SIZE] [--rounds N] [--out DIR]
#   --backend   file (default) or s3 (starts its own RGW; MEMSTORE_BYTES sizes its OSD)
#   --only      the steps to run, in this order (default: all five)
#   --seconds   measured time of each iops and reads run (default 30)
#   --rate SIZE [gc] rate for every step (default: the init config's, which is the default)
#   --rounds N  iops, reads: how many off/on pairs, alternating (default 2)
#   --out       results directory (default BUILD_DIR/bench-gc-<backend>-<date>)
# Build first (Release). ext4 needs root, nbdfuse and a loop device.
source "$(dirname "$0")/../tests/lib/common.sh"
source "$(dirname "$0")/lib.sh"

backend=file
steps="space snapshot ext4 iops reads"
seconds=30
rounds=2
rate=
out=
command_line="bench/gc.sh $*"
while (($#)); do
  case $1 in
    --backend) backend=$2; shift 2 ;;
    --only) steps=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h | --help) sed -n '2,/^# Build first/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) fail "unknown argument '$1' (see --help)" ;;
  esac
done
[[ $backend == file || $backend == s3 ]] || fail "--backend takes file or s3"
[[ $seconds =~ ^[0-9]+$ ]] && ((seconds >= 5 && seconds <= 600)) || fail "--seconds takes 5 to 600"
[[ $rounds =~ ^[1-9]$ ]] || fail "--rounds takes 1 to 9"
[[ -z $rate || $rate =~ ^[0-9]+(KiB|MiB|GiB)$ ]] || fail "--rate takes a size such as 16MiB"
read -r -a step_list <<<"$steps"
for step in "${step_list[@]}"; do
  [[ $step =~ ^(space|snapshot|ext4|iops|reads)$ ]] ||
    fail "unknown step '$step' (space snapshot ext4 iops reads)"
done
[[ -x $BLOCKPIPE ]] || fail "blockpipe not built at $BLOCKPIPE"
require_cmd fio
out=${out:-$BUILD_DIR/bench-gc-$backend-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
: >"$out/results.txt"
: >"$out/loads.txt"

# Bounds: a step that takes longer is a failure, not a slow result.
readonly FIO_TIMEOUT=1800 IDLE_SECONDS=60 SAMPLE_SECONDS=5

BP_TEST_BACKEND=$backend
RGW_STATE=
trap bench_cleanup EXIT
if [[ $backend == s3 ]]; then
  bench_private_servers bpgc
fi

result() { echo "RESULT $1 $2" | tee -a "$out/results.txt"; }

vol() {  # vol FIELD [VOLUME]: one figure of `volume list --json` (gc.X for the gc block)
  "$BLOCKPIPE" volume list --json --config "$BP_CONFIG" | "$PY" -c '
import json, sys
v = [x for x in json.load(sys.stdin) if x["name"] == sys.argv[2]][0]
f = sys.argv[1]
print(v["gc"][f[3:]] if f.startswith("gc.") else v[f])' "$1" "${2:-default}"
}
metric() {  # metric NAME: a counter of `blockpipe stats --prometheus` (0 when absent)
  timeout 30 "$BLOCKPIPE" stats --prometheus --config "$BP_CONFIG" |
    awk -v n="blockpipe_$1" '$1 == n || index($1, n "{") == 1 {s += $2} END {printf "%d", s}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
fio_random() {  # fio_random read|write NAME EXTRA...: 4 KiB random I/O at qd32 to the default volume
  local rw=$1 name=$2
  shift 2
  timeout "$FIO_TIMEOUT" fio --name="$name" --ioengine=nbd --uri="$(bp_uri_unix)" --rw="rand$rw" \
    --bs=4k --iodepth=32 --size=1g --refill_buffers --norandommap --randrepeat=0 \
    --output-format=json --output="$out/$name.json" "$@" >/dev/null || fail "fio $name failed"
  "$PY" -c 'import json, sys; print(round(json.load(open(sys.argv[1]))["jobs"][0][sys.argv[2]]["iops"]))' \
    "$out/$name.json" "$rw"
}
fio_randwrite() { fio_random write "$@"; }
# start_blockpipe edits: [gc] as the step wants it (off, or the --rate given).
gc_off() { bp_config_append $'[gc]\nenabled = false'; }
gc_rate() { [[ -z $rate ]] || bp_config_append "$(printf '[gc]\nrate = "%s"' "$rate")"; }
flush() { timeout 600 "$BLOCKPIPE" flush --config "$BP_CONFIG" >/dev/null || fail "blockpipe flush failed"; }

# watch STEP LIMIT: stored/live every SAMPLE_SECONDS for IDLE_SECONDS; results STEP.tN, the
# final figures, and the first second at which stored <= LIMIT x live.
watch() {
  local step=$1 limit=$2 t0=$SECONDS i stored live reached=""
  for ((i = 0; i <= IDLE_SECONDS / SAMPLE_SECONDS; i++)); do
    stored=$(vol stored_bytes) live=$(vol live_bytes)
    result "$step.t$((SECONDS - t0))" "$(ratio "$stored" "$live")"
    if [[ -z $reached ]] && awk -v s="$stored" -v l="$live" -v r="$limit" 'BEGIN {exit !(s <= l * r)}'; then
      reached=$((SECONDS - t0))
    fi
    ((i < IDLE_SECONDS / SAMPLE_SECONDS)) && sleep "$SAMPLE_SECONDS"
  done
  local held
  held=$(remote_volume_bytes default)
  stored=$(vol stored_bytes) live=$(vol live_bytes)
  result "$step.stored" "$stored"
  result "$step.store_lists" "$held"
  result "$step.live" "$live"
  result "$step.ratio" "$(ratio "$stored" "$live")"
  result "$step.seconds_to_${limit}x" "${reached:-never}"
  result "$step.gc_rewritten" "$(vol gc.rewritten_bytes)"
  result "$step.write_amplification" "$(printf '%.2f' "$(vol gc.write_amplification)")"
}

# A step's end: the daemon stops and its objects go (RGW's OSD keeps them in RAM).
end_step() {
  stop_blockpipe
  if [[ $backend == s3 ]]; then
    s3_admin delete-prefix "$BP_REMOTE_BUCKET" "$BP_REMOTE_PREFIX" >/dev/null ||
      log "warning: could not delete s3://$BP_REMOTE_BUCKET/$BP_REMOTE_PREFIX"
  fi
  rm -rf "$BP_DIR"
}

space() {
  note "space: 4 GiB of 4 KiB random writes on 1 GiB, FLUSH, 60 s idle"
  start_blockpipe gc_rate
  local t0=$SECONDS
  fio_randwrite overwrite --io_size=4g >/dev/null
  result space.write_seconds $((SECONDS - t0))
  flush
  log "after the writes: stored $(vol stored_bytes), live $(vol live_bytes), rewritten $(vol gc.rewritten_bytes)"
  watch space 1.3
  end_step
}

snapshot() {
  note "snapshot: 2 GiB of writes, snapshot, 2 GiB more, FLUSH, delete the snapshot, 60 s idle"
  start_blockpipe gc_rate
  fio_randwrite before-snapshot --io_size=2g >/dev/null
  "$BLOCKPIPE" snapshot create default half --config "$BP_CONFIG" >/dev/null || fail "snapshot create failed"
  fio_randwrite after-snapshot --io_size=2g >/dev/null
  flush
  sleep "$IDLE_SECONDS"  # as long as the space step's idle minute: what GC does with the pin
  local stored live
  stored=$(vol stored_bytes) live=$(vol live_bytes)
  result snapshot.with_snapshot_stored "$stored"
  result snapshot.with_snapshot_ratio "$(ratio "$stored" "$live")"
  "$BLOCKPIPE" snapshot list default --config "$BP_CONFIG" >"$out/snapshot-list.txt" 2>&1 || true
  "$BLOCKPIPE" snapshot delete default half --config "$BP_CONFIG" >/dev/null || fail "snapshot delete failed"
  watch snapshot 1.3
  end_step
}

ext4() {
  require_cmd nbdfuse mkfs.ext4 fstrim
  require_fuse_and_loop
  note "ext4: 1,024 pairs of 128 KiB files, delete one of each, fstrim, 60 s"
  start_blockpipe gc_rate
  local fs=$BP_TMP/fs i
  fuse_attach "$(bp_uri_unix)" "$BP_TMP/fuse"
  mkfs.ext4 -F -q -E nodiscard "$FUSE_IMAGE" || fail "mkfs.ext4 failed"
  fs_mount "$FUSE_IMAGE" "$fs"
  head -c $((2048 * 128 * 1024)) /dev/urandom >"$BP_TMP/src"
  for ((i = 0; i < 1024; i++)); do  # a and b alternate, so their blocks interleave on disk
    dd if="$BP_TMP/src" of="$fs/a$i" bs=128k skip=$((2 * i)) count=1 status=none
    dd if="$BP_TMP/src" of="$fs/b$i" bs=128k skip=$((2 * i + 1)) count=1 status=none
  done
  rm -f "$BP_TMP/src"
  sync -f "$fs"
  rm -f "$fs"/b*
  sync -f "$fs"
  fstrim "$fs" || fail "fstrim failed"
  sync -f "$fs"
  fs_umount "$fs"
  fuse_detach "$BP_TMP/fuse"
  flush
  log "after fstrim: stored $(vol stored_bytes), live $(vol live_bytes)"
  watch ext4 1.2
  end_step
}

# off_on STEP read|write: --rounds pairs of runs, GC off then on, each on a fresh daemon whose
# volume first takes 2 GiB of random overwrites (the garbage GC then collects); the measured
# run is 4 KiB random I/O of the given kind at qd32 for --seconds. Off and on alternate: on a
# shared machine the load moves between runs, and a pair measured back to back is the fairest
# comparison; the table shows the totals' ratio.
off_on() {
  local step=$1 rw=$2 round mode edit before_client before_rewritten before_read before_reads
  local client rewritten n sum_off=0 sum_on=0
  for ((round = 1; round <= rounds; round++)); do
    for mode in off on; do
      note "$step: round $round, 4 KiB random ${rw}s qd32 ${seconds}s after 2 GiB of overwrites, GC $mode"
      edit=gc_rate
      [[ $mode == off ]] && edit=gc_off
      start_blockpipe $edit
      fio_randwrite "$step-prefill-$mode-$round" --io_size=2g >/dev/null
      before_client=$(vol gc.client_written_bytes) before_rewritten=$(vol gc.rewritten_bytes)
      before_read=$(metric gc_read_bytes_total) before_reads=$(metric gc_reads_total)
      n=$(fio_random "$rw" "$step-measure-$mode-$round" --time_based --runtime="$seconds")
      result "$step.gc_$mode.r$round" "$n"
      if [[ $mode == off ]]; then sum_off=$((sum_off + n)); else sum_on=$((sum_on + n)); fi
      client=$(($(vol gc.client_written_bytes) - before_client))
      rewritten=$(($(vol gc.rewritten_bytes) - before_rewritten))
      result "$step.gc_${mode}_rewritten.r$round" "$rewritten"
      result "$step.gc_${mode}_read_bytes.r$round" "$(($(metric gc_read_bytes_total) - before_read))"
      result "$step.gc_${mode}_reads.r$round" "$(($(metric gc_reads_total) - before_reads))"
      if [[ $rw == write ]]; then
        result "$step.gc_${mode}_write_amplification.r$round" "$(awk -v c="$client" -v r="$rewritten" 'BEGIN {printf "%.2f", (c + r) / c}')"
      fi
      result "$step.gc_${mode}_ratio.r$round" "$(ratio "$(vol stored_bytes)" "$(vol live_bytes)")"
      end_step
    done
  done
  result "$step.gc_off" "$((sum_off / rounds))"
  result "$step.gc_on" "$((sum_on / rounds))"
}
iops() { off_on iops write; }
reads() { off_on reads read; }

echo "$(load)" >"$out/load-before.txt"
if [[ $backend == s3 ]]; then
  bench_start_rgw "$out/servers.log" 3h
fi
for step in "${step_list[@]}"; do
  "$step"
done
echo "$(load)" >"$out/load-after.txt"

{
  echo "Command: \`$command_line\`; blockpipe $(git -C "$SOURCE_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "Machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM, kernel $(uname -r); $(fio --version)$([[ $backend == s3 ]] && echo "; $(radosgw --version 2>/dev/null | head -n 1 | cut -d' ' -f1-3) (memstore)")"
  echo "Load average (1, 5, 15 min) before: $(cat "$out/load-before.txt"); at each step: $(awk '{print $1 " " $(NF-2) " " $(NF-1) " " $NF}' "$out/loads.txt" | paste -sd ';' | sed 's/;/; /g'); after: $(cat "$out/load-after.txt")"
  echo
  "$PY" - "$out/results.txt" "$backend" <<'PYEOF'
import sys
r = dict(l.split()[1:3] for l in open(sys.argv[1]) if l.startswith("RESULT"))
def f(k, fmt="{}"):
    return fmt.format(r[k]) if k in r else "—"
def mb(k):
    return f"{int(r[k]) / 1e6:,.1f} MB" if k in r else "—"
def verdict(ok):
    return "PASS" if ok else "MISS"
print(f"| {sys.argv[2]} | figure | target | |")
print("|---|---|---|---|")
if "space.ratio" in r:
    x = float(r["space.ratio"])
    print(f"| space: 4 GiB of 4 KiB random writes on 1 GiB, FLUSH, 60 s | stored/live **{x:.2f}×** "
          f"({mb('space.stored')} for {mb('space.live')}); WA {f('space.write_amplification')} | ≤ 1.3× | {verdict(x <= 1.3)} |")
if "snapshot.ratio" in r:
    x = float(r["snapshot.ratio"])
    print(f"| snapshot after 2 GiB, 2 GiB more, FLUSH, 60 s: stored/live with it | "
          f"{float(r['snapshot.with_snapshot_ratio']):.2f}× ({mb('snapshot.with_snapshot_stored')}) | — | |")
    print(f"| … then deleted, 60 s idle | stored/live **{x:.2f}×** ({mb('snapshot.stored')} for "
          f"{mb('snapshot.live')}), ≤ 1.3× after {f('snapshot.seconds_to_1.3x')} s | ≤ 1.3× (space returns) | {verdict(x <= 1.3)} |")
if "ext4.ratio" in r:
    x = float(r["ext4.ratio"])
    print(f"| ext4: 1,024 pairs of 128 KiB files, one of each deleted, fstrim | stored/live **{x:.2f}×** after 60 s "
          f"({mb('ext4.stored')} for {mb('ext4.live')}), ≤ 1.2× after {f('ext4.seconds_to_1.2x')} s; WA {f('ext4.write_amplification')} | ≤ 1.2× within 60 s | "
          f"{verdict(r.get('ext4.seconds_to_1.2x', 'never') != 'never')} |")
def off_on_row(step, what):
    if f"{step}.gc_on" not in r or f"{step}.gc_off" not in r:
        return
    on, off = int(r[f"{step}.gc_on"]), int(r[f"{step}.gc_off"])
    rounds = sorted({k.rsplit(".r", 1)[1] for k in r if k.startswith(f"{step}.gc_on.r")}, key=int)
    def one(n):
        wa = r.get(f"{step}.gc_on_write_amplification.r{n}")
        return (f"round {n}: {int(r[f'{step}.gc_off.r{n}']):,} / {int(r[f'{step}.gc_on.r{n}']):,}, GC read "
                f"{mb(f'{step}.gc_on_read_bytes.r{n}')} and rewrote {mb(f'{step}.gc_on_rewritten.r{n}')}"
                + (f", WA {wa}" if wa else ""))
    print(f"| 4 KiB random-{what} IOPS, qd32, right after 2 GiB of overwrites, GC off / on | mean {off:,} / **{on:,}** "
          f"(**{on / off:.2f}×**); {'; '.join(one(n) for n in rounds)} | ≥ 0.7× | {verdict(on >= 0.7 * off)} |")
off_on_row("iops", "write")
off_on_row("reads", "read")
PYEOF
} >"$out/table.md"
cat "$out/table.md"
log "results in $out"
