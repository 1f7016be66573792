# core/model: the ECD model as TorchScript (encoders, combiners, decoders, their registry).
list(APPEND CORE_TORCH_SOURCES
  model/script.cc
  model/fc_stack.cc
  model/params.cc
  model/embedding.cc
  model/registry.cc
  model/ecd.cc
  model/encoders/numeric.cc
  model/encoders/category.cc
  model/encoders/bag.cc
  model/encoders/date.cc
  model/encoders/sequence.cc
  model/combiners/blocks.cc
  model/combiners/comparator.cc
  model/combiners/concat.cc
  model/combiners/project_aggregate.cc
  model/combiners/sequence.cc
  model/combiners/tabnet.cc
  model/combiners/transformer.cc
  model/decoders/decoders.cc)
