list(APPEND CORE_TORCH_SOURCES api/model.cc)
list(APPEND CORE_SOURCES api/synthesize.cc api/init_config.cc api/kfold.cc api/hyperopt.cc)
