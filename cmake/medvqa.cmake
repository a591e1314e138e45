# One precompiled header shared by every target that includes libtorch: torch/torch.h alone
# costs ~20 s per translation unit without it.
add_library(medvqa_pch OBJECT ${CMAKE_CURRENT_LIST_DIR}/pch.cpp)
target_link_libraries(medvqa_pch PUBLIC torch nlohmann_json::nlohmann_json)
target_precompile_headers(medvqa_pch PUBLIC
  <torch/torch.h> <nlohmann/json.hpp>
  <string> <vector> <map> <memory> <optional> <stdexcept> <functional>)

function(medvqa_use_pch target)
  target_precompile_headers(${target} REUSE_FROM medvqa_pch)
endfunction()

# medvqa_subsystem(name DEPS ...) builds src/<name>/*.cpp into the static library medvqa_<name>.
function(medvqa_subsystem name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${name}/*.cpp)
  if(NOT sources)
    return()
  endif()
  add_library(medvqa_${name} STATIC ${sources})
  target_include_directories(medvqa_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(medvqa_${name} PUBLIC torch nlohmann_json::nlohmann_json Threads::Threads ${ARG_DEPS})
  medvqa_use_pch(medvqa_${name})
endfunction()

# medvqa_test_suite(name DEPS ...) builds tests/<name>/*.cpp into the gtest binary test_<name>.
function(medvqa_test_suite name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${name}/*.cpp)
  if(NOT sources)
    return()
  endif()
  add_executable(test_${name} ${sources})
  target_link_libraries(test_${name} PRIVATE medvqa_testing ${ARG_DEPS} GTest::gtest_main)
  medvqa_use_pch(test_${name})
  gtest_discover_tests(test_${name} DISCOVERY_TIMEOUT 120)
endfunction()
