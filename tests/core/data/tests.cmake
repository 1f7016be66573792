# tests for core/data (included by tests/CMakeLists.txt), e.g.
#   tristage_add_test(core_data_test SOURCES core/data/x_test.cc LIBS tristage_core)
