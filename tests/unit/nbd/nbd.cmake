# Included from tests/CMakeLists.txt after the generic unit-test rule created unit-nbd: the NBD
# core tests link the frontend's socket-free core library and drive it over real host volumes
# (tests/fuzz/support, built by fuzz/replay.cmake and shared with the fuzz targets).
if(TARGET unit-nbd)
  target_link_libraries(unit-nbd PRIVATE blockpipe_fuzz_support blockpipe_frontend_nbd_core)
endif()
