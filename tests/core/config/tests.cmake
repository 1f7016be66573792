# tests for core/config (included by tests/CMakeLists.txt).
tristage_add_test(core_config_test ONE_PROCESS
  SOURCES core/config/parse_test.cc core/config/render_test.cc core/config/resolve_test.cc
          core/config/errors_test.cc core/config/encoder_errors_test.cc
          core/config/schema_walk_test.cc
  LIBS tristage_core GTest::gmock)
target_compile_definitions(core_config_test PRIVATE
  TESTDATA_DIR="${CMAKE_CURRENT_SOURCE_DIR}/core/config/testdata"
  TRISTAGE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
