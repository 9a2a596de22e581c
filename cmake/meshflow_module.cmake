# One way to declare a module library and its tests.
#
#   meshflow_add_module(dsl SOURCES ... PUBLIC_DEPS ... PRIVATE_DEPS ...)
#     -> library meshflow_dsl, alias meshflow::dsl, headers in dsl/include
#   meshflow_add_test(dsl_tests SOURCES ... DEPS ... [LABELS ...])
#     -> GoogleTest executable whose cases ctest lists one by one

add_library(meshflow_warnings INTERFACE)
target_compile_options(meshflow_warnings INTERFACE -Wall -Wextra -Werror)

function(meshflow_add_module name)
  cmake_parse_arguments(M "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(meshflow_${name} ${M_SOURCES})
  add_library(meshflow::${name} ALIAS meshflow_${name})
  target_include_directories(meshflow_${name} PUBLIC
    ${CMAKE_CURRENT_SOURCE_DIR}/include)
  target_link_libraries(meshflow_${name}
    PUBLIC ${M_PUBLIC_DEPS}
    PRIVATE ${M_PRIVATE_DEPS} meshflow_warnings)
endfunction()

include(GoogleTest)
function(meshflow_add_test name)
  cmake_parse_arguments(T "" "" "SOURCES;DEPS;LABELS;PROPERTIES" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_DEPS} GTest::gtest GTest::gtest_main
                        meshflow_warnings)
  gtest_discover_tests(${name}
    DISCOVERY_MODE PRE_TEST
    WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
    PROPERTIES LABELS "${T_LABELS}" ${T_PROPERTIES})
endfunction()
