// Shared by the export tests: train a config on synthesized rows, and check that the exported three
// stages (saved and reloaded, and in memory) predict exactly like the engine on the same rows.
// Each component's parity cases live in tests/core/export/<area>_parity_test.cc (picked up by the
// build without listing them): one config per component, trained briefly, through
// ExpectExportPredictsLikeTheEngine.
#ifndef TRISTAGE_TESTS_CORE_EXPORT_PARITY_H_
#define TRISTAGE_TESTS_CORE_EXPORT_PARITY_H_

#include <filesystem>
#include <memory>
#include <string>

#include "core/api/model.h"
#include "core/data/table.h"
#include "nlohmann/json.hpp"

namespace tristage::exporting {

// Trains `config` for its configured epochs on `rows` synthesized rows (5% of inputs missing),
// written under `dir`; `*table` gets the rows as read back. Null (with a test failure) on error.
std::unique_ptr<Model> TrainSynthesized(const nlohmann::json& config, int64_t rows,
                                        const std::filesystem::path& dir, data::Table* table);

// Space-separated numbers compare within 1e-6 (relative with `relative`); the rest exactly.
void ExpectSameTables(const data::Table& expected, const data::Table& actual,
                      bool relative = false);

// Model::Predict on `table` against the exported stages: saved into `dir`/export and reloaded,
// and in memory (ToTorchscript).
void ExpectExportPredictsLikeTheEngine(Model& model, const data::Table& table,
                                       const std::filesystem::path& dir);

}  // namespace tristage::exporting

#endif  // TRISTAGE_TESTS_CORE_EXPORT_PARITY_H_
