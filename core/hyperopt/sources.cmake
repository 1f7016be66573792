# core/hyperopt: Ludwig's hyperopt (search spaces, search algorithms, schedulers, the executor).
list(APPEND CORE_SOURCES
  hyperopt/checks.cc
  hyperopt/space.cc
  hyperopt/search.cc
  hyperopt/scheduler.cc
  hyperopt/hyperopt_config.cc
  hyperopt/executor.cc
  hyperopt/process_runner.cc)
