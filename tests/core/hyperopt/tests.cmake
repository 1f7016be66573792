# tests for core/hyperopt (included by tests/CMakeLists.txt).
tristage_add_test(core_hyperopt_test ONE_PROCESS
  SOURCES core/hyperopt/space_test.cc core/hyperopt/search_test.cc core/hyperopt/scheduler_test.cc
          core/hyperopt/hyperopt_config_test.cc core/hyperopt/executor_test.cc
          core/hyperopt/process_runner_test.cc
  LIBS tristage_core)
