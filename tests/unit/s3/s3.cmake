# Included from tests/CMakeLists.txt after the generic unit-test rule created unit-s3: the S3
# tests link the shared HTTP layer and the S3 backend's core library (signer, credentials,
# addressing, XML) directly, and drive the built plugin against a real store when one is given.
if(TARGET unit-s3)
  target_link_libraries(unit-s3 PRIVATE blockpipe_http_common)
  if(TARGET blockpipe_s3_core)
    target_link_libraries(unit-s3 PRIVATE blockpipe_s3_core)
  endif()
endif()
