# core/distributed sources (included by core/CMakeLists.txt): data-parallel training on
# torch.distributed (c10d TCPStore + Gloo). world.cc is torch-free (core/api/distributed.h).
list(APPEND CORE_SOURCES distributed/world.cc)
list(APPEND CORE_TORCH_SOURCES
  distributed/gradient_reducer.cc
  distributed/process_group.cc)
