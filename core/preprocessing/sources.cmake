list(APPEND CORE_TORCH_SOURCES preprocessing/preprocessing.cc preprocessing/cache.cc)
