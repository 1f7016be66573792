list(APPEND CORE_TORCH_SOURCES
  training/evaluator.cc
  training/optimizer.cc
  training/trainer.cc)
