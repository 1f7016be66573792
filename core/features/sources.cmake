# core/features: one file per feature type, registered by config name.
list(APPEND CORE_TORCH_SOURCES
  features/feature.cc
  features/common.cc
  features/missing_values.cc
  features/tokenizers.cc
  features/vocabulary.cc
  features/stage_script.cc
  features/binary.cc
  features/number.cc
  features/category.cc
  features/set_bag.cc
  features/vector.cc
  features/date.cc
  features/text.cc)
