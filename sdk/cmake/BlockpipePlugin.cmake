# blockpipe_plugin(): build a blockpipe plugin shared object the way the host expects it.
#
#   blockpipe_plugin(<name> KIND <backend|codec|frontend|filter> SOURCES <file>...
#                    [INSTALL_DESTINATION <dir>] [NO_INSTALL])
#
# Creates the MODULE library target <name>, written as blockpipe-<kind>-<name>.so (the file
# name the host searches for when a config says `plugin = "<name>"`), with:
#   - the SDK headers (blockpipe::sdk),
#   - hidden visibility for C and C++ and a linker version script, so the only dynamic symbol is
#     blockpipe_plugin_entry (the host loads plugins with RTLD_LOCAL and needs nothing else),
#   - -Wl,--no-undefined, so a missing library fails the link instead of the daemon's dlopen.
# It is installed into INSTALL_DESTINATION (default: lib/blockpipe/plugins under
# CMAKE_INSTALL_PREFIX) unless NO_INSTALL is given. Link your own dependencies with
# target_link_libraries(<name> PRIVATE ...).
include_guard(GLOBAL)

function(blockpipe_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "NO_INSTALL" "KIND;INSTALL_DESTINATION" "SOURCES")
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "blockpipe_plugin(${name}): unexpected arguments: ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT ARG_KIND MATCHES "^(backend|codec|frontend|filter)$")
    message(FATAL_ERROR "blockpipe_plugin(${name}): KIND must be backend, codec, frontend or filter "
                        "(got '${ARG_KIND}')")
  endif()
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "blockpipe_plugin(${name}): no SOURCES")
  endif()
  if(NOT name MATCHES "^[a-z0-9][a-z0-9_]*$")
    message(FATAL_ERROR "blockpipe_plugin(${name}): the name must be lower-case letters, digits "
                        "and '_' (it is what users write in the config)")
  endif()

  add_library(${name} MODULE ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "blockpipe-${ARG_KIND}-${name}"
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON)
  target_link_libraries(${name} PRIVATE blockpipe::sdk)
  target_link_options(${name} PRIVATE
    "LINKER:--no-undefined"
    "LINKER:--version-script=${BLOCKPIPE_PLUGIN_VERSION_SCRIPT}")
  set_property(TARGET ${name} APPEND PROPERTY LINK_DEPENDS "${BLOCKPIPE_PLUGIN_VERSION_SCRIPT}")

  if(NOT ARG_NO_INSTALL)
    if(NOT ARG_INSTALL_DESTINATION)
      set(ARG_INSTALL_DESTINATION "${BLOCKPIPE_PLUGIN_INSTALL_DIR}")
    endif()
    install(TARGETS ${name} LIBRARY DESTINATION "${ARG_INSTALL_DESTINATION}")
  endif()
endfunction()
