list(APPEND CORE_TORCH_SOURCES
  training/evaluator.cc
  training/extra_optimizers.cc
  training/optimizer.cc
  training/trainer.cc)
