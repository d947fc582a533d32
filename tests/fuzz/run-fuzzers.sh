#!/usr/bin/env bash
# Runs the libFuzzer targets of a fuzz build (see docs/fuzzing.md), each for a bounded time,
# starting from the committed corpus. New inputs go to a work directory, never into the source
# tree; crashes are saved there as artifacts and make the script exit non-zero.
#
#   tests/fuzz/run-fuzzers.sh BUILD_DIR [SECONDS_PER_TARGET] [TARGET...]
#
# BUILD_DIR was configured with CC=clang CXX=clang++ -DBLOCKPIPE_FUZZ=ON and built with
# `ninja fuzzers`. SECONDS_PER_TARGET defaults to 60. FUZZ_WORK_DIR (default: BUILD_DIR/fuzz-work)
# keeps the grown corpora between runs; FUZZ_JOBS (default 1) runs that many fuzzing processes per
# target in parallel.
set -euo pipefail

if [[ $# -lt 1 ]]; then
  sed -n '2,12p' "$0" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
seconds=${2:-60}
shift $(( $# >= 2 ? 2 : 1 ))
source_dir=$(cd "$(dirname "$0")" && pwd)
work_dir=${FUZZ_WORK_DIR:-$build_dir/fuzz-work}
jobs=${FUZZ_JOBS:-1}

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for corpus in "$source_dir"/corpus/*/; do targets+=("$(basename "$corpus")"); done
fi

failed=()
for target in "${targets[@]}"; do
  binary=$build_dir/bin/fuzz-$target
  if [[ ! -x $binary ]]; then
    echo "missing $binary: build the fuzz targets with 'ninja -C $build_dir fuzzers'" >&2
    exit 2
  fi
  corpus=$work_dir/corpus/$target
  artifacts=$work_dir/artifacts/$target
  mkdir -p "$corpus" "$artifacts"
  log=$work_dir/$target.log
  echo "== fuzz-$target for ${seconds}s (log: $log)"
  # Options: grown corpus first (new finds land there), committed seeds second (read-only);
  # a dictionary of the format's keywords when there is one.
  options=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384
           -print_final_stats=1 -artifact_prefix="$artifacts/")
  [[ -f $source_dir/dict/$target.dict ]] && options+=(-dict="$source_dir/dict/$target.dict")
  # Parallel runs write one log per worker into the current directory: the work directory.
  [[ $jobs -gt 1 ]] && options+=(-jobs="$jobs" -workers="$jobs")
  status=0
  (cd "$work_dir" && rm -f fuzz-*.log &&
     "$binary" "${options[@]}" "$corpus" "$source_dir/corpus/$target") >"$log" 2>&1 || status=$?
  for worker_log in "$work_dir"/fuzz-*.log; do
    [[ -f $worker_log ]] || continue
    cat "$worker_log" >>"$log" && rm -f "$worker_log"
  done
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)' "$log" | tail -3 || true
  if [[ $status -ne 0 ]] || compgen -G "$artifacts/*" >/dev/null; then
    echo "!! fuzz-$target found a problem (exit $status); inputs in $artifacts" >&2
    grep -m5 -E 'ERROR:|property violated|SUMMARY' "$log" >&2 || true
    failed+=("$target")
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "findings in: ${failed[*]}" >&2
  exit 1
fi
echo "no findings in ${#targets[@]} target(s)"
