#!/usr/bin/env bash
# Quick start: install the build dependencies (Debian 12, apt), build blockpipe in build/, and
# serve the embedded default — a file backend in ./blockpipe-data/objects, lz4, one 1 GiB volume
# "default", NBD on 127.0.0.1:10809 and ./blockpipe-data/nbd.sock. Extra arguments go to
# `blockpipe run` (e.g. --config FILE).
set -euo pipefail

src="$(cd "$(dirname "$0")/.." && pwd)"
"$src/scripts/install-deps.sh"
cmake -S "$src" -B "$src/build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$src/build" -j "$(nproc)" --target blockpipe blockpipe-plugins
exec "$src/build/bin/blockpipe" run "$@"
