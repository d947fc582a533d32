# Integration tests: every tests/integration/<name>.sh is the ctest test <name>, labelled
# `integration` (and `slow` when it moves hundreds of MiB or loops over restarts). A script exits
# 0 on success, 77 to skip (ctest reports it as skipped, with the reason in the output) and
# anything else on failure. Scripts find the build through BUILD_DIR, SOURCE_DIR and BLOCKPIPE.
#
# Parallel safety: each test works in its own temp dir, listens on Unix sockets inside it and on a
# 127.0.0.1 port it picks itself, so any two tests can run together. The tests that stream a lot
# of data share the `bulk-io` lock so that `ctest -j2` on a 2-core machine never runs two of them
# at once (they would only slow each other into their timeouts).

set(_integration_dir ${CMAKE_CURRENT_SOURCE_DIR}/integration)
file(GLOB _integration_scripts CONFIGURE_DEPENDS ${_integration_dir}/*.sh)

# name → timeout in seconds; anything not listed gets the default.
set(_integration_default_timeout 300)
set(_integration_timeouts
  crash-kill9-flushed-writes=900
  ext4-nbdfuse=900
  nbdcopy-roundtrip-tcp=600
  nbdcopy-roundtrip-unix=600
  nbd-protocol=600
  qemu-img-compare=600
  object-economy=600
  sdk-example-out-of-tree=900)
set(_integration_slow
  crash-kill9-flushed-writes ext4-nbdfuse nbdcopy-roundtrip-tcp nbdcopy-roundtrip-unix
  object-economy sdk-example-out-of-tree)
set(_integration_bulk_io
  ext4-nbdfuse nbdcopy-roundtrip-tcp nbdcopy-roundtrip-unix object-economy)

foreach(_script ${_integration_scripts})
  get_filename_component(_name ${_script} NAME_WLE)
  add_test(NAME ${_name} COMMAND bash ${_script})

  set(_timeout ${_integration_default_timeout})
  foreach(_entry ${_integration_timeouts})
    string(REPLACE "=" ";" _pair ${_entry})
    list(GET _pair 0 _entry_name)
    if(_entry_name STREQUAL _name)
      list(GET _pair 1 _timeout)
    endif()
  endforeach()

  set(_labels integration)
  if(_name IN_LIST _integration_slow)
    list(APPEND _labels slow)
  endif()

  set_tests_properties(${_name} PROPERTIES
    LABELS "${_labels}"
    SKIP_RETURN_CODE 77
    TIMEOUT ${_timeout}
    WORKING_DIRECTORY ${CMAKE_BINARY_DIR}
    ENVIRONMENT "BUILD_DIR=${CMAKE_BINARY_DIR};SOURCE_DIR=${CMAKE_SOURCE_DIR};BLOCKPIPE=${CMAKE_BINARY_DIR}/bin/blockpipe")
  if(_name IN_LIST _integration_bulk_io)
    set_tests_properties(${_name} PROPERTIES RESOURCE_LOCK bulk-io)
  endif()
endforeach()
