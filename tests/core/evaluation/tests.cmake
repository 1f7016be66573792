# tests for core/evaluation (included by tests/CMakeLists.txt), e.g.
#   tristage_add_test(core_evaluation_test SOURCES core/evaluation/x_test.cc LIBS tristage_core)
tristage_add_test(core_evaluation_test ONE_PROCESS
                  SOURCES core/evaluation/metrics_test.cc core/evaluation/statistics_test.cc
                  LIBS tristage_core)
