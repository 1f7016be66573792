#include "server/serving/repository.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/export/manifest.h"
#include "nlohmann/json.hpp"

namespace tristage::server {
namespace {

namespace fs = std::filesystem;

std::vector<int64_t> VersionsOn(const fs::path& model_dir) {
  std::vector<int64_t> versions;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(model_dir, ec)) {
    int64_t version = 0;
    if (entry.is_directory() && absl::SimpleAtoi(entry.path().filename().string(), &version) &&
        version > 0) {
      versions.push_back(version);
    }
  }
  std::sort(versions.begin(), versions.end());
  return versions;
}

}  // namespace

std::vector<std::string> ModelRepository::Models() const {
  std::vector<std::string> names;
  if (root_.empty()) return names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_, ec)) {
    if (entry.is_directory() && !VersionsOn(entry.path()).empty()) {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool ModelRepository::Has(const std::string& model) const {
  std::error_code ec;
  return !root_.empty() && fs::is_directory(fs::path(root_) / model, ec);
}

std::vector<int64_t> ModelRepository::Versions(const std::string& model) const {
  return VersionsOn(fs::path(root_) / model);
}

std::string ModelRepository::VersionDirectory(const std::string& model, int64_t version) const {
  return (fs::path(root_) / model / std::to_string(version)).string();
}

absl::StatusOr<ServingConfig> ModelRepository::ModelConfig(const std::string& model) const {
  return LoadServingConfig((fs::path(root_) / model / "serving.yaml").string());
}

absl::StatusOr<ServingConfig> ModelRepository::VersionConfig(const std::string& model,
                                                             int64_t version,
                                                             const ServingConfig& base) const {
  return LoadServingConfig((fs::path(VersionDirectory(model, version)) / "serving.yaml").string(),
                           base);
}

std::string ModelRepository::ModelId(const std::string& model, int64_t version) const {
  std::ifstream in(fs::path(VersionDirectory(model, version)) / exporting::kManifestFile);
  if (!in) return "";
  try {
    return nlohmann::json::parse(in).value("model_id", std::string());
  } catch (const nlohmann::json::exception&) {
    return "";
  }
}

std::string ModelRepository::Signature(const std::string& model, int64_t version) const {
  std::vector<std::string> parts;
  std::error_code ec;
  auto add = [&](const fs::path& file) {
    std::error_code file_ec;
    const uintmax_t size = fs::file_size(file, file_ec);
    const auto mtime = fs::last_write_time(file, file_ec).time_since_epoch().count();
    parts.push_back(absl::StrCat(file.string(), ":", file_ec ? 0 : size, ":", mtime));
  };
  const fs::path model_config = fs::path(root_) / model / "serving.yaml";
  if (fs::exists(model_config, ec)) add(model_config);
  for (auto it = fs::recursive_directory_iterator(VersionDirectory(model, version), ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) add(it->path());
  }
  std::sort(parts.begin(), parts.end());
  return absl::StrJoin(parts, "|");
}

}  // namespace tristage::server
