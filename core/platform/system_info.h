// What the engine runs on: BLAS, thread pools, CUDA and library versions.
//
// `tristage check_install` prints it and the daemon's Admin/GetServerInfo returns it, so users can
// see at once whether libtorch picked up OpenBLAS (about 12x faster than Debian's reference BLAS
// for small MLPs) and whether CUDA is usable. No torch types cross this header.
#ifndef TRISTAGE_CORE_PLATFORM_SYSTEM_INFO_H_
#define TRISTAGE_CORE_PLATFORM_SYSTEM_INFO_H_

#include <string>
#include <utility>
#include <vector>

namespace tristage {

struct SystemInfo {
  std::string version;       // tristage release.
  std::string blas_library;  // resolved path of the BLAS shared library in this process.
  std::string blas_kind;     // "openblas", "reference", "mkl", "blis", "atlas" or "unknown".
  // The malloc in use: "jemalloc <version>" (tristage-server links it), "tcmalloc" or "glibc".
  std::string memory_allocator;
  int intra_op_threads = 0;  // at::get_num_threads()
  int inter_op_threads = 0;  // at::get_num_interop_threads()
  int hardware_threads = 0;  // std::thread::hardware_concurrency()
  bool cuda_available = false;
  int cuda_device_count = 0;
  // (library, version), in a stable order; build-time versions of the Debian packages.
  std::vector<std::pair<std::string, std::string>> library_versions;
};

// Collects the facts above. Never fails: a fact that cannot be read is reported as "unknown".
SystemInfo CollectSystemInfo();

// Times a square float32 matrix multiply through libtorch and returns GFLOP/s; a quick check that
// the BLAS in use is a fast one. `size` >= 1, `repeats` >= 1.
double MeasureMatmulGflops(int size, int repeats);

// Sets libtorch's intra-op threads (and OpenBLAS's, when it is the BLAS in use) for the process;
// `threads` <= 0 leaves them. The daemon's stage threads are its parallelism, so 1 there avoids
// oversubscribing the cores.
void SetComputeThreads(int threads);

// Human-readable multi-line report, as `tristage check_install` prints it.
std::string FormatSystemInfo(const SystemInfo& info);

}  // namespace tristage

#endif  // TRISTAGE_CORE_PLATFORM_SYSTEM_INFO_H_
