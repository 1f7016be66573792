# tests for core/export (included by tests/CMakeLists.txt).
tristage_add_test(core_export_test SOURCES core/export/export_test.cc core/export/parity.cc
                  LIBS tristage_core tristage_torch)
# Each component's export parity cases: tests/core/export/<area>_parity_test.cc, picked up here
# without being listed (one file per area, so that areas are added independently).
file(GLOB COMPONENT_PARITY_TESTS RELATIVE ${CMAKE_CURRENT_SOURCE_DIR} CONFIGURE_DEPENDS
     ${CMAKE_CURRENT_SOURCE_DIR}/core/export/*_parity_test.cc)
tristage_add_test(core_component_parity_test SOURCES ${COMPONENT_PARITY_TESTS}
                  core/export/parity.cc LIBS tristage_core tristage_torch)
target_compile_definitions(core_export_test PRIVATE
  TRISTAGE_EXPORT_SNIPPET="${CMAKE_CURRENT_SOURCE_DIR}/core/export/predict_with_stages.py")
tristage_add_test(core_manifest_test ONE_PROCESS SOURCES core/export/manifest_test.cc
                  LIBS tristage_core GTest::gmock)
# The output/input type registry through the generic readers, the daemon's included.
tristage_add_test(core_output_types_test ONE_PROCESS SOURCES core/export/output_types_test.cc
                  LIBS tristage_server tristage_torch)
# tristage export_triton: the repository it writes, parsed with Triton's schema (one process: the
# cases share one trained model).
tristage_add_test(core_export_triton_test ONE_PROCESS SOURCES core/export/export_triton_test.cc
                  LIBS tristage_cli tristage_core tristage_torch tristage_triton_config_proto
                       tristage_proto gRPC::grpc++)
