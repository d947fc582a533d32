# With BLOCKPIPE_THREAD_SAFETY: proof that the build really rejects broken locking. Each test
# compiles lock_probe.cpp (syntax only) with the compile options blockpipe_engine actually has,
# so a flag dropped from blockpipe_check_locks, a -Werror lost, or a compiler that ignores the
# annotations fails here:
#   thread-safety-accepts-correct-locking   BP_PROBE=0 compiles without a diagnostic
#   thread-safety-rejects-<case>            BP_PROBE=N fails with clang's thread-safety error
if(NOT BLOCKPIPE_THREAD_SAFETY)
  return()
endif()

set(_probe ${CMAKE_CURRENT_LIST_DIR}/lock_probe.cpp)
set(_probe_cmd ${CMAKE_CXX_COMPILER} $<TARGET_PROPERTY:blockpipe_engine,COMPILE_OPTIONS>
  -std=c++20 -fsyntax-only -I${PROJECT_SOURCE_DIR}/sdk/include ${_probe})

add_test(NAME thread-safety-accepts-correct-locking
  COMMAND ${_probe_cmd} -DBP_PROBE=0 COMMAND_EXPAND_LISTS)
set_tests_properties(thread-safety-accepts-correct-locking PROPERTIES
  LABELS thread-safety FAIL_REGULAR_EXPRESSION "warning:|error:")

# case name, probe number, the diagnostic that must appear as an error
set(_probe_cases
  "unlocked-write|1|error: writing variable 'value_' requires holding mutex 'mu_'"
  "call-without-required-lock|2|error: calling function 'AddLocked' requires holding mutex 'mu_'"
  "access-after-unlock|3|error: writing variable 'value_' requires holding mutex 'mu_'"
  "wait-without-lock|4|error: calling function 'Wait' requires holding mutex 'mu_'")
foreach(_case ${_probe_cases})
  string(REPLACE "|" ";" _parts "${_case}")
  list(GET _parts 0 _name)
  list(GET _parts 1 _n)
  list(GET _parts 2 _expect)
  add_test(NAME thread-safety-rejects-${_name}
    COMMAND ${_probe_cmd} -DBP_PROBE=${_n} COMMAND_EXPAND_LISTS)
  # Pass only on that error: any other failure (a missing header, a typo) does not count.
  set_tests_properties(thread-safety-rejects-${_name} PROPERTIES
    LABELS thread-safety PASS_REGULAR_EXPRESSION "${_expect}")
endforeach()
