// Tests of the output and input type registry (core/export/output_types.h): every registered
// output type goes through the generic readers (decode -> prediction columns -> KServe tensors ->
// tristage.v1 fields) consistently with its entry and its manifest keys; a type registered here,
// in the test binary, is served by those readers with no change to them.
#include "core/export/output_types.h"

#include <cstring>
#include <filesystem>

#include "absl/strings/str_join.h"
#include "core/api/model.h"
#include "core/api/synthesize.h"
#include "core/data/io.h"
#include "core/evaluation/metrics.h"
#include "core/export/stages.h"
#include "core/features/feature.h"
#include "core/util/strings.h"
#include "gtest/gtest.h"
#include "server/rpc/inference_service.h"
#include "server/rpc/kserve_service.h"

namespace tristage::exporting {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// One value per field of OutputValues, in OutputField bit order: how many entries it holds.
std::vector<size_t> FieldSizes(const OutputValues& v) {
  return {v.labels.size(),
          v.numbers.size(),
          v.vectors.size(),
          v.items.size(),
          v.class_names.size(),
          v.probabilities.size(),
          v.item_probabilities.size(),
          v.probability.size()};
}

std::vector<size_t> FieldSizes(const tristage::v1::OutputFeature& f) {
  return {static_cast<size_t>(f.labels_size()),
          static_cast<size_t>(f.numbers_size()),
          static_cast<size_t>(f.vectors_size()),
          static_cast<size_t>(f.items_size()),
          static_cast<size_t>(f.class_names_size()),
          static_cast<size_t>(f.probabilities_size()),
          static_cast<size_t>(f.item_probabilities_size()),
          static_cast<size_t>(f.probability_size())};
}

// A BYTES tensor's elements (4-byte little-endian length, then the bytes).
std::vector<std::string> BytesElements(const std::string& raw) {
  std::vector<std::string> elements;
  size_t at = 0;
  while (at + 4 <= raw.size()) {
    uint32_t length = 0;
    std::memcpy(&length, raw.data() + at, 4);
    elements.push_back(raw.substr(at + 4, length));
    at += 4 + length;
  }
  EXPECT_EQ(at, raw.size()) << "trailing bytes";
  return elements;
}

// An FP32 tensor's rows as prediction-file text: one number, or numbers joined by spaces.
std::vector<std::string> Fp32Rows(const std::string& raw, const std::vector<int64_t>& shape) {
  std::vector<float> values(raw.size() / sizeof(float));
  std::memcpy(values.data(), raw.data(), values.size() * sizeof(float));
  const size_t width = shape.size() == 2 ? static_cast<size_t>(shape[1]) : 1;
  std::vector<std::string> rows;
  for (size_t start = 0; width > 0 && start < values.size(); start += width) {
    rows.push_back(JoinNumbers({values.begin() + start, values.begin() + start + width}));
  }
  return rows;
}

class OutputTypesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tristage_output_types_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
};

TEST_F(OutputTypesTest, EveryRegisteredOutputTypeRoundTripsThroughTheGenericReaders) {
  // One output of every registered type the engine trains, on a number input.
  json config = {{"input_features", {{{"name", "x"}, {"type", "number"}}}},
                 {"output_features", json::array()},
                 {"trainer", {{"epochs", 1}, {"batch_size", 16}}}};
  std::vector<std::string> types;
  for (const std::string& type : RegisteredOutputTypes()) {
    if (features::FindFeatureType(type) == nullptr) continue;  // e.g. the test's own type below
    config["output_features"].push_back({{"name", "out_" + type}, {"type", type}});
    types.push_back(type);
  }
  ASSERT_GE(types.size(), 5u) << absl::StrJoin(types, ", ");
  SynthesizeOptions synth;
  synth.rows = 64;
  auto table = SynthesizeDataset(config, synth);
  ASSERT_TRUE(table.ok()) << table.status();
  const std::string data = (dir_ / "data.csv").string();
  ASSERT_TRUE(data::WriteTable(*table, data).ok());
  auto model = Model::FromConfig(config);
  ASSERT_TRUE(model.ok()) << model.status();
  TrainOptions options;
  options.data.dataset = data;
  options.output_directory = (dir_ / "results").string();
  options.skip_save_processed_input = true;
  ASSERT_TRUE((*model)->Train(options).ok());
  ASSERT_TRUE((*model)->SaveTorchscript((dir_ / "export").string()).ok());
  auto stages = LoadStages((dir_ / "export").string());
  ASSERT_TRUE(stages.ok()) << stages.status();

  InputColumns inputs;
  inputs["x"].strings = {"0.5", "-1", "2.25"};
  auto pre = stages->PreprocessorForward(ToRawInputs(inputs));
  ASSERT_TRUE(pre.ok()) << pre.status();
  auto predicted = stages->PredictorForward(*pre);
  ASSERT_TRUE(predicted.ok()) << predicted.status();
  auto post = stages->PostprocessorForward(*predicted);
  ASSERT_TRUE(post.ok()) << post.status();
  auto decoded = DecodeOutputs(stages->manifest, *post);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->size(), types.size());

  for (size_t f = 0; f < decoded->size(); ++f) {
    const auto& [name, values] = (*decoded)[f];
    const OutputSpec& spec = stages->manifest.outputs[f];
    SCOPED_TRACE(spec.type);
    const OutputType* type = FindOutputType(spec.type);
    ASSERT_NE(type, nullptr);
    ASSERT_EQ(values.type, spec.type);
    ASSERT_EQ(values.rows(), 3);
    // Decoding fills exactly the fields the entry declares.
    const std::vector<size_t> sizes = FieldSizes(values);
    for (size_t bit = 0; bit < sizes.size(); ++bit) {
      EXPECT_EQ(sizes[bit] != 0, (type->fields >> bit & 1u) != 0) << "field bit " << bit;
    }
    const OutputMap one = {{name, values}};

    // Prediction columns: the entry's, prefixed, one cell per row, predictions first.
    auto columns = PredictionsTable(one);
    ASSERT_TRUE(columns.ok()) << columns.status();
    ASSERT_FALSE(columns->column_names().empty());
    EXPECT_EQ(columns->column_names()[0], name + "_predictions");
    EXPECT_EQ(columns->num_rows(), 3);
    const data::Column& predictions = **columns->Get(name + "_predictions");

    // KServe tensors: one per manifest key, in its order, rows first, sized by datatype; the
    // predictions tensor says what the predictions column says.
    inference::ModelInferRequest request;
    inference::ModelInferResponse response;
    ASSERT_TRUE(server::OutputsToInferResponse(one, request, response).ok());
    ASSERT_EQ(response.outputs_size(), static_cast<int>(spec.keys.size()));
    for (int t = 0; t < response.outputs_size(); ++t) {
      const auto& tensor = response.outputs(t);
      const std::string& raw = response.raw_output_contents(t);
      EXPECT_EQ(tensor.name(), spec.keys[t].first);
      ASSERT_GE(tensor.shape_size(), 1);
      EXPECT_EQ(tensor.shape(0), 3);
      std::vector<int64_t> shape(tensor.shape().begin(), tensor.shape().end());
      std::vector<std::string> rows;
      if (tensor.datatype() == "BYTES") {
        rows = BytesElements(raw);
      } else {
        ASSERT_EQ(tensor.datatype(), "FP32");
        int64_t count = 1;
        for (int64_t d : shape) count *= d;
        EXPECT_EQ(raw.size(), count * sizeof(float));
        rows = Fp32Rows(raw, shape);
      }
      EXPECT_EQ(rows.size(), 3u) << tensor.name();
      if (tensor.name() == name + "::predictions") {
        EXPECT_EQ(rows, predictions.values);
      }
    }
    // Asking for one tensor by name gives that one alone.
    request.add_outputs()->set_name(spec.keys.back().first);
    inference::ModelInferResponse only;
    ASSERT_TRUE(server::OutputsToInferResponse(one, request, only).ok());
    ASSERT_EQ(only.outputs_size(), 1);
    EXPECT_EQ(only.outputs(0).name(), spec.keys.back().first);

    // tristage.v1: the type and every field as decoded.
    tristage::v1::PredictResponse proto;
    ASSERT_TRUE(server::OutputsToProto(one, {}, proto).ok());
    const tristage::v1::OutputFeature& out = proto.outputs().at(name);
    EXPECT_EQ(out.type(), spec.type);
    EXPECT_EQ(FieldSizes(out), sizes);
  }
}

// A type the engine does not have, registered here: the manifest, the prediction file, KServe,
// tristage.v1 and the metric checks serve it from its entry alone.
OutputType RankType() {
  OutputType type;
  type.name = "test_rank";
  type.keys = {{"predictions", "List[str]"}, {"score", "Tensor"}};
  type.class_names = [](const json& metadata) {
    return metadata.value("ranks", std::vector<std::string>{});
  };
  type.fields = kLabels | kProbability;
  type.decode = [](const ScriptResult&, const OutputSpec&, OutputValues&) {
    return absl::UnimplementedError("not used here");
  };
  type.columns = [](const OutputValues& values) {
    data::Column predicted;
    for (const std::string& label : values.labels) predicted.Append("#" + label, false);
    SuffixColumns columns;
    columns.emplace_back("_predictions", std::move(predicted));
    columns.emplace_back("_score", NumberColumn(values.probability));
    return columns;
  };
  type.tensors = [](const OutputValues& values) {
    std::string labels;
    for (const std::string& label : values.labels) AppendRawBytes(label, labels);
    return std::vector<OutputTensor>{
        {"predictions", "BYTES", {values.rows()}, labels},
        {"score", "FP32", {values.rows()}, RawFloats(values.probability)}};
  };
  type.check_eval_data = [](const evaluation::EvalData& data) {
    return evaluation::CheckLength(data, "targets", data.targets, data.rows, "rows");
  };
  return type;
}

TEST_F(OutputTypesTest, ATypeRegisteredInOneEntryIsServedByEveryGenericReader) {
  static const bool registered = RegisterOutputType(RankType());
  ASSERT_TRUE(registered);

  const json config = {{"input_features", {{{"name", "x"}, {"type", "number"}}}},
                       {"output_features", {{{"name", "r"}, {"type", "test_rank"}}}}};
  const json metadata = {{"x", json::object()}, {"r", {{"ranks", {"low", "high"}}}}};
  auto manifest = DescribeModel(config, metadata);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  const OutputSpec& spec = manifest->outputs.at(0);
  EXPECT_EQ(spec.keys, (std::vector<std::pair<std::string, std::string>>{
                           {"r::predictions", "List[str]"}, {"r::score", "Tensor"}}));
  EXPECT_EQ(spec.class_names, (std::vector<std::string>{"low", "high"}));

  OutputValues values;
  values.type = "test_rank";
  values.labels = {"low", "high"};
  values.probability = {0.25f, 0.5f};
  const OutputMap outputs = {{"r", values}};

  auto table = PredictionsTable(outputs);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->column_names(), (std::vector<std::string>{"r_predictions", "r_score"}));
  EXPECT_EQ((*table->Get("r_predictions"))->values, (std::vector<std::string>{"#low", "#high"}));
  EXPECT_EQ((*table->Get("r_score"))->values, (std::vector<std::string>{"0.25", "0.5"}));

  inference::ModelInferRequest request;
  inference::ModelInferResponse response;
  ASSERT_TRUE(server::OutputsToInferResponse(outputs, request, response).ok());
  ASSERT_EQ(response.outputs_size(), 2);
  EXPECT_EQ(response.outputs(1).name(), "r::score");
  EXPECT_EQ(response.outputs(1).datatype(), "FP32");
  EXPECT_EQ(BytesElements(response.raw_output_contents(0)),
            (std::vector<std::string>{"low", "high"}));

  tristage::v1::PredictResponse proto;
  ASSERT_TRUE(server::OutputsToProto(outputs, {}, proto).ok());
  EXPECT_EQ(proto.outputs().at("r").labels_size(), 2);
  EXPECT_EQ(proto.outputs().at("r").probability_size(), 2);

  evaluation::EvalData data;
  data.type = "test_rank";
  data.rows = 2;
  data.targets = {1, 0};
  EXPECT_TRUE(evaluation::CheckEvalData(data).ok());
  data.targets = {1};
  EXPECT_EQ(evaluation::CheckEvalData(data).code(), absl::StatusCode::kInvalidArgument);
}

// The registry and the feature types name the same types: each has an input entry, and an output
// entry exactly when it can be an output feature.
TEST(OutputTypesRegistryTest, MatchesTheFeatureTypes) {
  EXPECT_EQ(RegisteredInputTypes(), features::RegisteredFeatureTypes());
  for (const std::string& name : features::RegisteredFeatureTypes()) {
    EXPECT_EQ(FindOutputType(name) != nullptr, features::FindFeatureType(name)->can_be_output())
        << name;
  }
}

}  // namespace
}  // namespace tristage::exporting
