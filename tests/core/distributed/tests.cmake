# tests for core/distributed and the CLI's launcher (included by tests/CMakeLists.txt): real
# worker processes of the real CLI on loopback.
tristage_add_test(core_distributed_test SOURCES core/distributed/distributed_test.cc
                  LIBS tristage_core tristage_torch)
