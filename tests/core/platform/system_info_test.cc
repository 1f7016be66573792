#include "core/platform/system_info.h"

#include <filesystem>

#include "gtest/gtest.h"

namespace tristage {
namespace {

TEST(SystemInfoTest, FindsTheBlasLibtorchLoaded) {
  const SystemInfo info = CollectSystemInfo();
  ASSERT_NE(info.blas_library, "not loaded");
  EXPECT_TRUE(std::filesystem::exists(info.blas_library)) << info.blas_library;
  EXPECT_NE(info.blas_kind, "unknown") << info.blas_library;
}

TEST(SystemInfoTest, ReportsThreadsAndLibraryVersions) {
  const SystemInfo info = CollectSystemInfo();
  EXPECT_GE(info.intra_op_threads, 1);
  EXPECT_GE(info.inter_op_threads, 1);
  EXPECT_GE(info.hardware_threads, 1);
  EXPECT_EQ(info.cuda_available, info.cuda_device_count > 0);
  EXPECT_EQ(info.memory_allocator, "glibc");  // only tristage-server links jemalloc
  std::vector<std::string> names;
  for (const auto& [name, version] : info.library_versions) {
    names.push_back(name);
    EXPECT_FALSE(version.empty()) << name;
  }
  for (const char* wanted : {"libtorch", "grpc", "protobuf", "abseil", "yaml-cpp"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), wanted), names.end()) << wanted;
  }
}

TEST(SystemInfoTest, MatmulThroughputIsMeasured) {
  EXPECT_GT(MeasureMatmulGflops(64, 2), 0.0);
}

TEST(SystemInfoTest, FormatNamesBlasAndCuda) {
  const std::string text = FormatSystemInfo(CollectSystemInfo());
  EXPECT_NE(text.find("BLAS: "), std::string::npos) << text;
  EXPECT_NE(text.find("CUDA: "), std::string::npos) << text;
  EXPECT_NE(text.find("threads: intra-op "), std::string::npos) << text;
}

TEST(SystemInfoTest, FormatWarnsAboutTheReferenceBlas) {
  SystemInfo info;
  info.blas_kind = "reference";
  info.blas_library = "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0";
  EXPECT_NE(FormatSystemInfo(info).find("libopenblas0-pthread"), std::string::npos);
}

}  // namespace
}  // namespace tristage
