# Finds libjq (Debian's libjq-dev ships no CMake config).
#
# Imported target: JQ::jq.  The headers are C: include them inside `extern "C"`.
find_path(JQ_INCLUDE_DIR jq.h)
find_library(JQ_LIBRARY jq)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(JQ REQUIRED_VARS JQ_INCLUDE_DIR JQ_LIBRARY)

if(JQ_FOUND AND NOT TARGET JQ::jq)
  add_library(JQ::jq UNKNOWN IMPORTED)
  set_target_properties(JQ::jq PROPERTIES
    IMPORTED_LOCATION "${JQ_LIBRARY}"
    INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${JQ_INCLUDE_DIR}")
endif()
mark_as_advanced(JQ_INCLUDE_DIR JQ_LIBRARY)
