# The fuzz targets and what each needs, shared by the libFuzzer build (tests/fuzz/CMakeLists.txt,
# clang, -DBLOCKPIPE_FUZZ=ON) and the corpus replay tests of every build (replay.cmake).
# blockpipe_fuzz_setup(<executable> <target> <support library>) adds the target's sources and
# libraries to an executable that provides main (libFuzzer's or replay_main.cpp).

set(BLOCKPIPE_FUZZ_TARGETS
  nbd_negotiation nbd_request segment checkpoint volume_meta codec_lz4 codec_zstd config
  s3_xml azure_xml encrypt_format)

# The plugins' parsers are compiled into their targets from source (instrumented in the fuzz
# build); pugixml is found here because the plugins' imported target is local to their directory.
find_package(pugixml REQUIRED)

set(_fuzz_dir ${CMAKE_CURRENT_LIST_DIR})

# The support code (real test volumes, property checks, checksum repair) as a static library;
# the fuzz build makes an instrumented one of its own.
function(blockpipe_fuzz_support_library name)
  add_library(${name} STATIC ${_fuzz_dir}/support/identity_volumes.cpp
    ${_fuzz_dir}/support/nbd_properties.cpp ${_fuzz_dir}/support/object_fixups.cpp
    ${_fuzz_dir}/support/state_properties.cpp)
  target_include_directories(${name} PUBLIC ${_fuzz_dir})
  target_link_libraries(${name} PUBLIC blockpipe_test_support blockpipe_frontend_nbd_core
    blockpipe_loader blockpipe_config blockpipe_engine blockpipe_util)
endfunction()

function(blockpipe_fuzz_setup exe target support)
  if(target STREQUAL "codec_lz4")
    target_sources(${exe} PRIVATE ${_fuzz_dir}/fuzz_codec.cpp
      ${PROJECT_SOURCE_DIR}/plugins/codec/lz4/codec_lz4.cpp)
    target_link_libraries(${exe} PRIVATE PkgConfig::LZ4)
  elseif(target STREQUAL "codec_zstd")
    target_sources(${exe} PRIVATE ${_fuzz_dir}/fuzz_codec.cpp
      ${PROJECT_SOURCE_DIR}/plugins/codec/zstd/codec_zstd.cpp)
    # zstd's scout probe sizes its windows with lz4 (plugins/codec/common/lz4_block.h).
    target_link_libraries(${exe} PRIVATE PkgConfig::ZSTD PkgConfig::LZ4)
  elseif(target STREQUAL "s3_xml")
    target_sources(${exe} PRIVATE ${_fuzz_dir}/fuzz_s3_xml.cpp
      ${PROJECT_SOURCE_DIR}/plugins/backend-s3/s3_xml.cpp)
    target_include_directories(${exe} PRIVATE ${PROJECT_SOURCE_DIR}/plugins/backend-s3)
    target_link_libraries(${exe} PRIVATE pugixml::pugixml)
  elseif(target STREQUAL "azure_xml")
    target_sources(${exe} PRIVATE ${_fuzz_dir}/fuzz_azure_xml.cpp
      ${PROJECT_SOURCE_DIR}/plugins/backend-azure/blob_xml.cpp)
    target_include_directories(${exe} PRIVATE ${PROJECT_SOURCE_DIR}/plugins/backend-azure)
    target_link_libraries(${exe} PRIVATE pugixml::pugixml)
  elseif(target STREQUAL "encrypt_format")
    target_sources(${exe} PRIVATE ${_fuzz_dir}/fuzz_encrypt_format.cpp
      ${PROJECT_SOURCE_DIR}/plugins/codec/encrypt/encrypt_format.cpp
      ${PROJECT_SOURCE_DIR}/plugins/codec/encrypt/xaes_gcm.cpp)
    target_include_directories(${exe} PRIVATE ${PROJECT_SOURCE_DIR}/plugins/codec/encrypt)
    target_link_libraries(${exe} PRIVATE PkgConfig::SODIUM OpenSSL::Crypto)
  else()
    target_sources(${exe} PRIVATE ${_fuzz_dir}/fuzz_${target}.cpp)
  endif()
  target_link_libraries(${exe} PRIVATE ${support})
endfunction()
