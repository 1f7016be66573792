# core/export: the three TorchScript stages (build, save, load), the manifest and InferenceModule.
list(APPEND CORE_SOURCES export/manifest.cc export/output_types.cc export/values.cc
  export/triton_config.cc)
list(APPEND CORE_TORCH_SOURCES export/stages.cc export/inference.cc export/servable.cc
  export/triton.cc)
