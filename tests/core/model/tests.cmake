tristage_add_test(core_model_test SOURCES core/model/registry_test.cc LIBS tristage_core tristage_torch)
