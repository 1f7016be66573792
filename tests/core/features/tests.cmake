# tests for core/features (included by tests/CMakeLists.txt). Three sources only: each includes
# torch headers, which are slow to compile.
tristage_add_test(core_features_test ONE_PROCESS
                  SOURCES core/features/scalar_features_test.cc
                          core/features/token_features_test.cc
                          core/features/output_head_test.cc
                  LIBS tristage_core tristage_torch GTest::gmock)
