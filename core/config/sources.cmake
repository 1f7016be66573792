# core/config sources (included by core/CMakeLists.txt): append torch-free files to CORE_SOURCES and
# files that include torch to CORE_TORCH_SOURCES, as paths relative to core/.
list(APPEND CORE_SOURCES
  config/config.cc
  config/params.cc
  config/resolve_backend.cc
  config/resolve_component.cc
  config/resolve_defaults.cc
  config/resolve_features.cc
  config/resolve_trainer.cc
  config/schema_combiner.cc
  config/schema_common.cc
  config/schema_decoders.cc
  config/schema_encoders.cc
  config/schema_features.cc
  config/schema_preprocessing.cc
  config/schema_trainer.cc
  config/yaml_parse.cc
  config/yaml_render.cc)
