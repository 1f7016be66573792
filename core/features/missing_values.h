// Missing-value handling, Ludwig's `preprocessing.missing_value_strategy`, shared by all types.
//
//   fill_with_const  the feature's `fill_value`
//   fill_with_mean   the training split's mean (number features only)
//   fill_with_mode   the training split's most frequent value
//   fill_with_false  the false label (binary)
//   bfill / ffill    the next / previous non-missing value in the same split (then the other
//                    direction at the ends)
//   drop_row         rows with a missing value are removed (the default for output features)
// The value to fill with is computed once on the training split and kept in the feature's
// metadata as `computed_fill_value`, so evaluation and prediction fill exactly like training did.
#ifndef TRISTAGE_CORE_FEATURES_MISSING_VALUES_H_
#define TRISTAGE_CORE_FEATURES_MISSING_VALUES_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/data/table.h"
#include "nlohmann/json.hpp"

namespace tristage::features {

// The strategy from the resolved feature config ("fill_with_const" when absent).
std::string MissingValueStrategy(const nlohmann::json& feature);

// The fill value for the constant/mean/mode/false strategies, from the training split; nullopt for
// bfill, ffill and drop_row. InvalidArgument when it cannot be computed (mean of a non-number
// column, every training value missing), naming the column.
absl::StatusOr<std::optional<std::string>> ComputeFillValue(const nlohmann::json& feature,
                                                            const data::Column& training);

// Fills the nulls of `column` in place by the strategy (drop_row leaves it unchanged).
// `fill_value` is ComputeFillValue's result. InvalidArgument when bfill/ffill find no value at all.
absl::Status FillMissing(const nlohmann::json& feature,
                         const std::optional<std::string>& fill_value, data::Column& column);

}  // namespace tristage::features

#endif  // TRISTAGE_CORE_FEATURES_MISSING_VALUES_H_
