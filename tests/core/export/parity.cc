#include "tests/core/export/parity.h"

#include <cmath>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/api/synthesize.h"
#include "core/data/io.h"
#include "core/export/inference.h"
#include "gtest/gtest.h"

namespace tristage::exporting {

using nlohmann::json;
namespace fs = std::filesystem;

std::unique_ptr<Model> TrainSynthesized(const json& config, int64_t rows, const fs::path& dir,
                                        data::Table* table) {
  SynthesizeOptions synth;
  synth.rows = rows;
  synth.seed = 3;
  synth.missing_rate = 0.05;
  auto synthesized = SynthesizeDataset(config, synth);
  EXPECT_TRUE(synthesized.ok()) << synthesized.status();
  if (!synthesized.ok()) return nullptr;
  const std::string path = (dir / "data.csv").string();
  EXPECT_TRUE(data::WriteTable(*synthesized, path).ok());
  auto read = ReadDataset(path);
  EXPECT_TRUE(read.ok()) << read.status();
  if (!read.ok()) return nullptr;
  *table = *read;
  auto model = Model::FromConfig(config);
  EXPECT_TRUE(model.ok()) << model.status();
  if (!model.ok()) return nullptr;
  TrainOptions options;
  options.data.dataset = path;
  options.output_directory = (dir / "results").string();
  options.random_seed = 5;
  options.skip_save_processed_input = true;
  auto trained = (*model)->Train(options);
  EXPECT_TRUE(trained.ok()) << trained.status();
  if (!trained.ok()) return nullptr;
  return std::move(*model);
}

namespace {

// Space-separated numbers compare within 1e-6; everything else exactly.
// `relative`: another process's BLAS may round float32 sums differently, so Python's results are
// compared within a relative 1e-6 instead.
void ExpectSameCell(const std::string& expected, const std::string& actual,
                    const std::string& where, bool relative) {
  if (expected == actual) return;
  const std::vector<std::string> e = absl::StrSplit(expected, ' ');
  const std::vector<std::string> a = absl::StrSplit(actual, ' ');
  ASSERT_EQ(e.size(), a.size()) << where << ": '" << expected << "' vs '" << actual << "'";
  for (size_t i = 0; i < e.size(); ++i) {
    double x = 0, y = 0;
    ASSERT_TRUE(absl::SimpleAtod(e[i], &x) && absl::SimpleAtod(a[i], &y))
        << where << ": '" << expected << "' vs '" << actual << "'";
    // Prediction files print float32 values in their shortest form; compare at that precision.
    const double tolerance = relative ? 1e-6 * std::max(1.0, std::abs(x)) : 1e-6;
    EXPECT_TRUE(static_cast<float>(x) == static_cast<float>(y) || std::abs(x - y) <= tolerance)
        << where << ": '" << expected << "' vs '" << actual << "'";
  }
}

}  // namespace

void ExpectSameTables(const data::Table& expected, const data::Table& actual, bool relative) {
  ASSERT_EQ(expected.column_names(), actual.column_names());
  ASSERT_EQ(expected.num_rows(), actual.num_rows());
  for (const std::string& name : expected.column_names()) {
    const data::Column& e = **expected.Get(name);
    const data::Column& a = **actual.Get(name);
    for (size_t row = 0; row < e.size(); ++row) {
      ExpectSameCell(e.values[row], a.values[row], absl::StrCat(name, " row ", row), relative);
      if (::testing::Test::HasFailure()) return;
    }
  }
}

void ExpectExportPredictsLikeTheEngine(Model& model, const data::Table& table,
                                       const fs::path& dir) {
  auto expected = model.Predict(table);
  ASSERT_TRUE(expected.ok()) << expected.status();
  const std::string out = (dir / "export").string();
  ASSERT_TRUE(model.SaveTorchscript(out).ok());
  auto loaded = InferenceModule::FromDirectory(out);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  auto actual = (*loaded)->Predict(table);
  ASSERT_TRUE(actual.ok()) << actual.status();
  ExpectSameTables(*expected, *actual);
  auto in_memory = model.ToTorchscript();
  ASSERT_TRUE(in_memory.ok()) << in_memory.status();
  auto again = (*in_memory)->Predict(table);
  ASSERT_TRUE(again.ok()) << again.status();
  ExpectSameTables(*expected, *again);
}

}  // namespace tristage::exporting
