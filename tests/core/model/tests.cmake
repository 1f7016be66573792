tristage_add_test(core_model_test ONE_PROCESS SOURCES core/model/registry_test.cc core/model/combiners_test.cc core/model/encoders_test.cc LIBS tristage_core tristage_torch)
