#include "core/model/registry.h"

#include <cstdlib>
#include <iostream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tristage::model {
namespace {

// One table per factory type; key: "<feature type>/<name>" (combiners: "/<name>").
template <typename Factory>
std::map<std::string, Factory>& Table() {
  static auto* table = new std::map<std::string, Factory>();
  return *table;
}

template <typename Factory>
bool Register(const std::string& type, const std::string& name, Factory factory) {
  if (!Table<Factory>().emplace(type + "/" + name, std::move(factory)).second) {
    std::cerr << "tristage: component '" << name << "' registered twice for '" << type << "'\n";
    std::abort();
  }
  return true;
}

template <typename Factory>
std::vector<std::string> Names(const std::string& type) {
  std::vector<std::string> names;
  const std::string prefix = type + "/";
  for (const auto& [key, factory] : Table<Factory>()) {
    if (key.compare(0, prefix.size(), prefix) == 0) names.push_back(key.substr(prefix.size()));
  }
  return names;
}

template <typename Factory>
absl::StatusOr<Factory> Find(const char* kind, const std::string& type, const std::string& name) {
  auto it = Table<Factory>().find(type + "/" + name);
  if (it != Table<Factory>().end()) return it->second;
  return absl::NotFoundError(
      absl::StrCat("no ", kind, " '", name, "'", type.empty() ? "" : absl::StrCat(" for ", type),
                   " (known: ", absl::StrJoin(Names<Factory>(type), ", "), ")"));
}

}  // namespace

bool RegisterEncoder(const std::string& feature_type, const std::string& name, EncoderFactory f) {
  return Register(feature_type, name, std::move(f));
}
bool RegisterCombiner(const std::string& name, CombinerFactory f) {
  return Register(std::string(), name, std::move(f));
}
bool RegisterDecoder(const std::string& feature_type, const std::string& name, DecoderFactory f) {
  return Register(feature_type, name, std::move(f));
}

absl::StatusOr<EncoderFactory> FindEncoder(const std::string& feature_type,
                                           const std::string& name) {
  return Find<EncoderFactory>("encoder", feature_type, name);
}
absl::StatusOr<CombinerFactory> FindCombiner(const std::string& name) {
  return Find<CombinerFactory>("combiner", "", name);
}
absl::StatusOr<DecoderFactory> FindDecoder(const std::string& feature_type,
                                           const std::string& name) {
  return Find<DecoderFactory>("decoder", feature_type, name);
}

std::vector<std::string> RegisteredEncoders(const std::string& feature_type) {
  return Names<EncoderFactory>(feature_type);
}
std::vector<std::string> RegisteredCombiners() {
  return Names<CombinerFactory>("");
}
std::vector<std::string> RegisteredDecoders(const std::string& feature_type) {
  return Names<DecoderFactory>(feature_type);
}

}  // namespace tristage::model
