# tests for core/config (included by tests/CMakeLists.txt), e.g.
#   tristage_add_test(core_config_test SOURCES core/config/x_test.cc LIBS tristage_core)
