# tests for core/preprocessing (included by tests/CMakeLists.txt).
tristage_add_test(core_preprocessing_test ONE_PROCESS SOURCES core/preprocessing/preprocessing_test.cc
                  LIBS tristage_core tristage_torch)
