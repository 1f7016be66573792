// Internal to core/config: how ParseConfigText types a plain YAML scalar, shared with the renderer
// so that RenderConfigYaml quotes exactly the strings the parser would otherwise read as
// something else.
#ifndef TRISTAGE_CORE_CONFIG_YAML_SCALARS_H_
#define TRISTAGE_CORE_CONFIG_YAML_SCALARS_H_

#include <string>

#include "nlohmann/json.hpp"

namespace tristage::config {

// The YAML 1.2 core schema: null (~, null, empty), true/false, integers (decimal, 0o, 0x), floats
// (incl. 1e-3, .inf, .nan); anything else is the string itself.
nlohmann::json ResolvePlainScalar(const std::string& text);

}  // namespace tristage::config

#endif  // TRISTAGE_CORE_CONFIG_YAML_SCALARS_H_
