// init_config: a starting config inferred from a dataset's columns, as Ludwig's init_config.
//
// Per column: the target columns become output features, every other column an input. Types:
// a column whose values are all numbers is binary when it has two distinct values (or category
// when it is a target with at most 10 distinct integers), else number; strings are binary with
// two distinct values, date when they parse as ISO dates, text when they average more than three
// words or are nearly all distinct, else category. Columns that are unique ids (all distinct,
// one word) are left out.
#ifndef TRISTAGE_CORE_API_INIT_CONFIG_H_
#define TRISTAGE_CORE_API_INIT_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/data/table.h"
#include "nlohmann/json.hpp"

namespace tristage {

// InvalidArgument when a target is not a column (naming it) or no input remains.
absl::StatusOr<nlohmann::json> InferConfig(const data::Table& table,
                                           const std::vector<std::string>& targets);

}  // namespace tristage

#endif  // TRISTAGE_CORE_API_INIT_CONFIG_H_
