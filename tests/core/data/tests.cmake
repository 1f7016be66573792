# tests for core/data (included by tests/CMakeLists.txt).
tristage_add_test(core_data_test ONE_PROCESS
  SOURCES core/data/table_test.cc core/data/csv_test.cc core/data/json_test.cc
          core/data/io_test.cc core/data/split_test.cc
  LIBS tristage_core)
