# core/evaluation sources (included by core/CMakeLists.txt): append torch-free files to CORE_SOURCES and
# files that include torch to CORE_TORCH_SOURCES, as paths relative to core/.
# The metric files register their metrics from static initialisers, which is why core is shared.
list(APPEND CORE_SOURCES
  evaluation/metrics.cc
  evaluation/classification_metrics.cc
  evaluation/regression_metrics.cc
  evaluation/statistics.cc)
