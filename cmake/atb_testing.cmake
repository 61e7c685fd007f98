# atb_add_test(<name> SOURCES <files…> LIBS <targets…> [LABELS <labels…>])
# One GoogleTest executable; its tests are discovered into ctest. Label "slow" keeps a
# suite out of the default presets (run it with the release preset or `ctest -L slow`).
function(atb_add_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main atb_options)
  target_compile_definitions(${name} PRIVATE
    ATB_SHARED_DATA_DIR="${ATB_SHARED_DATA_DIR}"
    ATB_BINARY_DIR="${CMAKE_BINARY_DIR}"
    ATB_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  set(_labels ${T_LABELS})
  if(NOT _labels)
    set(_labels unit)
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${_labels}")
endfunction()
