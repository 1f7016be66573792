# core/data sources (included by core/CMakeLists.txt): append torch-free files to CORE_SOURCES and
# files that include torch to CORE_TORCH_SOURCES, as paths relative to core/.
list(APPEND CORE_SOURCES
  data/csv_io.cc
  data/io.cc
  data/io_files.cc
  data/json_io.cc
  data/split.cc
  data/table.cc)
