// ModelRepository alone: what the repository directory holds, read from disk on each call.
#include "server/serving/repository.h"

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace tristage::server {
namespace {

namespace fs = std::filesystem;

class RepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("tristage_repository_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(RepositoryTest, ModelsAreDirectoriesWithNumericVersionDirectories) {
  fs::create_directories(root_ / "b" / "2");
  fs::create_directories(root_ / "b" / "10");
  fs::create_directories(root_ / "b" / "0");       // not a version (versions start at 1)
  fs::create_directories(root_ / "b" / "-3");      // nor this
  fs::create_directories(root_ / "b" / "latest");  // nor this
  std::ofstream(root_ / "b" / "7") << "a file, not a version\n";
  fs::create_directories(root_ / "a" / "1");
  fs::create_directories(root_ / "empty");
  std::ofstream(root_ / "README") << "not a model\n";
  const ModelRepository repository(root_.string());
  EXPECT_EQ(repository.Models(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(repository.Versions("b"), (std::vector<int64_t>{2, 10}));
  EXPECT_TRUE(repository.Has("empty"));
  EXPECT_FALSE(repository.Has("README"));
  EXPECT_FALSE(repository.Has("missing"));
  EXPECT_TRUE(repository.Versions("missing").empty());
  EXPECT_EQ(repository.VersionDirectory("b", 10), (root_ / "b" / "10").string());
  EXPECT_TRUE(ModelRepository("").Models().empty());
}

TEST_F(RepositoryTest, ModelIdComesFromTheManifestAndIsEmptyWhenItCannotBeRead) {
  fs::create_directories(root_ / "m" / "1");
  const ModelRepository repository(root_.string());
  EXPECT_EQ(repository.ModelId("m", 1), "");
  std::ofstream(root_ / "m" / "1" / "manifest.json") << "{\"model_id\": \"abc\"}";
  EXPECT_EQ(repository.ModelId("m", 1), "abc");
  std::ofstream(root_ / "m" / "1" / "manifest.json") << "{not json";
  EXPECT_EQ(repository.ModelId("m", 1), "");
}

TEST_F(RepositoryTest, TheSignatureChangesWithAnyFileOfTheVersionOrTheModelsConfig) {
  fs::create_directories(root_ / "m" / "1" / "sub");
  std::ofstream(root_ / "m" / "1" / "a.pt") << "1234";
  const ModelRepository repository(root_.string());
  const std::string first = repository.Signature("m", 1);
  EXPECT_EQ(repository.Signature("m", 1), first);  // stable while nothing changes
  std::ofstream(root_ / "m" / "1" / "sub" / "b.pt") << "x";
  const std::string second = repository.Signature("m", 1);
  EXPECT_NE(second, first);
  std::ofstream(root_ / "m" / "serving.yaml") << "max_batch_size: 4\n";
  const std::string third = repository.Signature("m", 1);
  EXPECT_NE(third, second);
  std::ofstream(root_ / "m" / "1" / "a.pt") << "123";  // same name, other size
  EXPECT_NE(repository.Signature("m", 1), third);
}

TEST_F(RepositoryTest, ConfigsLayerTheVersionsServingYamlOverTheModels) {
  fs::create_directories(root_ / "m" / "1");
  std::ofstream(root_ / "m" / "serving.yaml") << "max_batch_size: 16\nmax_queue_size: 7\n";
  std::ofstream(root_ / "m" / "1" / "serving.yaml") << "max_batch_size: 4\n";
  const ModelRepository repository(root_.string());
  auto base = repository.ModelConfig("m");
  ASSERT_TRUE(base.ok()) << base.status();
  EXPECT_EQ(base->max_batch_size, 16);
  auto version = repository.VersionConfig("m", 1, *base);
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(version->max_batch_size, 4);
  EXPECT_EQ(version->max_queue_size, 7);
  std::ofstream(root_ / "m" / "serving.yaml") << "max_batch_size: -1\n";
  auto bad = repository.ModelConfig("m");
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("serving.yaml"), std::string::npos) << bad.status();
}

}  // namespace
}  // namespace tristage::server
