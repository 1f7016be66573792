// Tests of `tristage export_triton`: the config.pbtxt it writes parses with (a faithful subset of)
// Triton's ModelConfig schema and names, types and shapes the predictor's tensors as the manifest
// does; model.pt has the forward signature Triton's PyTorch backend accepts and, fed the
// preprocessor's output as Triton would feed it, gives the export's own predictor's tensors; the
// same predictor served by tristage-server as a KServe tensor model has the same tensor names and
// shapes; bad flags, models and destinations fail clearly and leave nothing behind.
//
// Registered as one ctest: the cases share one trained model.
#include <google/protobuf/text_format.h>
#include <signal.h>
#include <sys/stat.h>
#include <torch/script.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "client/cli/verbs.h"
#include "core/api/model.h"
#include "core/api/synthesize.h"
#include "core/data/io.h"
#include "core/export/inference.h"
#include "core/export/stages.h"
#include "core/export/triton.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "inference/grpc_service.grpc.pb.h"
#include "tests/testing/daemon.h"
#include "tests/testing/proto/triton_model_config.pb.h"
#include "tests/testing/subprocess.h"

namespace tristage::exporting {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Every output type, and inputs of each tensor layout: [B] float and int64, [B, n] float and
// int64 (set, vector, date, text). Feature names with '-' and '.' (legal in Ludwig configs) pass
// through Triton's names unchanged.
json Config() {
  return json::parse(R"({
    "input_features": [
      {"name": "tenure-months", "type": "number"}, {"name": "autopay", "type": "binary"},
      {"name": "plan.tier", "type": "category"}, {"name": "addons", "type": "set"},
      {"name": "embedding", "type": "vector"}, {"name": "signup", "type": "date"},
      {"name": "notes", "type": "text", "encoder": {"type": "parallel_cnn", "num_filters": 4,
                                                    "embedding_size": 4, "output_size": 4}}],
    "output_features": [
      {"name": "churned", "type": "binary"}, {"name": "spend", "type": "number"},
      {"name": "segment", "type": "category"}, {"name": "products", "type": "set"},
      {"name": "profile", "type": "vector"}],
    "trainer": {"epochs": 1, "batch_size": 64}
  })");
}

struct Trained {
  fs::path dir;
  std::string model_dir;
  data::Table table;
};

// One small model for every test (training is the slow part), in a directory of its own.
Trained* trained = nullptr;

class ExportTritonTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    trained = new Trained;
    trained->dir =
        fs::temp_directory_path() / ("tristage_export_triton_test_" + std::to_string(::getpid()));
    fs::remove_all(trained->dir);
    fs::create_directories(trained->dir);
    SynthesizeOptions synth;
    synth.rows = 240;
    synth.seed = 11;
    synth.missing_rate = 0.05;
    auto table = SynthesizeDataset(Config(), synth);
    ASSERT_TRUE(table.ok()) << table.status();
    const std::string path = (trained->dir / "data.csv").string();
    ASSERT_TRUE(data::WriteTable(*table, path).ok());
    auto read = ReadDataset(path);
    ASSERT_TRUE(read.ok()) << read.status();
    trained->table = *read;
    auto model = Model::FromConfig(Config());
    ASSERT_TRUE(model.ok()) << model.status();
    TrainOptions options;
    options.data.dataset = path;
    options.output_directory = (trained->dir / "results").string();
    options.random_seed = 7;
    options.skip_save_processed_input = true;
    auto results = (*model)->Train(options);
    ASSERT_TRUE(results.ok()) << results.status();
    trained->model_dir = results->model_directory;
  }
  static void TearDownTestSuite() {
    fs::remove_all(trained->dir);
    delete trained;
    trained = nullptr;
  }

  void SetUp() override {
    ASSERT_FALSE(trained->model_dir.empty()) << "training failed";
    dir_ = trained->dir / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }

  // The CLI in-process: exit code; stdout and stderr into out_ and err_.
  int Run(std::vector<std::string> args) {
    args.insert(args.begin(), "export_triton");
    std::ostringstream out;
    std::ostringstream err;
    const int code = cli::RunCli(args, out, err);
    out_ = out.str();
    err_ = err.str();
    return code;
  }

  fs::path dir_;
  std::string out_;
  std::string err_;
};

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// config.pbtxt parsed as Triton parses it (TextFormat; unknown fields and bad enums fail).
inference::ModelConfig ParseConfig(const fs::path& path) {
  inference::ModelConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(ReadText(path), &config))
      << path << ":\n"
      << ReadText(path);
  return config;
}

inference::DataType DataTypeOf(const std::string& dtype) {
  static const std::map<std::string, inference::DataType> types = {
      {"float32", inference::TYPE_FP32},
      {"int64", inference::TYPE_INT64},
      {"bool", inference::TYPE_BOOL}};
  auto it = types.find(dtype);
  return it == types.end() ? inference::TYPE_INVALID : it->second;
}

inference::DataType DataTypeOf(c10::ScalarType type) {
  switch (type) {
    case torch::kFloat32: return inference::TYPE_FP32;
    case torch::kInt64: return inference::TYPE_INT64;
    case torch::kBool: return inference::TYPE_BOOL;
    default: return inference::TYPE_INVALID;
  }
}

// The shape a client sends or receives for `rows` rows (-1: any): [rows] + dims when the model
// batches, else dims with their -1 (the rows) filled in.
template <typename Io>
std::vector<int64_t> WireShape(const inference::ModelConfig& config, const Io& io, int64_t rows) {
  std::vector<int64_t> shape;
  if (config.max_batch_size() > 0) shape.push_back(rows);
  for (int64_t d : io.dims()) shape.push_back(d == -1 ? rows : d);
  return shape;
}

// The shape the model sees: as on the wire, with reshape in place of dims when there is one
// (Triton's reshape rule).
template <typename Io>
std::vector<int64_t> ModelShape(const inference::ModelConfig& config, const Io& io, int64_t rows) {
  if (!io.has_reshape()) return WireShape(config, io, rows);
  std::vector<int64_t> shape = {rows};
  shape.insert(shape.end(), io.reshape().shape().begin(), io.reshape().shape().end());
  return shape;
}

// Triton's PyTorch backend matches outputs by "<name>__<index>" when every output is so named,
// else by their order in the config (model_instance_state.cc GetNamingConvention).
bool FollowsNamedIndex(const std::string& name) {
  const size_t at = name.find("__");
  if (at == std::string::npos) return false;
  const std::string index = name.substr(at + 2);
  return !index.empty() && std::all_of(index.begin(), index.end(), ::isdigit);
}

c10::impl::GenericDict RawColumns(const json& config, const data::Table& table, int64_t rows) {
  c10::impl::GenericDict raw(
      c10::StringType::get(),
      c10::UnionType::create({c10::ListType::ofStrings(), c10::TensorType::get()}));
  for (const json& feature : config.at("input_features")) {
    const std::string name = feature.at("name");
    c10::List<std::string> cells;
    const auto& values = (**table.Get(feature.value("column", name))).values;
    for (int64_t row = 0; row < rows; ++row) cells.push_back(values[row]);
    raw.insert(name, cells);
  }
  return raw;
}

TEST_F(ExportTritonTest, WritesARepositoryWhoseConfigParsesWithTritonsSchema) {
  const fs::path repo = dir_ / "repo";
  // The real binary, as a user runs it.
  auto result =
      testing::RunCommand({TRISTAGE_CLI_BINARY, "export_triton", "-m", trained->model_dir, "-op",
                           repo.string(), "-mn", "churn", "-mv", "3", "--max_batch_size", "32"});
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->exit_code, cli::kExitOk) << result->err;
  EXPECT_TRUE(absl::StrContains(result->out, (repo / "churn" / "3").string())) << result->out;

  for (const char* file :
       {"model.pt", "manifest.json", "inference_preprocessor.pt", "inference_predictor_cpu.pt",
        "inference_postprocessor.pt", "model_hyperparameters.json", "training_set_metadata.json"}) {
    EXPECT_TRUE(fs::is_regular_file(repo / "churn" / "3" / file)) << file;
  }
  std::vector<std::string> entries;
  for (const auto& entry : fs::directory_iterator(repo / "churn")) {
    entries.push_back(entry.path().filename().string());
  }
  std::sort(entries.begin(), entries.end());
  EXPECT_EQ(entries, (std::vector<std::string>{"3", "config.pbtxt"})) << "no staging left behind";

  const inference::ModelConfig config = ParseConfig(repo / "churn" / "config.pbtxt");
  EXPECT_EQ(config.name(), "churn");
  EXPECT_EQ(config.platform(), "pytorch_libtorch");
  EXPECT_EQ(config.max_batch_size(), 32);
  EXPECT_TRUE(config.has_dynamic_batching());
  ASSERT_EQ(config.instance_group_size(), 1);
  EXPECT_EQ(config.instance_group(0).kind(), inference::ModelInstanceGroup::KIND_CPU);
  EXPECT_EQ(config.instance_group(0).count(), 1);

  auto manifest_json = json::parse(ReadText(repo / "churn" / "3" / "manifest.json"));
  auto manifest = ManifestFromJson(manifest_json);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  ASSERT_EQ(config.input_size(), static_cast<int>(manifest->inputs.size()));
  for (size_t i = 0; i < manifest->inputs.size(); ++i) {
    const InputSpec& spec = manifest->inputs[i];
    const inference::ModelInput& input = config.input(static_cast<int>(i));
    SCOPED_TRACE(spec.name);
    EXPECT_EQ(input.name(), spec.name);
    EXPECT_EQ(input.data_type(), DataTypeOf(spec.dtype));
    ASSERT_FALSE(spec.shape.empty());
    EXPECT_EQ(spec.shape[0], -1);
    const std::vector<int64_t> rest(spec.shape.begin() + 1, spec.shape.end());
    EXPECT_EQ(ModelShape(config, input, -1), spec.shape);
    EXPECT_GT(input.dims_size(), 0) << "Triton refuses empty dims";
    for (int64_t d : input.dims()) EXPECT_GE(d, 1);
    // A [batch] tensor is one element per row on the wire: dims [1] reshaped to [].
    EXPECT_EQ(input.has_reshape(), rest.empty());
  }
  // Outputs: "<feature>::<what>" for every output feature, in the model's tuple order.
  std::map<std::string, int> per_feature;
  for (const inference::ModelOutput& output : config.output()) {
    SCOPED_TRACE(output.name());
    const size_t sep = output.name().find("::");
    ASSERT_NE(sep, std::string::npos);
    ++per_feature[output.name().substr(0, sep)];
    EXPECT_NE(output.data_type(), inference::TYPE_INVALID);
    EXPECT_GT(output.dims_size(), 0);
    EXPECT_FALSE(FollowsNamedIndex(output.name()));
  }
  for (const OutputSpec& spec : manifest->outputs) {
    EXPECT_GE(per_feature[spec.name], 2) << spec.name << ": logits and predictions at least";
  }
  EXPECT_EQ(per_feature.size(), manifest->outputs.size());

  // The schema is strict: a field Triton does not know fails to parse.
  inference::ModelConfig strict;
  EXPECT_FALSE(google::protobuf::TextFormat::ParseFromString(
      ReadText(repo / "churn" / "config.pbtxt") + "max_batch_sizes: 2\n", &strict));
}

TEST_F(ExportTritonTest, ModelPtHasTheSignatureTritonsPyTorchBackendCalls) {
  const fs::path repo = dir_ / "repo";
  ASSERT_EQ(Run({"-m", trained->model_dir, "-op", repo.string()}), cli::kExitOk) << err_;
  const inference::ModelConfig config = ParseConfig(repo / "ludwig_model" / "config.pbtxt");
  EXPECT_EQ(config.name(), "ludwig_model");  // Ludwig's default name and version
  torch::jit::Module module = torch::jit::load((repo / "ludwig_model" / "1" / "model.pt").string());
  const c10::FunctionSchema& schema = module.get_method("forward").function().getSchema();
  // One argument after self, a Dict(str, Tensor): the backend passes the inputs by config name.
  ASSERT_EQ(schema.arguments().size(), 2u);
  EXPECT_EQ(schema.arguments()[0].type()->kind(), c10::TypeKind::ClassType);
  auto dict = schema.arguments()[1].type()->cast<c10::DictType>();
  ASSERT_NE(dict, nullptr) << schema;
  EXPECT_EQ(dict->getKeyType()->kind(), c10::TypeKind::StringType);
  EXPECT_EQ(dict->getValueType()->kind(), c10::TypeKind::TensorType);
  // A tuple of tensors (the backend refuses a dict result), one per config output.
  ASSERT_EQ(schema.returns().size(), 1u);
  auto tuple = schema.returns()[0].type()->cast<c10::TupleType>();
  ASSERT_NE(tuple, nullptr) << schema;
  ASSERT_EQ(static_cast<int>(tuple->elements().size()), config.output_size());
  for (const auto& element : tuple->elements()) {
    EXPECT_EQ(element->kind(), c10::TypeKind::TensorType);
  }
}

// The first `rows` rows of the training table through the preprocessor of the tristage export
// in `version` (what a front does), and the export's own predictor's outputs for them.
struct Preprocessed {
  TensorDict inputs;
  TensorDict expected;
};

Preprocessed PreprocessRows(const fs::path& version, int64_t rows) {
  Preprocessed out;
  auto stages = LoadStages(version.string());
  EXPECT_TRUE(stages.ok()) << stages.status();
  if (!stages.ok()) return out;
  auto inputs = stages->PreprocessorForward(RawColumns(stages->config, trained->table, rows));
  EXPECT_TRUE(inputs.ok()) << inputs.status();
  if (!inputs.ok()) return out;
  auto expected = stages->PredictorForward(*inputs);
  EXPECT_TRUE(expected.ok()) << expected.status();
  if (!expected.ok()) return out;
  out.inputs = *inputs;
  out.expected = *expected;
  return out;
}

// Runs <version>/model.pt as Triton would for `rows` preprocessed rows: the client sends each
// config input's wire shape, Triton reshapes it to the model's shape and passes the dict; the
// tuple's tensors must be the config outputs' types and shapes, and equal the predictor's.
void ExpectModelPtGivesThePredictorsTensors(const fs::path& repo, const std::string& name) {
  const fs::path version = repo / name / "1";
  const inference::ModelConfig config = ParseConfig(repo / name / "config.pbtxt");
  constexpr int64_t kRows = 37;
  const Preprocessed rows = PreprocessRows(version, kRows);
  ASSERT_EQ(static_cast<size_t>(config.input_size()), rows.inputs.size());
  TensorDict inputs;
  for (const inference::ModelInput& input : config.input()) {
    SCOPED_TRACE(input.name());
    ASSERT_TRUE(rows.inputs.contains(input.name()));
    const torch::Tensor tensor = rows.inputs.at(input.name());
    EXPECT_EQ(DataTypeOf(tensor.scalar_type()), input.data_type());
    ASSERT_EQ(tensor.sizes().vec(), ModelShape(config, input, kRows));
    const torch::Tensor wire = tensor.reshape(WireShape(config, input, kRows));
    inputs.insert(input.name(), wire.reshape(ModelShape(config, input, kRows)));
  }
  torch::jit::Module model = torch::jit::load((version / "model.pt").string());
  model.eval();
  c10::InferenceMode guard;
  const c10::IValue result = model.forward({inputs});
  const auto& elements = result.toTupleRef().elements();
  ASSERT_EQ(static_cast<int>(elements.size()), config.output_size());
  ASSERT_EQ(rows.expected.size(), elements.size());
  for (int i = 0; i < config.output_size(); ++i) {
    const inference::ModelOutput& output = config.output(i);
    SCOPED_TRACE(output.name());
    const torch::Tensor got = elements[i].toTensor();
    // The backend checks the data type; Triton reshapes the model's shape to the wire shape.
    EXPECT_EQ(DataTypeOf(got.scalar_type()), output.data_type());
    ASSERT_EQ(got.sizes().vec(), ModelShape(config, output, kRows));
    EXPECT_EQ(got.reshape(WireShape(config, output, kRows)).numel(), got.numel());
    ASSERT_TRUE(rows.expected.contains(output.name()));
    EXPECT_TRUE(torch::equal(got, rows.expected.at(output.name())));
  }
}

TEST_F(ExportTritonTest, ModelPtGivesThePredictorsTensorsForPreprocessedRows) {
  const fs::path repo = dir_ / "repo";
  ASSERT_EQ(Run({"-m", trained->model_dir, "-op", repo.string(), "-mn", "m"}), cli::kExitOk)
      << err_;
  ExpectModelPtGivesThePredictorsTensors(repo, "m");
}

TEST_F(ExportTritonTest, WithoutBatchingTheWireShapesAreThePredictorsOwn) {
  const fs::path repo = dir_ / "repo";
  ASSERT_EQ(
      Run({"-m", trained->model_dir, "-op", repo.string(), "-mn", "flat", "--max_batch_size", "0"}),
      cli::kExitOk)
      << err_;
  const inference::ModelConfig config = ParseConfig(repo / "flat" / "config.pbtxt");
  EXPECT_EQ(config.max_batch_size(), 0);
  EXPECT_FALSE(config.has_dynamic_batching()) << "Triton batches nothing here";
  auto manifest = ManifestFromJson(json::parse(ReadText(repo / "flat" / "1" / "manifest.json")));
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  ASSERT_EQ(config.input_size(), static_cast<int>(manifest->inputs.size()));
  for (size_t i = 0; i < manifest->inputs.size(); ++i) {
    const inference::ModelInput& input = config.input(static_cast<int>(i));
    EXPECT_EQ(std::vector<int64_t>(input.dims().begin(), input.dims().end()),
              manifest->inputs[i].shape)
        << input.name();
    EXPECT_FALSE(input.has_reshape()) << input.name();
  }
  for (const inference::ModelOutput& output : config.output()) {
    ASSERT_GT(output.dims_size(), 0);
    EXPECT_EQ(output.dims(0), -1) << output.name();
    EXPECT_FALSE(output.has_reshape()) << output.name();
  }
  ExpectModelPtGivesThePredictorsTensors(repo, "flat");
}

TEST_F(ExportTritonTest, CudaAsksTritonForGpuInstancesWithoutNeedingAGpuHere) {
  const fs::path repo = dir_ / "repo";
  ASSERT_EQ(Run({"-m", trained->model_dir, "-op", repo.string(), "--device", "cuda",
                 "--max_queue_delay_microseconds", "500"}),
            cli::kExitOk)
      << err_;
  const inference::ModelConfig config = ParseConfig(repo / "ludwig_model" / "config.pbtxt");
  ASSERT_EQ(config.instance_group_size(), 1);
  EXPECT_EQ(config.instance_group(0).kind(), inference::ModelInstanceGroup::KIND_GPU);
  EXPECT_EQ(config.dynamic_batching().max_queue_delay_microseconds(), 500u);
  EXPECT_TRUE(fs::exists(repo / "ludwig_model" / "1" / "model.pt"));
}

TEST_F(ExportTritonTest, ANewVersionKeepsTheModelsConfigAndADifferentOneIsRefused) {
  const std::string repo = (dir_ / "repo").string();
  ASSERT_EQ(Run({"-m", trained->model_dir, "-op", repo}), cli::kExitOk) << err_;
  const std::string config = ReadText(dir_ / "repo" / "ludwig_model" / "config.pbtxt");
  ASSERT_EQ(Run({"-m", trained->model_dir, "-op", repo, "-mv", "2"}), cli::kExitOk) << err_;
  EXPECT_EQ(ReadText(dir_ / "repo" / "ludwig_model" / "config.pbtxt"), config);
  EXPECT_TRUE(fs::exists(dir_ / "repo" / "ludwig_model" / "2" / "model.pt"));
  // Triton applies one config.pbtxt to every version: another batch size would change version 1.
  EXPECT_EQ(Run({"-m", trained->model_dir, "-op", repo, "-mv", "3", "--max_batch_size", "8"}),
            cli::kExitFailure);
  EXPECT_TRUE(absl::StrContains(err_, "config.pbtxt' describes other inputs")) << err_;
  EXPECT_FALSE(fs::exists(dir_ / "repo" / "ludwig_model" / "3"));
  EXPECT_EQ(ReadText(dir_ / "repo" / "ludwig_model" / "config.pbtxt"), config);
}

TEST_F(ExportTritonTest, RefusesAVersionDirectoryThatIsNotEmpty) {
  const fs::path version = dir_ / "repo" / "ludwig_model" / "1";
  fs::create_directories(version);
  std::ofstream(version / "model.pt") << "someone else's";
  EXPECT_EQ(Run({"-m", trained->model_dir, "-op", (dir_ / "repo").string()}), cli::kExitFailure);
  EXPECT_TRUE(absl::StrContains(err_, "exists and is not empty: choose another --model_version"))
      << err_;
  EXPECT_EQ(ReadText(version / "model.pt"), "someone else's");
  // An empty one is taken.
  fs::remove(version / "model.pt");
  EXPECT_EQ(Run({"-m", trained->model_dir, "-op", (dir_ / "repo").string()}), cli::kExitOk) << err_;
}

TEST_F(ExportTritonTest, RefusesADirectoryThatIsNotATrainedModel) {
  fs::create_directories(dir_ / "empty");
  EXPECT_EQ(Run({"-m", (dir_ / "empty").string(), "-op", (dir_ / "repo").string()}),
            cli::kExitFailure);
  EXPECT_TRUE(absl::StrContains(err_, "is not a trained model directory")) << err_;
  EXPECT_TRUE(absl::StrContains(err_, "model_hyperparameters.json")) << err_;
  EXPECT_EQ(Run({"-m", (dir_ / "missing").string(), "-op", (dir_ / "repo").string()}),
            cli::kExitFailure);
  EXPECT_TRUE(absl::StrContains(err_, "is not a trained model directory")) << err_;
  EXPECT_FALSE(fs::exists(dir_ / "repo" / "ludwig_model" / "1"));
}

TEST_F(ExportTritonTest, RefusesBadNamesAndNumbersAsUsageErrors) {
  const std::string repo = (dir_ / "repo").string();
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"-mn", "../escape"}, "--model_name"},
      {{"-mn", std::string("a\0b", 3)}, "--model_name"},
      {{"-mn", ".hidden"}, "--model_name"},
      {{"-mn", "a/b"}, "--model_name"},
      {{"-mv", "0"}, "--model_version"},
      {{"-mv", "-3"}, "--model_version"},
      {{"-mv", "1.5"}, "--model_version"},
      {{"-mv", "two"}, "--model_version"},
      {{"--max_batch_size", "-1"}, "--max_batch_size"},
      {{"--max_batch_size", "99999999999"}, "--max_batch_size"},
      {{"--max_queue_delay_microseconds", "-1"}, "--max_queue_delay_microseconds"},
      {{"--device", "tpu"}, "choose from cpu, cuda"},
  };
  for (const auto& [flags, wanted] : cases) {
    std::vector<std::string> args = {"-m", trained->model_dir, "-op", repo};
    args.insert(args.end(), flags.begin(), flags.end());
    EXPECT_EQ(Run(args), cli::kExitUsage) << flags[1];
    EXPECT_TRUE(absl::StrContains(err_, wanted)) << flags[1] << ": " << err_;
  }
  EXPECT_EQ(Run({"-m", trained->model_dir}), cli::kExitUsage);
  EXPECT_TRUE(absl::StrContains(err_, "--output_path")) << err_;
  EXPECT_EQ(Run({"-op", repo}), cli::kExitUsage);
  EXPECT_TRUE(absl::StrContains(err_, "--model_path")) << err_;
  EXPECT_FALSE(fs::exists(repo)) << "nothing written";
}

TEST_F(ExportTritonTest, RefusesAnOutputPathItCannotWriteInto) {
  std::ofstream(dir_ / "file") << "x";
  EXPECT_EQ(Run({"-m", trained->model_dir, "-op", (dir_ / "file").string()}), cli::kExitFailure);
  EXPECT_TRUE(absl::StrContains(err_, "exists and is not a directory")) << err_;
  EXPECT_EQ(Run({"-m", trained->model_dir, "-op", (dir_ / "file" / "repo").string()}),
            cli::kExitFailure);
  EXPECT_TRUE(absl::StrContains(err_, "is not a directory")) << err_;
  if (::geteuid() != 0) {  // root writes through permission bits
    fs::create_directories(dir_ / "locked");
    ::chmod((dir_ / "locked").c_str(), 0555);
    EXPECT_EQ(Run({"-m", trained->model_dir, "-op", (dir_ / "locked" / "repo").string()}),
              cli::kExitFailure);
    EXPECT_TRUE(absl::StrContains(err_, "cannot write into")) << err_;
    ::chmod((dir_ / "locked").c_str(), 0755);
  }
}

// A tensor read back from KServe raw contents.
torch::Tensor FromRaw(const std::string& raw, c10::ScalarType type,
                      const std::vector<int64_t>& shape) {
  torch::Tensor tensor = torch::empty(shape, torch::TensorOptions().dtype(type));
  EXPECT_EQ(raw.size(), static_cast<size_t>(tensor.numel() * tensor.element_size()));
  if (raw.size() == static_cast<size_t>(tensor.numel() * tensor.element_size())) {
    std::memcpy(tensor.data_ptr(), raw.data(), raw.size());
  }
  return tensor;
}

std::string KServeDatatype(inference::DataType type) {
  return std::string(absl::StripPrefix(inference::DataType_Name(type), "TYPE_"));
}

// The issue's check that names and shapes line up: the written version directory's predictor,
// served by tristage-server as a KServe tensor model (its manifest marked model_only beside the
// same predictor file, as `export_torchscript --model_only` writes), has config.pbtxt's input
// names, datatypes and model shapes, and answers config.pbtxt's outputs with model.pt's tensors.
// Without batching (--max_batch_size 0) the Triton wire shapes are those same shapes.
TEST_F(ExportTritonTest, TristageServerServesTheWrittenPredictorUnderTheSameNamesAndShapes) {
  const fs::path repo = dir_ / "repo";
  ASSERT_EQ(Run({"-m", trained->model_dir, "-op", repo.string(), "-mn", "m"}), cli::kExitOk)
      << err_;
  ASSERT_EQ(
      Run({"-m", trained->model_dir, "-op", repo.string(), "-mn", "flat", "--max_batch_size", "0"}),
      cli::kExitOk)
      << err_;
  const inference::ModelConfig config = ParseConfig(repo / "m" / "config.pbtxt");
  const inference::ModelConfig flat = ParseConfig(repo / "flat" / "config.pbtxt");
  ASSERT_EQ(flat.input_size(), config.input_size());
  ASSERT_EQ(flat.output_size(), config.output_size());

  const fs::path served = dir_ / "served" / "m" / "1";
  fs::create_directories(served);
  json manifest = json::parse(ReadText(repo / "m" / "1" / "manifest.json"));
  manifest["model_only"] = true;
  manifest["files"].erase("preprocessor");
  manifest["files"].erase("postprocessor");
  std::ofstream(served / "manifest.json") << manifest.dump(2);
  fs::copy_file(repo / "m" / "1" / "inference_predictor_cpu.pt",
                served / "inference_predictor_cpu.pt");
  auto daemon = testing::Daemon::Start(
      TRISTAGE_SERVER_BINARY,
      {"--model-repository", (dir_ / "served").string(), "--log-level", "warning"});
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  auto stub = inference::GRPCInferenceService::NewStub(
      grpc::CreateChannel((*daemon)->grpc_address(), grpc::InsecureChannelCredentials()));

  inference::ModelMetadataRequest metadata_request;
  metadata_request.set_name("m");
  inference::ModelMetadataResponse metadata;
  {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    const grpc::Status status = stub->ModelMetadata(&context, metadata_request, &metadata);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  ASSERT_EQ(metadata.inputs_size(), config.input_size());
  for (int i = 0; i < config.input_size(); ++i) {
    const auto& served_input = metadata.inputs(i);
    SCOPED_TRACE(served_input.name());
    EXPECT_EQ(served_input.name(), config.input(i).name());
    EXPECT_EQ(served_input.datatype(), KServeDatatype(config.input(i).data_type()));
    const std::vector<int64_t> shape(served_input.shape().begin(), served_input.shape().end());
    EXPECT_EQ(shape, ModelShape(config, config.input(i), -1));
    EXPECT_EQ(flat.input(i).name(), served_input.name());
    EXPECT_EQ(shape, WireShape(flat, flat.input(i), -1));
  }

  constexpr int64_t kRows = 23;
  const Preprocessed rows = PreprocessRows(repo / "m" / "1", kRows);
  inference::ModelInferRequest request;
  request.set_model_name("m");
  for (const inference::ModelInput& input : config.input()) {
    ASSERT_TRUE(rows.inputs.contains(input.name())) << input.name();
    const torch::Tensor tensor = rows.inputs.at(input.name()).contiguous();
    auto* tensor_proto = request.add_inputs();
    tensor_proto->set_name(input.name());
    tensor_proto->set_datatype(KServeDatatype(input.data_type()));
    for (int64_t d : ModelShape(config, input, kRows)) tensor_proto->add_shape(d);
    request.add_raw_input_contents(std::string(static_cast<const char*>(tensor.data_ptr()),
                                               tensor.numel() * tensor.element_size()));
  }
  inference::ModelInferResponse response;
  {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    const grpc::Status status = stub->ModelInfer(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  ASSERT_EQ(response.raw_output_contents_size(), response.outputs_size());

  torch::jit::Module model = torch::jit::load((repo / "m" / "1" / "model.pt").string());
  model.eval();
  c10::InferenceMode guard;
  const c10::IValue result = model.forward({rows.inputs});
  const auto& elements = result.toTupleRef().elements();
  ASSERT_EQ(static_cast<int>(elements.size()), config.output_size());
  std::map<std::string, int> answered;
  for (int i = 0; i < response.outputs_size(); ++i) answered[response.outputs(i).name()] = i;
  EXPECT_EQ(answered.size(), static_cast<size_t>(config.output_size()));
  for (int i = 0; i < config.output_size(); ++i) {
    const inference::ModelOutput& output = config.output(i);
    SCOPED_TRACE(output.name());
    ASSERT_EQ(answered.count(output.name()), 1u);
    const auto& served_output = response.outputs(answered[output.name()]);
    EXPECT_EQ(served_output.datatype(), KServeDatatype(output.data_type()));
    const std::vector<int64_t> shape(served_output.shape().begin(), served_output.shape().end());
    EXPECT_EQ(shape, ModelShape(config, output, kRows));
    EXPECT_EQ(flat.output(i).name(), output.name());
    EXPECT_EQ(shape, WireShape(flat, flat.output(i), kRows));
    const torch::Tensor want = elements[i].toTensor();
    const torch::Tensor got =
        FromRaw(response.raw_output_contents(answered[output.name()]), want.scalar_type(), shape);
    ASSERT_EQ(got.sizes(), want.sizes());
    if (want.is_floating_point()) {
      EXPECT_TRUE(torch::allclose(got, want, 1e-5, 1e-6));
    } else {
      EXPECT_TRUE(torch::equal(got, want));
    }
  }
  (*daemon)->process().Signal(SIGTERM);
  EXPECT_EQ((*daemon)->process().Wait(absl::Seconds(30)).value_or(-1), 0);
}

}  // namespace
}  // namespace tristage::exporting
