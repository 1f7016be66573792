// ScratchDir: a fresh directory for one test, under the system temp directory and named after the
// process, the test suite and the test, so parallel ctest runs never share one. Created empty
// (anything left by an earlier run is removed first) and removed by the destructor.
// Thread safety: immutable after construction.
#ifndef TRISTAGE_TESTS_TESTING_SCRATCH_DIR_H_
#define TRISTAGE_TESTS_TESTING_SCRATCH_DIR_H_

#include <unistd.h>

#include <filesystem>
#include <string>

#include "gtest/gtest.h"

namespace tristage::testing {

class ScratchDir {
 public:
  explicit ScratchDir(const std::string& prefix) {
    const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ =
        std::filesystem::temp_directory_path() / (prefix + "_" + std::to_string(::getpid()) + "_" +
                                                  test->test_suite_name() + "_" + test->name());
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// A fresh directory for a whole test process (a suite's environment, trained once: its servers may
// still hold its files while tests end), `<temp>/<prefix>_<pid>`, removed when the process exits.
inline const std::filesystem::path& ProcessScratchDir(const std::string& prefix) {
  static const struct Dir {
    std::filesystem::path path;
    explicit Dir(std::filesystem::path p) : path(std::move(p)) {
      std::filesystem::remove_all(path);
      std::filesystem::create_directories(path);
    }
    ~Dir() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  } dir(std::filesystem::temp_directory_path() / (prefix + "_" + std::to_string(::getpid())));
  return dir.path;
}

}  // namespace tristage::testing

#endif  // TRISTAGE_TESTS_TESTING_SCRATCH_DIR_H_
