# Corpus replay tests, part of every build: fuzz-corpus-replay-<target> runs the target over
# tests/fuzz/corpus/<target>/ with a plain main (replay_main.cpp), so the seed and regression
# inputs are checked by ctest (label unit) with gcc and under the sanitizer build too.
include(${CMAKE_CURRENT_LIST_DIR}/targets.cmake)
blockpipe_fuzz_support_library(blockpipe_fuzz_support)

foreach(_target ${BLOCKPIPE_FUZZ_TARGETS})
  set(_exe fuzz-corpus-replay-${_target})
  add_executable(${_exe} ${CMAKE_CURRENT_LIST_DIR}/replay_main.cpp)
  blockpipe_fuzz_setup(${_exe} ${_target} blockpipe_fuzz_support)
  add_test(NAME fuzz-corpus-${_target}
    COMMAND ${_exe} ${CMAKE_CURRENT_LIST_DIR}/corpus/${_target})
  set_tests_properties(fuzz-corpus-${_target} PROPERTIES LABELS unit TIMEOUT 300)
endforeach()

# The seed generator (run by hand, see make_seeds.cpp); it loads the codec plugins and seals
# encrypt frames with the codec's format layer.
add_executable(fuzz-make-seeds ${CMAKE_CURRENT_LIST_DIR}/make_seeds.cpp
  ${PROJECT_SOURCE_DIR}/plugins/codec/encrypt/encrypt_format.cpp
  ${PROJECT_SOURCE_DIR}/plugins/codec/encrypt/xaes_gcm.cpp)
target_include_directories(fuzz-make-seeds PRIVATE ${PROJECT_SOURCE_DIR}/plugins/codec/encrypt)
target_link_libraries(fuzz-make-seeds PRIVATE blockpipe_fuzz_support PkgConfig::SODIUM
  OpenSSL::Crypto)
