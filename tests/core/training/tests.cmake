# tests for core/training (included by tests/CMakeLists.txt).
tristage_add_test(core_trainer_settings_test ONE_PROCESS
  SOURCES core/training/trainer_settings_test.cc
  LIBS tristage_core tristage_torch)
