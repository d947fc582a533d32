#!/usr/bin/env bash
# Builds blockpipe and runs every test: a Release build in build/ with all unit and integration
# tests (ctest -j2: the integration tests pick their own sockets and ports, and the ones that
# stream hundreds of MiB hold a shared lock so no two of them compete), then an ASan+UBSan build
# in build-asan/ that runs the unit tests. Exits non-zero if anything fails. Run
# scripts/install-deps.sh once first on a fresh machine (the integration tests mount filesystems
# through nbdfuse and loop devices, so they want root; without it those tests report a skip).
set -euo pipefail

cd "$(dirname "$0")/.."
jobs=$(nproc)
start=$SECONDS

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

echo "== All tests passed in $(((SECONDS - start) / 60)) min $(((SECONDS - start) % 60)) s"
