// Typed reads of resolved config parameters, for component factories. The config module has
// already validated types and filled defaults, so a wrong type here is a bug: the helpers return
// InvalidArgument naming the key instead of throwing.
// Internal to core/model.
#ifndef TRISTAGE_CORE_MODEL_PARAMS_H_
#define TRISTAGE_CORE_MODEL_PARAMS_H_

#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace tristage::model {

absl::StatusOr<int64_t> GetInt(const nlohmann::json& params, const std::string& key,
                               int64_t fallback);
absl::StatusOr<double> GetDouble(const nlohmann::json& params, const std::string& key,
                                 double fallback);
absl::StatusOr<bool> GetBool(const nlohmann::json& params, const std::string& key, bool fallback);
// `fallback` also when the value is null.
absl::StatusOr<std::string> GetString(const nlohmann::json& params, const std::string& key,
                                      const std::string& fallback);

// The feature's `encoder` / `decoder` section (an empty object when absent).
const nlohmann::json& Section(const nlohmann::json& feature, const std::string& key);

}  // namespace tristage::model

#endif  // TRISTAGE_CORE_MODEL_PARAMS_H_
