#include "core/platform/system_info.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <stdlib.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/version.h"

namespace tristage {
namespace {

// dl_iterate_phdr callback: records the first loaded object that looks like a BLAS.
int FindBlas(struct dl_phdr_info* info, size_t /*size*/, void* data) {
  const char* name = info->dlpi_name;
  if (name == nullptr || name[0] == '\0') return 0;
  const absl::string_view path(name);
  const absl::string_view base = path.substr(path.rfind('/') + 1);
  if (absl::StartsWith(base, "libblas") || absl::StartsWith(base, "libopenblas") ||
      absl::StartsWith(base, "libmkl_rt") || absl::StartsWith(base, "libblis")) {
    *static_cast<std::string*>(data) = std::string(path);
    return 1;
  }
  return 0;
}

std::string BlasKind(absl::string_view resolved) {
  if (absl::StrContains(resolved, "openblas")) return "openblas";
  if (absl::StrContains(resolved, "mkl")) return "mkl";
  if (absl::StrContains(resolved, "blis")) return "blis";
  if (absl::StrContains(resolved, "atlas")) return "atlas";
  if (absl::StrContains(resolved, "/blas/")) return "reference";
  return "unknown";
}

// Which malloc the process resolved: jemalloc and tcmalloc export their own entry points.
std::string MemoryAllocator() {
  using Mallctl = int (*)(const char*, void*, size_t*, void*, size_t);
  if (auto mallctl = reinterpret_cast<Mallctl>(dlsym(RTLD_DEFAULT, "mallctl"))) {
    const char* version = nullptr;
    size_t length = sizeof(version);
    if (mallctl("version", &version, &length, nullptr, 0) == 0 && version != nullptr) {
      // "5.3.0-0-g54eaed1d...": the release before the first '-'.
      const absl::string_view release(version);
      return absl::StrCat("jemalloc ", release.substr(0, release.find('-')));
    }
    return "jemalloc";
  }
  if (dlsym(RTLD_DEFAULT, "tc_malloc") != nullptr) return "tcmalloc";
  return "glibc";
}

}  // namespace

SystemInfo CollectSystemInfo() {
  SystemInfo info;
  info.version = kTristageVersion;
  std::string loaded;
  dl_iterate_phdr(FindBlas, &loaded);
  if (loaded.empty()) {
    info.blas_library = "not loaded";
    info.blas_kind = "unknown";
  } else {
    char resolved[PATH_MAX];
    info.blas_library = realpath(loaded.c_str(), resolved) != nullptr ? resolved : loaded;
    info.blas_kind = BlasKind(info.blas_library);
  }
  info.memory_allocator = MemoryAllocator();
  info.intra_op_threads = at::get_num_threads();
  info.inter_op_threads = at::get_num_interop_threads();
  info.hardware_threads = static_cast<int>(std::thread::hardware_concurrency());
  info.cuda_available = torch::cuda::is_available();
  info.cuda_device_count = info.cuda_available ? static_cast<int>(torch::cuda::device_count()) : 0;
  for (absl::string_view entry : absl::StrSplit(kDependencyVersions, ';', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(entry, absl::MaxSplits('=', 1));
    if (kv.second.empty()) kv.second = "unknown";
    info.library_versions.push_back(std::move(kv));
  }
  info.library_versions.emplace_back("libtorch (runtime)", TORCH_VERSION);
  return info;
}

double MeasureMatmulGflops(int size, int repeats) {
  torch::NoGradGuard no_grad;
  const torch::Tensor a = torch::rand({size, size});
  const torch::Tensor b = torch::rand({size, size});
  torch::Tensor c = torch::mm(a, b);  // warm-up: thread pools, first-touch pages.
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < repeats; ++i) c = torch::mm(a, b);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double flops = 2.0 * size * size * static_cast<double>(size) * repeats;
  return seconds > 0 ? flops / seconds / 1e9 : 0.0;
}

std::string FormatSystemInfo(const SystemInfo& info) {
  std::string out = absl::StrCat("tristage ", info.version, "\n");
  absl::StrAppend(&out, "BLAS: ", info.blas_kind, " (", info.blas_library, ")\n");
  if (info.blas_kind == "reference") {
    absl::StrAppend(&out,
                    "  warning: the reference BLAS is about 12x slower; install "
                    "libopenblas0-pthread (scripts/install-deps does)\n");
  }
  absl::StrAppend(&out, "memory allocator: ", info.memory_allocator, "\n");
  absl::StrAppend(&out, "threads: intra-op ", info.intra_op_threads, ", inter-op ",
                  info.inter_op_threads, ", hardware ", info.hardware_threads, "\n");
  absl::StrAppend(&out, "CUDA: ",
                  info.cuda_available
                      ? absl::StrCat("available, ", info.cuda_device_count, " device(s)")
                      : std::string("not available (CPU build or no device)"),
                  "\n");
  absl::StrAppend(&out, "libraries:\n");
  for (const auto& [name, version] : info.library_versions) {
    absl::StrAppend(&out, "  ", name, " ", version, "\n");
  }
  return out;
}

void SetComputeThreads(int threads) {
  if (threads <= 0) return;
  at::set_num_threads(threads);
  // libtorch's own setting does not reach a BLAS it did not build with; OpenBLAS's threads spin
  // and compete with the stage threads.
  using SetThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    set(threads);
  }
}

}  // namespace tristage
