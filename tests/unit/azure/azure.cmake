# Included from tests/CMakeLists.txt after the generic unit-test rule created unit-azure: the
# Azure tests link the backend's host-free core (signer, settings, XML, error classes), load the
# built plugin through the plugin tests' fake host, and start azurite from tests/servers/azurite
# unless a fixture already provides one in $AZURITE_BLOB_ENDPOINT.
if(TARGET unit-azure)
  target_sources(unit-azure PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit/plugins/fake_host.cpp)
  target_link_libraries(unit-azure PRIVATE blockpipe_azure_core blockpipe_sdk)
  target_compile_definitions(unit-azure PRIVATE BLOCKPIPE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  add_dependencies(unit-azure blockpipe-backend-azure)
endif()
