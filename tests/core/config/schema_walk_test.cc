// Every key of the config schema does something: for each parameter of each table (trainer,
// optimizers, schedules, clipping, preprocessing, splits, features, encoders, decoders, losses,
// combiners), some code of the area that should act on it names it, outside the schema tables.
// A key no code reads is a key a user sets and silently does not get, so this fails for it unless
// it is refused on purpose (kRefused: the resolver rejects a non-default value, naming the key).
//
// It reads the sources (a key is "read" when its quoted name appears in a .cc/.h file of the
// area), which is coarse: a key shared by several components counts once it is read anywhere in
// the area. The per-setting runtime tests prove the effect; this keeps new keys from slipping in
// unread.
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/config/schema.h"
#include "gtest/gtest.h"

namespace tristage::config {
namespace {

namespace fs = std::filesystem;

// The text of every .cc/.h under core/<area> (schema tables excluded), by area.
std::string Sources(const std::vector<std::string>& areas) {
  std::string text;
  for (const std::string& area : areas) {
    const fs::path root = fs::path(TRISTAGE_SOURCE_DIR) / "core" / area;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
      const std::string name = entry.path().filename().string();
      if (!entry.is_regular_file() || absl::StartsWith(name, "schema")) continue;
      if (!absl::EndsWith(name, ".cc") && !absl::EndsWith(name, ".h")) continue;
      std::ifstream in(entry.path());
      text.append(std::istreambuf_iterator<char>(in), {});
    }
  }
  return text;
}

struct Table {
  std::string path;                // e.g. "trainer", "input_features[text].encoder(rnn)"
  std::vector<std::string> areas;  // where the code acting on it lives
  std::vector<Param> params;
};

std::vector<Table> AllTables() {
  std::vector<Table> tables;
  const std::vector<std::string> training = {"training", "api", "distributed"};
  tables.push_back({"trainer", training, TrainerParams()});
  tables.push_back({"trainer.gradient_clipping", training, GradientClippingParams()});
  tables.push_back({"trainer.learning_rate_scheduler", training, LearningRateSchedulerParams()});
  for (const Component& c : OptimizerFamily().members) {
    tables.push_back({absl::StrCat("trainer.optimizer(", c.type, ")"), training, c.params});
  }
  tables.push_back({"preprocessing", {"preprocessing", "data", "api"}, GlobalPreprocessingParams()});
  for (const Component& c : SplitFamily().members) {
    tables.push_back({absl::StrCat("preprocessing.split(", c.type, ")"), {"data", "preprocessing"},
                      c.params});
  }
  for (const Component& c : CombinerFamily().members) {
    tables.push_back({absl::StrCat("combiner(", c.type, ")"), {"model"}, c.params});
  }
  tables.push_back({"output_features[*]", {"features", "model", "training", "evaluation", "api"},
                    CommonOutputParams()});
  for (const FeatureTypeSchema& type : FeatureTypeSchemas()) {
    const std::string feature = absl::StrCat("[", type.name, "]");
    tables.push_back({absl::StrCat("input_features", feature, ".preprocessing"),
                      {"features", "preprocessing"}, type.preprocessing});
    tables.push_back({absl::StrCat("output_features", feature, ".preprocessing"),
                      {"features", "preprocessing"}, type.output_preprocessing});
    tables.push_back({absl::StrCat("output_features", feature),
                      {"features", "model", "training", "evaluation", "export"},
                      type.output_params});
    if (const ComponentFamily* encoders = EncoderFamily(type.name)) {
      for (const Component& c : encoders->members) {
        tables.push_back({absl::StrCat("input_features", feature, ".encoder(", c.type, ")"),
                          {"model", "features"}, c.params});
      }
    }
    if (const ComponentFamily* decoders = DecoderFamily(type.name)) {
      for (const Component& c : decoders->members) {
        tables.push_back({absl::StrCat("output_features", feature, ".decoder(", c.type, ")"),
                          {"model", "features"}, c.params});
      }
    }
    if (const ComponentFamily* losses = LossFamily(type.name)) {
      for (const Component& c : losses->members) {
        tables.push_back({absl::StrCat("output_features", feature, ".loss(", c.type, ")"),
                          {"features", "training"}, c.params});
      }
    }
  }
  return tables;
}

// Keys the resolver refuses (any value but the default is an error naming the key), so a user
// never gets a silent difference. Each entry: "<table path>.<key>".
const std::set<std::string>& Refused() {
  static const auto* const kRefused = new std::set<std::string>{};
  return *kRefused;
}

// Keys accepted while their implementation is under way (empty: every key is read). The test fails
// when one of them starts being read (take it off) and when any other key is unread.
const std::set<std::string>& NotYetRead() {
  static const auto* const kPending = new std::set<std::string>{};
  return *kPending;
}

// Keys read under a prefix the code adds itself: FcLayersFromParams(params, "fc_", ...) reads
// "fc_" + "output_size" and so on.
bool ReadUnderPrefix(const std::string& sources, const std::string& key) {
  for (const std::string prefix : {"fc_"}) {
    if (absl::StartsWith(key, prefix) &&
        absl::StrContains(sources, absl::StrCat("\"", prefix, "\"")) &&
        absl::StrContains(sources, absl::StrCat("\"", key.substr(prefix.size()), "\""))) {
      return true;
    }
  }
  return false;
}

TEST(SchemaWalkTest, EveryKeyIsReadByTheCodeOfItsAreaOrRefused) {
  std::map<std::string, std::string> sources;  // by joined area list
  std::set<std::string> unread;
  size_t keys = 0;
  for (const Table& table : AllTables()) {
    const std::string areas = absl::StrJoin(table.areas, ",");
    if (!sources.count(areas)) sources[areas] = Sources(table.areas);
    for (const Param& param : table.params) {
      ++keys;
      const std::string key = absl::StrCat(table.path, ".", param.name);
      if (Refused().count(key)) continue;
      if (!absl::StrContains(sources[areas], absl::StrCat("\"", param.name, "\"")) &&
          !ReadUnderPrefix(sources[areas], param.name)) {
        unread.insert(key);
      }
    }
  }
  EXPECT_GT(keys, 300u);  // the walk reaches every table
  std::vector<std::string> newly_unread, now_read;
  for (const std::string& key : unread) {
    if (!NotYetRead().count(key)) newly_unread.push_back(key);
  }
  for (const std::string& key : NotYetRead()) {
    if (!unread.count(key)) now_read.push_back(key);
  }
  EXPECT_TRUE(newly_unread.empty())
      << "no code reads these keys (implement them, or refuse them in the resolver and list them "
         "in kRefused):\n  "
      << absl::StrJoin(newly_unread, "\n  ");
  EXPECT_TRUE(now_read.empty()) << "these keys are read now; take them off NotYetRead():\n  "
                                << absl::StrJoin(now_read, "\n  ");
}

}  // namespace
}  // namespace tristage::config
