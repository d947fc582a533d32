# Integration tests: every tests/integration/<name>.sh is the ctest test <name>, labelled
# `integration` (and `slow` when it moves hundreds of MiB or loops over restarts). A script exits
# 0 on success, 77 to skip (ctest reports it as skipped, with the reason in the output) and
# anything else on failure. Scripts find the build through BUILD_DIR, SOURCE_DIR and BLOCKPIPE.
#
# Parallel safety: each test works in its own temp dir, listens on Unix sockets inside it and on a
# 127.0.0.1 port it picks itself, so any two tests can run together. The tests that stream a lot
# of data share the `bulk-io` lock so that `ctest -j2` on a 2-core machine never runs two of them
# at once (they would only slow each other into their timeouts).
#
# Remote backends: the fixtures server-rgw-start/-stop (FIXTURES rgw: a single-node Ceph with
# radosgw, tests/servers/ceph-rgw) and server-azurite-start/-stop (FIXTURES azurite) start one
# S3 and one Azure test server per ctest run, state under ${CMAKE_BINARY_DIR}/test-servers/. The
# scripts named s3-* and azure-* need them, and so do the backend variants `s3.<test>` and
# `azure.<test>`: the same scripts as the file-backend tests, run with BP_TEST_BACKEND=s3|azure
# so that bp_init puts the volumes in a place of their own on the test server (tests/lib/remote.sh).

set(_integration_dir ${CMAKE_CURRENT_SOURCE_DIR}/integration)
file(GLOB _integration_scripts CONFIGURE_DEPENDS ${_integration_dir}/*.sh)

# name → timeout in seconds; anything not listed gets the default.
set(_integration_default_timeout 300)
set(_integration_timeouts
  crash-kill9-flushed-writes=900
  crash-kill9-journal=900
  crash-kill9-gc=900
  snapshot-crash-kill9=900
  snapshot-ext4=600
  ext4-nbdfuse=900
  nbdcopy-roundtrip-tcp=600
  nbdcopy-roundtrip-unix=600
  nbd-protocol=600
  qemu-img-compare=600
  object-economy=600
  sdk-example-out-of-tree=900
  s3-outage=600
  azure-outage=600
  faults-lost-replies=900
  filters-roundtrip=600)
set(_integration_slow
  crash-kill9-flushed-writes faults-lost-replies ext4-nbdfuse nbdcopy-roundtrip-tcp nbdcopy-roundtrip-unix
  object-economy sdk-example-out-of-tree crash-kill9-journal crash-kill9-gc snapshot-crash-kill9)
set(_integration_bulk_io
  ext4-nbdfuse nbdcopy-roundtrip-tcp nbdcopy-roundtrip-unix object-economy snapshot-ext4)

# The generic tests that also run on each remote backend, and what they scale down there (the
# checks stay the same; the data moves through a loopback object store instead of a directory).
set(_remote_variants
  nbdcopy-roundtrip-tcp qemu-img-compare crash-kill9-flushed-writes ext4-nbdfuse
  restart-persistence qemu-io-patterns sigterm-drain volume-runtime
  faults-outage faults-lost-replies crash-kill9-journal disk-cache read-coalescing
  snapshot-runtime snapshot-crash-kill9 snapshot-ext4 crash-kill9-gc)
set(_remote_variant_env BP_CRASH_CYCLES=8 BP_NBDCOPY_MIB=256)
# SCRIPT=VARIABLE=VALUE: what a script's remote variants set instead of the default above. The
# lifecycle crash loops run the cycle counts their issue names: 20 on the file backend (the
# scripts' default), 5 on a remote store.
set(_remote_variant_overrides
  crash-kill9-gc=BP_CRASH_CYCLES=5
  snapshot-crash-kill9=BP_CRASH_CYCLES=5)

set(_servers_dir ${CMAKE_BINARY_DIR}/test-servers)
set(_integration_env
  BUILD_DIR=${CMAKE_BINARY_DIR} SOURCE_DIR=${CMAKE_SOURCE_DIR}
  BLOCKPIPE=${CMAKE_BINARY_DIR}/bin/blockpipe BP_SERVERS_DIR=${_servers_dir})

# _integration_timeout(NAME OUT): the timeout listed for NAME, or the default.
function(_integration_timeout name out)
  set(_timeout ${_integration_default_timeout})
  foreach(_entry ${_integration_timeouts})
    string(REPLACE "=" ";" _pair ${_entry})
    list(GET _pair 0 _entry_name)
    if(_entry_name STREQUAL name)
      list(GET _pair 1 _timeout)
    endif()
  endforeach()
  set(${out} ${_timeout} PARENT_SCOPE)
endfunction()

# _add_integration_test(TEST_NAME SCRIPT_NAME BACKEND): BACKEND is file, s3 or azure.
function(_add_integration_test test script backend)
  add_test(NAME ${test} COMMAND bash ${_integration_dir}/${script}.sh)
  _integration_timeout(${script} _timeout)
  set(_labels integration)
  if(script IN_LIST _integration_slow)
    list(APPEND _labels slow)
  endif()
  set(_env ${_integration_env})
  if(backend STREQUAL "s3")
    list(APPEND _labels s3)
    set_tests_properties(${test} PROPERTIES FIXTURES_REQUIRED rgw)
  elseif(backend STREQUAL "azure")
    list(APPEND _labels azure)
    set_tests_properties(${test} PROPERTIES FIXTURES_REQUIRED azurite)
  endif()
  if(NOT test STREQUAL script)  # a backend variant of a generic test
    set(_variant_env ${_remote_variant_env})
    foreach(_override ${_remote_variant_overrides})
      if(_override MATCHES "^${script}=([A-Za-z_]+)=(.*)$")
        set(_var ${CMAKE_MATCH_1})
        set(_value ${CMAKE_MATCH_2})
        list(FILTER _variant_env EXCLUDE REGEX "^${_var}=")
        list(APPEND _variant_env ${_var}=${_value})
      endif()
    endforeach()
    list(APPEND _env BP_TEST_BACKEND=${backend} ${_variant_env})
  endif()
  set_tests_properties(${test} PROPERTIES
    LABELS "${_labels}"
    SKIP_RETURN_CODE 77
    TIMEOUT ${_timeout}
    WORKING_DIRECTORY ${CMAKE_BINARY_DIR}
    ENVIRONMENT "${_env}")
  if(script IN_LIST _integration_bulk_io)
    set_tests_properties(${test} PROPERTIES RESOURCE_LOCK bulk-io)
  endif()
endfunction()

foreach(_script ${_integration_scripts})
  get_filename_component(_name ${_script} NAME_WLE)
  if(_name MATCHES "^s3-")
    _add_integration_test(${_name} ${_name} s3)
  elseif(_name MATCHES "^azure-")
    _add_integration_test(${_name} ${_name} azure)
  else()
    _add_integration_test(${_name} ${_name} file)
  endif()
endforeach()

foreach(_backend s3 azure)
  foreach(_name ${_remote_variants})
    if(EXISTS ${_integration_dir}/${_name}.sh)
      _add_integration_test(${_backend}.${_name} ${_name} ${_backend})
    endif()
  endforeach()
endforeach()

# ThreadSanitizer builds also get nbd-concurrency: nbd-protocol.sh with only the scripts that put
# many requests and connections in flight at once (pipelining on one connection, four
# connections writing and flushing together), which is what scripts/test.sh runs under TSan.
if(BLOCKPIPE_TSAN)
  add_test(NAME nbd-concurrency COMMAND bash ${_integration_dir}/nbd-protocol.sh)
  set_tests_properties(nbd-concurrency PROPERTIES
    LABELS "integration;tsan"
    SKIP_RETURN_CODE 77
    TIMEOUT 900
    WORKING_DIRECTORY ${CMAKE_BINARY_DIR}
    ENVIRONMENT "${_integration_env};BP_NBD_SCRIPTS=nbd_pipelined nbd_multiconn")
  # And the protocol scripts against the frontend plugin in nbd_host_harness, once with inline
  # completions and once with delayed, reordered ones from other threads (tests/nbd).
  # (nbd_host_harness is defined later, in tests/harness; the generator expressions resolve it.)
  add_test(NAME nbd-harness-protocol
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/nbd/run_with_harness.py
            $<TARGET_FILE:nbd_host_harness> $<TARGET_FILE:blockpipe-frontend-nbd>)
  set_tests_properties(nbd-harness-protocol PROPERTIES
    LABELS "integration;tsan" TIMEOUT 900 WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
endif()

# The shared test servers: started before the first test that needs them, stopped after the
# last. A server that cannot start fails its fixture, and ctest then reports every test that
# needed it as not run (never as passed).
add_test(NAME server-rgw-start
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/servers/ceph-rgw/start.sh ${_servers_dir}/rgw 3h)
add_test(NAME server-rgw-stop
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/servers/ceph-rgw/stop.sh ${_servers_dir}/rgw)
set_tests_properties(server-rgw-start PROPERTIES FIXTURES_SETUP rgw LABELS "integration;s3" TIMEOUT 300)
set_tests_properties(server-rgw-stop PROPERTIES FIXTURES_CLEANUP rgw LABELS "integration;s3" TIMEOUT 120)

set(_azurite_dir ${CMAKE_CURRENT_SOURCE_DIR}/servers/azurite)
# A fresh blob store each run: stop a leftover instance, drop its data, start.
add_test(NAME server-azurite-start
  COMMAND bash -c "bash \"$1/stop.sh\" \"$2\" && rm -rf \"$2\" && bash \"$1/start.sh\" \"$2\""
          server-azurite-start ${_azurite_dir} ${_servers_dir}/azurite)
add_test(NAME server-azurite-stop
  COMMAND bash ${_azurite_dir}/stop.sh ${_servers_dir}/azurite)
set_tests_properties(server-azurite-start PROPERTIES FIXTURES_SETUP azurite LABELS "integration;azure" TIMEOUT 120)
set_tests_properties(server-azurite-stop PROPERTIES FIXTURES_CLEANUP azurite LABELS "integration;azure" TIMEOUT 60)

# ---- volume copy across backends (file → S3 → Azure): needs both test servers ----
if(TEST volume-copy-roundtrip)
  set_tests_properties(volume-copy-roundtrip PROPERTIES
    FIXTURES_REQUIRED "rgw;azurite" LABELS "integration;s3;azure")
endif()

# The S3 client's live unit tests (S3Live.*, skipped when no server is named) run against the
# fixture's RGW: the GoogleTest binary gets the server from the fixture's env file, and a run in
# which any of them skipped counts as a failure, since the server is there.
if(TARGET unit-s3)
  add_test(NAME unit-s3-live-rgw
    COMMAND bash -c "set -a && source \"$1/env\" && set +a && \
BLOCKPIPE_TEST_S3_ENDPOINT=$RGW_ENDPOINT BLOCKPIPE_TEST_S3_ACCESS_KEY=$AWS_ACCESS_KEY_ID \
BLOCKPIPE_TEST_S3_SECRET_KEY=$AWS_SECRET_ACCESS_KEY BLOCKPIPE_TEST_S3_REGION=$AWS_REGION \
\"$2\" --gtest_filter='S3Live.*' >\"$3\" 2>&1; rc=$?; cat \"$3\"; \
if grep -q '^\\[  SKIPPED' \"$3\"; then echo 'S3Live tests skipped although RGW is running'; exit 1; fi; exit $rc"
      unit-s3-live-rgw ${_servers_dir}/rgw $<TARGET_FILE:unit-s3> ${CMAKE_CURRENT_BINARY_DIR}/unit-s3-live-rgw.out)
  set_tests_properties(unit-s3-live-rgw PROPERTIES
    FIXTURES_REQUIRED rgw LABELS "integration;s3" TIMEOUT 300)
endif()
