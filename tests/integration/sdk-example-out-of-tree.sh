#!/usr/bin/env bash
# The SDK works for third parties: install the build into a temp prefix, build the example
# checksum codec from a copy of sdk/examples/codec-checksum against that prefix only — with its
# CMakeLists.txt (find_package(blockpipe)) and with its Makefile (pkg-config) — check each .so
# exports exactly one dynamic symbol and passes the example's own daemon-free test. Then install
# it into the prefix's plugin directory, run the *installed* daemon (which must find every plugin
# without a flag) with the chain zstd → checksum → encrypt — the third-party codec between the
# bundled compressor and the bundled encryption — write and read back data across a restart,
# check that `blockpipe fsck` authenticates it all, and finally remove the plugin: the daemon
# must refuse the volume, naming the missing codec. Then the same for a backend filter: the
# example guard filter (sdk/examples/filter-guard) is built both ways against the prefix, passes
# its own test, is listed by `blockpipe plugins`, and in a [[filter]] stack over the file backend
# counts the daemon's calls and refuses to let `volume delete` remove a protected volume, whose
# data is still there after a restart.
source "$(dirname "$0")/../lib/common.sh"

for tool in cmake pkg-config cc make nm qemu-io; do
  command -v "$tool" >/dev/null 2>&1 || skip "tool '$tool' is missing (run scripts/install-deps.sh)"
done

PREFIX=$BP_TMP/prefix
EXAMPLE_SRC=$SOURCE_DIR/sdk/examples/codec-checksum
PLUGIN_SO=blockpipe-codec-checksum.so

# Exactly one defined dynamic symbol, and it is the entry point.
check_exports() {
  local so=$1 symbols
  [[ -f $so ]] || fail "$so was not built"
  symbols=$(nm -D --defined-only "$so" | awk 'NF == 3 { print $3 }')
  [[ $symbols == blockpipe_plugin_entry ]] ||
    fail "$so must export only blockpipe_plugin_entry, exports: $(echo $symbols)"
}

# ---- 1. install the main build into a private prefix ------------------------------------------
log "installing $BUILD_DIR into $PREFIX"
cmake --install "$BUILD_DIR" --prefix "$PREFIX" >"$BP_TMP/install.log" 2>&1 ||
  fail "cmake --install failed: $(tail -n 20 "$BP_TMP/install.log")"
for f in include/blockpipe/blockpipe.h include/blockpipe/bp_codec.h \
  lib/cmake/blockpipe/blockpipeConfig.cmake lib/cmake/blockpipe/blockpipeConfigVersion.cmake \
  lib/cmake/blockpipe/BlockpipePlugin.cmake lib/pkgconfig/blockpipe-sdk.pc \
  lib/blockpipe/blockpipe-plugin.map \
  lib/blockpipe/plugins/blockpipe-backend-file.so lib/blockpipe/plugins/blockpipe-codec-lz4.so \
  lib/blockpipe/plugins/blockpipe-codec-zstd.so lib/blockpipe/plugins/blockpipe-codec-encrypt.so; do
  [[ -f $PREFIX/$f ]] || fail "installed tree lacks $f"
done
for so in backend-file codec-lz4 codec-zstd codec-encrypt; do
  check_exports "$PREFIX/lib/blockpipe/plugins/blockpipe-$so.so"
done

# ---- 2. CMake consumer: find_package(blockpipe) from the prefix only --------------------------
CMAKE_COPY=$BP_TMP/example-cmake
cp -r "$EXAMPLE_SRC" "$CMAKE_COPY"
rm -rf "$CMAKE_COPY/build" "$CMAKE_COPY"/*.o "$CMAKE_COPY"/*.so "$CMAKE_COPY/test_checksum"
log "configuring the example with CMake against $PREFIX"
cmake -S "$CMAKE_COPY" -B "$CMAKE_COPY/build" \
  -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_INSTALL_PREFIX="$PREFIX" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF \
  >"$BP_TMP/example-cmake.log" 2>&1 ||
  fail "configuring the example failed: $(tail -n 30 "$BP_TMP/example-cmake.log")"
found_dir=$(sed -n 's/^blockpipe_DIR:PATH=//p' "$CMAKE_COPY/build/CMakeCache.txt")
[[ $found_dir == "$PREFIX/lib/cmake/blockpipe" ]] ||
  fail "find_package(blockpipe) used '$found_dir', not the temp prefix"
cmake --build "$CMAKE_COPY/build" >>"$BP_TMP/example-cmake.log" 2>&1 ||
  fail "building the example with CMake failed: $(tail -n 30 "$BP_TMP/example-cmake.log")"
# Nothing of the source tree may leak into the example's build.
if grep -rqF --include='*.txt' --include='*.make' --include='*.ninja' --include='Makefile' \
  --include='*.cmake' -e "$SOURCE_DIR/" "$CMAKE_COPY/build"; then
  fail "the example's build refers to the source tree $SOURCE_DIR"
fi
check_exports "$CMAKE_COPY/build/$PLUGIN_SO"
(cd "$CMAKE_COPY/build" && ctest --output-on-failure --no-tests=error) >>"$BP_TMP/example-cmake.log" 2>&1 ||
  fail "the example's own test failed: $(tail -n 30 "$BP_TMP/example-cmake.log")"
log "CMake build of the example: OK (one exported symbol, its test passes)"

# ---- 3. Makefile consumer: pkg-config from the prefix only ------------------------------------
MAKE_COPY=$BP_TMP/example-make
cp -r "$EXAMPLE_SRC" "$MAKE_COPY"
# Whatever a developer built inside the source copy must not count.
rm -rf "$MAKE_COPY/build" "$MAKE_COPY"/*.o "$MAKE_COPY"/*.so "$MAKE_COPY/test_checksum"
# PKG_CONFIG_LIBDIR replaces the default search path: only the prefix's .pc can be found.
[[ $(PKG_CONFIG_LIBDIR=$PREFIX/lib/pkgconfig PKG_CONFIG_PATH= pkg-config --variable=plugindir blockpipe-sdk) -ef \
  $PREFIX/lib/blockpipe/plugins ]] || fail "blockpipe-sdk.pc does not point plugindir at the prefix"
(cd "$MAKE_COPY" && PKG_CONFIG_LIBDIR=$PREFIX/lib/pkgconfig PKG_CONFIG_PATH= make check) \
  >"$BP_TMP/example-make.log" 2>&1 ||
  fail "make check of the example failed: $(tail -n 30 "$BP_TMP/example-make.log")"
check_exports "$MAKE_COPY/$PLUGIN_SO"
log "Makefile + pkg-config build of the example: OK"

# ---- 4. the installed daemon uses it in a pipeline -------------------------------------------
require_blockpipe
BLOCKPIPE=$PREFIX/bin/blockpipe
[[ -x $BLOCKPIPE ]] || fail "the install put no blockpipe in $PREFIX/bin"
cmake --install "$CMAKE_COPY/build" >>"$BP_TMP/example-cmake.log" 2>&1 ||
  fail "installing the example plugin failed"
INSTALLED_PLUGIN=$PREFIX/lib/blockpipe/plugins/$PLUGIN_SO
[[ -f $INSTALLED_PLUGIN ]] || fail "the example did not install to $INSTALLED_PLUGIN"

bp_init
"$BLOCKPIPE" plugins --config "$BP_CONFIG" >"$BP_TMP/plugins.txt" 2>&1 ||
  fail "blockpipe plugins failed: $(cat "$BP_TMP/plugins.txt")"
grep -q checksum "$BP_TMP/plugins.txt" || fail "blockpipe plugins does not list the checksum codec"
grep -q algorithm "$BP_TMP/plugins.txt" || fail "blockpipe plugins does not show the checksum keys"

# The default chain is lz4; make it zstd → checksum → encrypt. Compression comes first and
# encryption last, as the host requires; the checksum codec neither compresses nor encrypts, so
# it may sit between them.
export BLOCKPIPE_PASSWORD='out of tree, in the chain'
bp_config_sed 's/^plugin = "lz4"$/plugin = "zstd"\nlevel = 5\n\n[[codec]]\nplugin = "checksum"\nalgorithm = "crc64"\n\n[[codec]]\nplugin = "encrypt"\npassword = "${BLOCKPIPE_PASSWORD}"\nkdf = "interactive"/'
bp_run
chain=$("$BLOCKPIPE" volume list --json --config "$BP_CONFIG" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)[0]["codecs"])') ||
  fail "volume list failed"
[[ $chain == "zstd > checksum > encrypt" ]] || fail "the volume's chain is '$chain', not zstd > checksum > encrypt"

make_random_file "$BP_TMP/in.bin" 16 7
nbdcopy "$BP_TMP/in.bin" "$(bp_uri_unix)" || fail "nbdcopy into the volume failed"
"$PY" "$BP_LIB_DIR/pattern_io.py" write "$(bp_uri_unix)" 3 100 || fail "pattern write failed"
restart_blockpipe
# nbdcopy would copy the whole 1 GiB volume; read back just what was written.
"$PY" - "$(bp_uri_unix)" "$BP_TMP/out.bin" $((16 << 20)) <<'PYEOF' || fail "reading the volume back failed"
import sys
import nbd
h = nbd.NBD()
h.connect_uri(sys.argv[1])
with open(sys.argv[2], "wb") as out:
    for offset in range(0, int(sys.argv[3]), 1 << 20):
        out.write(h.pread(1 << 20, offset))
h.shutdown()
PYEOF
cmp "$BP_TMP/in.bin" "$BP_TMP/out.bin" || fail "data read back through zstd → checksum → encrypt differs"
"$PY" "$BP_LIB_DIR/pattern_io.py" verify "$(bp_uri_unix)" 3 100 || fail "pattern verify failed"
stop_blockpipe
# Encrypted at rest: 64 bytes of the (incompressible) input appear in no object.
"$PY" - "$BP_TMP/in.bin" "$BP_DIR/objects" <<'PYEOF' || fail "plaintext of the input was found in the store"
import os, sys
marker = open(sys.argv[1], "rb").read()[4096:4096 + 64]
for root, _, files in os.walk(sys.argv[2]):
    for name in files:
        if marker in open(os.path.join(root, name), "rb").read():
            sys.exit(f"{name} holds input bytes in the clear")
PYEOF
"$BLOCKPIPE" fsck --config "$BP_CONFIG" >"$BP_TMP/fsck.out" 2>&1 || fail "fsck of the volume failed: $(cat "$BP_TMP/fsck.out")"
grep -q '^volume default: clean' "$BP_TMP/fsck.out" || fail "fsck did not report the volume clean"
log "zstd → checksum → encrypt pipeline: data intact across a restart, nothing stored in the clear, fsck clean"

# ---- 5. without the plugin the volume is refused, naming the codec ----------------------------
rm -f "$INSTALLED_PLUGIN"

# a) The config still names the codec: startup fails and says which plugin is missing.
rc=0
timeout 60 "$BLOCKPIPE" run --config "$BP_CONFIG" >"$BP_TMP/missing-config.log" 2>&1 || rc=$?
((rc != 0 && rc != 124)) || fail "daemon started although its config names a missing codec (rc=$rc)"
grep -q checksum "$BP_TMP/missing-config.log" ||
  fail "the startup error does not name the missing codec: $(tail -n 5 "$BP_TMP/missing-config.log")"

# b) The config no longer names it, but the volume records it: the volume must not be served.
bp_config_sed '/^\[\[codec\]\]$/{N;/plugin = "checksum"/{N;d}}'
grep -q checksum "$BP_CONFIG" && fail "config edit left the checksum codec in place"
echo "==== start without the checksum plugin $(date +%T.%N) ====" >>"$BP_LOG"
log_start=$(wc -l <"$BP_LOG")
"$BLOCKPIPE" run --config "$BP_CONFIG" >>"$BP_LOG" 2>&1 &
BP_PID=$!
deadline=$((SECONDS + 60))
while kill -0 "$BP_PID" 2>/dev/null && ! _bp_ready >/dev/null 2>&1; do
  ((SECONDS < deadline)) || fail "daemon neither served nor exited within 60s"
  sleep 0.1
done
if kill -0 "$BP_PID" 2>/dev/null; then
  # Running: it may serve other volumes, never this one.
  if nbdinfo --size "$(bp_uri_unix)" >/dev/null 2>&1; then
    fail "the volume was served although its checksum codec is missing"
  fi
  log "the daemon runs without serving the volume"
  stop_blockpipe
else
  rc=0
  wait "$BP_PID" || rc=$?
  BP_PID=
  ((rc != 0)) || fail "daemon exited with status 0 instead of refusing the volume"
  log "the daemon refused to start (status $rc)"
fi
refusal=$(tail -n +$((log_start + 1)) "$BP_LOG" | grep -m1 checksum) ||
  fail "the refusal does not name the missing checksum codec"
log "without the plugin the volume is refused: ${refusal:0:300}"

# c) fsck cannot check the volume either, and says which codec is missing.
rc=0
"$BLOCKPIPE" fsck --config "$BP_CONFIG" >"$BP_TMP/fsck-missing.out" 2>&1 || rc=$?
((rc == 1)) || fail "fsck without the checksum plugin exited $rc, expected 1"
grep -q 'PROBLEM volumes/default/meta: .*checksum' "$BP_TMP/fsck-missing.out" ||
  fail "fsck does not name the missing codec: $(cat "$BP_TMP/fsck-missing.out")"
log "fsck without the plugin: $(grep -m1 PROBLEM "$BP_TMP/fsck-missing.out" | cut -c1-300)"


# ---- 6. an out-of-tree backend filter: build it both ways ------------------------------------
FILTER_SRC=$SOURCE_DIR/sdk/examples/filter-guard
FILTER_SO=blockpipe-filter-guard.so
[[ -f $PREFIX/share/doc/blockpipe/examples/filter-guard/guard.c ]] ||
  fail "the install lacks the filter example in share/doc/blockpipe/examples"
[[ -f $PREFIX/include/blockpipe/bp_filter.h ]] || fail "the install lacks bp_filter.h"
FILTER_CMAKE=$BP_TMP/filter-cmake
cp -r "$FILTER_SRC" "$FILTER_CMAKE"
rm -rf "$FILTER_CMAKE/build" "$FILTER_CMAKE"/*.o "$FILTER_CMAKE"/*.so "$FILTER_CMAKE/test_guard"
cmake -S "$FILTER_CMAKE" -B "$FILTER_CMAKE/build" \
  -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_INSTALL_PREFIX="$PREFIX" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF \
  >"$BP_TMP/filter-cmake.log" 2>&1 || fail "configuring the filter example failed: $(tail -n 30 "$BP_TMP/filter-cmake.log")"
cmake --build "$FILTER_CMAKE/build" >>"$BP_TMP/filter-cmake.log" 2>&1 ||
  fail "building the filter example with CMake failed: $(tail -n 30 "$BP_TMP/filter-cmake.log")"
check_exports "$FILTER_CMAKE/build/$FILTER_SO"
(cd "$FILTER_CMAKE/build" && ctest --output-on-failure --no-tests=error) >>"$BP_TMP/filter-cmake.log" 2>&1 ||
  fail "the filter example's own test failed: $(tail -n 30 "$BP_TMP/filter-cmake.log")"
FILTER_MAKE=$BP_TMP/filter-make
cp -r "$FILTER_SRC" "$FILTER_MAKE"
rm -rf "$FILTER_MAKE/build" "$FILTER_MAKE"/*.o "$FILTER_MAKE"/*.so "$FILTER_MAKE/test_guard"
(cd "$FILTER_MAKE" && PKG_CONFIG_LIBDIR=$PREFIX/lib/pkgconfig PKG_CONFIG_PATH= make check) \
  >"$BP_TMP/filter-make.log" 2>&1 || fail "make check of the filter example failed: $(tail -n 30 "$BP_TMP/filter-make.log")"
check_exports "$FILTER_MAKE/$FILTER_SO"
cmake --install "$FILTER_CMAKE/build" >>"$BP_TMP/filter-cmake.log" 2>&1 || fail "installing the filter example failed"
[[ -f $PREFIX/lib/blockpipe/plugins/$FILTER_SO ]] || fail "the filter example did not install"
log "filter example: built with CMake and make, one exported symbol, its test passes"

# ---- 7. the installed daemon runs with it ----------------------------------------------------
bp_init "$BP_TMP/data-filter"
bp_config_append '
[[filter]]
plugin = "guard"
protect = ["volumes/default/"]'
"$BLOCKPIPE" plugins --config "$BP_CONFIG" --probe >"$BP_TMP/plugins-filter.txt" 2>&1 ||
  fail "blockpipe plugins failed: $(cat "$BP_TMP/plugins-filter.txt")"
grep -q '^filter guard' "$BP_TMP/plugins-filter.txt" || fail "blockpipe plugins does not list the guard filter"
grep -q 'protect (list of strings' "$BP_TMP/plugins-filter.txt" || fail "blockpipe plugins does not show the guard's keys"
grep -q 'through filter guard' "$BP_TMP/plugins-filter.txt" || fail "the probe does not name the filter stack"
bp_run
timeout 60 qemu-io -f raw -t writeback -c 'write -P 0x47 0 1M' -c flush "$(bp_uri_unix)" >/dev/null ||
  fail "writing through the guard filter failed"
writes=$("$BLOCKPIPE" stats --prometheus --config "$BP_CONFIG" | awk '$1 == "blockpipe_guard_writes" { print $2 }')
((${writes:-0} > 0)) || fail "the guard filter counted no writes"
rc=0
bp_volume delete default >"$BP_TMP/delete.out" 2>&1 || rc=$?
((rc != 0)) || fail "volume delete of a protected volume succeeded"
grep -q 'refusing to delete protected volumes/default/' "$BP_TMP/delete.out" "$BP_LOG" ||
  fail "the refusal does not come from the guard: $(cat "$BP_TMP/delete.out")"
restart_blockpipe
timeout 60 qemu-io -f raw -c 'read -P 0x47 0 1M' "$(bp_uri_unix)" >/dev/null ||
  fail "the protected volume lost its data"
stop_blockpipe
log "out-of-tree filter: counted $writes writes, kept the protected volume from being deleted"
