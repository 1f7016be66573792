# tests for core/evaluation (included by tests/CMakeLists.txt), e.g.
#   tristage_add_test(core_evaluation_test SOURCES core/evaluation/x_test.cc LIBS tristage_core)
