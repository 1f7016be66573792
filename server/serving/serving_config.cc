#include "server/serving/serving_config.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/util/names.h"
#include "core/util/status_macros.h"

namespace tristage::server {
namespace {

absl::Status KeyError(const std::string& source, const std::string& key,
                      const std::string& reason) {
  return absl::InvalidArgumentError(absl::StrCat(source, ": ", key, ": ", reason));
}

absl::Status CheckKeys(const YAML::Node& node, const std::vector<std::string>& known,
                       const std::string& source, const std::string& where) {
  if (!node.IsMap())
    return KeyError(source, where.empty() ? "(top level)" : where, "expected a map");
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>();
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return KeyError(source, where.empty() ? key : absl::StrCat(where, ".", key),
                      absl::StrCat("unknown key (known: ", absl::StrJoin(known, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

template <typename T>
absl::StatusOr<T> Scalar(const YAML::Node& node, const std::string& source,
                         const std::string& key) {
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    return KeyError(source, key,
                    std::is_same_v<T, std::string> ? "expected a string" : "expected a number");
  }
}

absl::StatusOr<int64_t> Positive(const YAML::Node& node, const std::string& source,
                                 const std::string& key, int64_t minimum) {
  TRISTAGE_ASSIGN_OR_RETURN(int64_t value, Scalar<int64_t>(node, source, key));
  if (value < minimum) return KeyError(source, key, absl::StrCat("must be >= ", minimum));
  return value;
}

absl::Status ParseRemote(const YAML::Node& node, const std::string& source, const std::string& name,
                         RemoteStageConfig& remote) {
  TRISTAGE_RETURN_IF_ERROR(CheckKeys(node,
                                     {"address", "model", "version", "timeout_ms", "tls", "tls_ca",
                                      "tls_cert", "tls_key", "token_file"},
                                     source, name));
  for (auto [key, field] :
       std::vector<std::pair<const char*, std::string*>>{{"address", &remote.address},
                                                         {"model", &remote.model},
                                                         {"version", &remote.version},
                                                         {"tls_ca", &remote.tls_ca},
                                                         {"tls_cert", &remote.tls_cert},
                                                         {"tls_key", &remote.tls_key},
                                                         {"token_file", &remote.token_file}}) {
    if (node[key]) {
      TRISTAGE_ASSIGN_OR_RETURN(*field, Scalar<std::string>(node[key], source, name + "." + key));
    }
  }
  if (node["timeout_ms"]) {
    TRISTAGE_ASSIGN_OR_RETURN(remote.timeout_ms,
                              Positive(node["timeout_ms"], source, name + ".timeout_ms", 1));
  }
  if (node["tls"]) {
    TRISTAGE_ASSIGN_OR_RETURN(remote.tls, Scalar<bool>(node["tls"], source, name + ".tls"));
  }
  if (remote.address.empty() || remote.model.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": ", name, " needs an address (HOST:PORT) and a model"));
  }
  if (absl::Status checked = CheckName(name + ".model", remote.model); !checked.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", checked.message()));
  }
  return absl::OkStatus();
}

absl::Status ParseStage(const YAML::Node& node, const std::string& source, const std::string& name,
                        StageConfig& stage) {
  if (name == "predictor" && node.IsMap() && node["remote"]) {
    TRISTAGE_RETURN_IF_ERROR(CheckKeys(node, {"device", "instances", "remote"}, source, name));
    TRISTAGE_RETURN_IF_ERROR(ParseRemote(node["remote"], source, name + ".remote", stage.remote));
  } else {
    TRISTAGE_RETURN_IF_ERROR(CheckKeys(node, {"device", "instances"}, source, name));
  }
  if (node["device"]) {
    TRISTAGE_ASSIGN_OR_RETURN(stage.device,
                              Scalar<std::string>(node["device"], source, name + ".device"));
  }
  if (node["instances"]) {
    TRISTAGE_ASSIGN_OR_RETURN(int64_t instances,
                              Positive(node["instances"], source, name + ".instances", 1));
    stage.instances = static_cast<int>(instances);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ServingConfig> ParseServingConfig(const std::string& yaml, const std::string& source,
                                                 ServingConfig base) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", e.what()));
  }
  if (root.IsNull()) return base;
  TRISTAGE_RETURN_IF_ERROR(
      CheckKeys(root,
                {"preprocessor", "predictor", "postprocessor", "max_batch_size", "max_request_rows",
                 "max_queue_delay_us", "preferred_batch_sizes", "max_queue_size",
                 "default_timeout_ms", "max_cell_bytes", "version_policy", "fused"},
                source, ""));
  ServingConfig config = std::move(base);
  for (auto [name, stage] :
       {std::pair<const char*, StageConfig*>{"preprocessor", &config.preprocessor},
        {"predictor", &config.predictor},
        {"postprocessor", &config.postprocessor}}) {
    if (root[name]) TRISTAGE_RETURN_IF_ERROR(ParseStage(root[name], source, name, *stage));
  }
  if (root["max_batch_size"]) {
    TRISTAGE_ASSIGN_OR_RETURN(config.max_batch_size,
                              Positive(root["max_batch_size"], source, "max_batch_size", 1));
  }
  if (root["max_request_rows"]) {
    TRISTAGE_ASSIGN_OR_RETURN(config.max_request_rows,
                              Positive(root["max_request_rows"], source, "max_request_rows", 1));
  }
  if (root["max_queue_delay_us"]) {
    TRISTAGE_ASSIGN_OR_RETURN(config.max_queue_delay_us, Positive(root["max_queue_delay_us"],
                                                                  source, "max_queue_delay_us", 0));
  }
  if (root["max_queue_size"]) {
    TRISTAGE_ASSIGN_OR_RETURN(config.max_queue_size,
                              Positive(root["max_queue_size"], source, "max_queue_size", 1));
  }
  if (root["max_cell_bytes"]) {
    TRISTAGE_ASSIGN_OR_RETURN(config.max_cell_bytes,
                              Positive(root["max_cell_bytes"], source, "max_cell_bytes", 1));
  }
  if (root["default_timeout_ms"]) {
    TRISTAGE_ASSIGN_OR_RETURN(config.default_timeout_ms, Positive(root["default_timeout_ms"],
                                                                  source, "default_timeout_ms", 0));
  }
  if (const YAML::Node sizes = root["preferred_batch_sizes"]) {
    if (!sizes.IsSequence()) return KeyError(source, "preferred_batch_sizes", "expected a list");
    config.preferred_batch_sizes.clear();
    for (size_t i = 0; i < sizes.size(); ++i) {
      TRISTAGE_ASSIGN_OR_RETURN(
          int64_t size,
          Positive(sizes[i], source, absl::StrCat("preferred_batch_sizes[", i, "]"), 1));
      config.preferred_batch_sizes.push_back(size);
    }
  }
  for (int64_t size : config.preferred_batch_sizes) {
    if (size > config.max_batch_size) {
      return KeyError(source, "preferred_batch_sizes",
                      absl::StrCat(size, " exceeds max_batch_size ", config.max_batch_size));
    }
  }
  if (root["fused"]) {
    try {
      config.fused = root["fused"].as<bool>();
    } catch (const YAML::Exception&) {
      return KeyError(source, "fused", "expected true or false");
    }
  }
  if (const YAML::Node policy = root["version_policy"]) {
    TRISTAGE_RETURN_IF_ERROR(
        CheckKeys(policy, {"latest", "all", "specific"}, source, "version_policy"));
    if (policy.size() != 1) {
      return KeyError(source, "version_policy", "give exactly one of latest, all, specific");
    }
    if (policy["latest"]) {
      config.version_policy.kind = VersionPolicy::Kind::kLatest;
      TRISTAGE_ASSIGN_OR_RETURN(int64_t latest,
                                Positive(policy["latest"], source, "version_policy.latest", 1));
      config.version_policy.latest = static_cast<int>(latest);
    } else if (policy["all"]) {
      config.version_policy.kind = VersionPolicy::Kind::kAll;
    } else {
      const YAML::Node specific = policy["specific"];
      if (!specific.IsSequence() || specific.size() == 0) {
        return KeyError(source, "version_policy.specific", "expected a non-empty list");
      }
      config.version_policy.kind = VersionPolicy::Kind::kSpecific;
      config.version_policy.specific.clear();
      for (size_t i = 0; i < specific.size(); ++i) {
        TRISTAGE_ASSIGN_OR_RETURN(
            int64_t version,
            Positive(specific[i], source, absl::StrCat("version_policy.specific[", i, "]"), 1));
        config.version_policy.specific.push_back(version);
      }
    }
  }
  return config;
}

absl::StatusOr<ServingConfig> LoadServingConfig(const std::string& path, ServingConfig base) {
  if (!std::filesystem::exists(path)) return base;
  std::ifstream in(path);
  if (!in) return absl::PermissionDeniedError(absl::StrCat(path, ": cannot read"));
  std::stringstream text;
  text << in.rdbuf();
  return ParseServingConfig(text.str(), path, std::move(base));
}

std::vector<int64_t> SelectVersions(const VersionPolicy& policy, std::vector<int64_t> available) {
  std::sort(available.begin(), available.end());
  switch (policy.kind) {
    case VersionPolicy::Kind::kAll: return available;
    case VersionPolicy::Kind::kSpecific: {
      std::vector<int64_t> chosen;
      for (int64_t v : available) {
        if (std::find(policy.specific.begin(), policy.specific.end(), v) != policy.specific.end()) {
          chosen.push_back(v);
        }
      }
      return chosen;
    }
    case VersionPolicy::Kind::kLatest:
    default: {
      const size_t keep = std::min(available.size(), static_cast<size_t>(policy.latest));
      return std::vector<int64_t>(available.end() - static_cast<std::ptrdiff_t>(keep),
                                  available.end());
    }
  }
}

}  // namespace tristage::server
