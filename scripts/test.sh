#!/usr/bin/env bash
# Checks the layout of every C/C++ file (scripts/check-format.sh), then builds blockpipe and runs
# every test: a Release build in build/ with all unit and integration tests (ctest -j2: the
# integration tests pick their own sockets and ports, and the ones that
# stream hundreds of MiB hold a shared lock so no two of them compete), then an ASan+UBSan build
# in build-asan/ that runs the unit tests, then a clang build in build-tsan/ that checks the lock
# annotations (-Wthread-safety as errors) and runs the concurrent tests under ThreadSanitizer.
# Exits non-zero if anything fails. Run
# scripts/install-deps.sh once first on a fresh machine (the integration tests mount filesystems
# through nbdfuse and loop devices, so they want root; without it those tests report a skip).
set -euo pipefail

cd "$(dirname "$0")/.."
jobs=$(nproc)
start=$SECONDS

echo "== Format check (scripts/check-format.sh, clang-format 14)"
scripts/check-format.sh

echo "== Release build (build/)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$jobs"

echo "== All tests (build/)"
(cd build && ctest --output-on-failure -j2)

echo "== ASan+UBSan build (build-asan/)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBLOCKPIPE_SANITIZE=ON
cmake --build build-asan -j "$jobs"

echo "== Unit tests under ASan+UBSan (build-asan/)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# LeakSanitizer's exit-time tracer itself can crash in a test process that loads a plugin
# ("Tracer caught signal 11" … "LeakSanitizer has encountered a fatal error", printed after the
# test has passed; seen under ctest for one unit-azure test, not reproducible outside it). Only
# when that message appears are the failed tests run once more, still under ASan and UBSan but
# without the leak check; any other failure fails the run.
asan_log=build-asan/unit-tests.log
if ! (cd build-asan && ctest -L unit --output-on-failure -j2) 2>&1 | tee "$asan_log"; then
  if grep -q "LeakSanitizer has encountered a fatal error" "$asan_log"; then
    echo "== LeakSanitizer's tracer crashed; re-running the failed unit tests once without the leak check"
    (cd build-asan && ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=0 ctest --rerun-failed --output-on-failure)
  else
    exit 1
  fi
fi

# ---- Lock discipline: clang thread-safety analysis + ThreadSanitizer (build-tsan/) ----------
# One clang tree serves both checks (the targets the analysis covers are a subset of what the TSan
# tests need, so a second tree would only compile them twice). The annotated code — the host
# libraries, the daemon and the NBD frontend — is built first: a lock annotation violated anywhere
# there is a compile error and stops CI here. thread-safety-* (tests/thread_safety) prove that this
# tree still rejects an unlocked access. Then only what the TSan tests need is built: the engine,
# loader and NBD unit tests, and the daemon with the plugins nbd-concurrency starts (pipelined and
# multi-connection NBD traffic), and nbd_host_harness for nbd-harness-protocol (the frontend with
# completions delayed and reordered across threads). Every TSan report is written under build-tsan/tsan/ and fails the
# stage, whichever process (test binary or daemon) it came from; tests/tsan.supp may only hide
# third-party code.
stage_start=$SECONDS
echo "== Clang thread-safety analysis (build-tsan/)"
CC=clang CXX=clang++ cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DBLOCKPIPE_THREAD_SAFETY=ON -DBLOCKPIPE_TSAN=ON
cmake --build build-tsan -j "$jobs" --target blockpipe blockpipe-frontend-nbd
(cd build-tsan && ctest -L thread-safety --output-on-failure -j2)
echo "== analysis done in $((SECONDS - stage_start)) s"

echo "== ThreadSanitizer build (build-tsan/)"
cmake --build build-tsan -j "$jobs" --target unit-engine unit-loader unit-nbd nbd_host_harness \
  blockpipe-backend-file blockpipe-codec-lz4 blockpipe-codec-zstd blockpipe-codec-encrypt
echo "== Engine, loader and NBD tests under ThreadSanitizer (build-tsan/)"
tsan_dir=$PWD/build-tsan/tsan tsan_supp=$PWD/tests/tsan.supp
rm -rf "$tsan_dir" && mkdir -p "$tsan_dir"
tsan_ok=true
(cd build-tsan &&
  TSAN_OPTIONS="log_path=$tsan_dir/report second_deadlock_stack=1 suppressions=$tsan_supp" \
    ctest -R '^(unit-(engine|loader|nbd)\.|nbd-concurrency$|nbd-harness-protocol$)' \
      --output-on-failure -j2) ||
  tsan_ok=false
if compgen -G "$tsan_dir/report.*" >/dev/null; then
  echo "== ThreadSanitizer reports:"
  cat "$tsan_dir"/report.*
  tsan_ok=false
fi
$tsan_ok || exit 1
echo "== TSan stage done in $((SECONDS - stage_start)) s"

echo "== All tests passed in $(((SECONDS - start) / 60)) min $(((SECONDS - start) % 60)) s"
