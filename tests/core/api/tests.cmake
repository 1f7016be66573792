tristage_add_test(core_api_test SOURCES core/api/model_test.cc core/api/kfold_test.cc
                  core/api/hyperopt_test.cc LIBS tristage_core)
