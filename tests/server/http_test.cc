// End-to-end tests of the HTTP/REST binding (server/http) on a real `tristage-server` process on
// free ports: REST answers equal to gRPC's from curl and Python's urllib (JSON tensors, binary
// tensors, records) for a small model and a model with every input type; readiness through loads,
// unloads and SIGTERM; hostile HTTP input; slow clients; TLS; deadlines; metrics.
//
// Registered as one ctest (all cases in one process): the two models are trained once.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/api/model.h"
#include "core/api/synthesize.h"
#include "core/config/config.h"
#include "core/data/io.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "inference/grpc_service.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "tests/testing/daemon.h"
#include "tests/testing/http_get.h"
#include "tests/testing/scratch_dir.h"
#include "tests/testing/subprocess.h"

namespace tristage {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

struct Trained {
  std::string export_dir;
  data::Table table;     // the dataset as read back (strings)
  data::Table expected;  // Model::Predict on `table`
  std::vector<std::string> inputs;
};

class Environment {
 public:
  static Environment& Get() {
    static Environment* env = new Environment();
    return *env;
  }
  fs::path dir;
  Trained small;
  Trained every;
  Trained churn;  // the bundled example (examples/churn), one epoch

 private:
  Environment() {
    dir = testing::ProcessScratchDir("tristage_http_test");
    small = Train("small", json::parse(R"({
      "input_features": [{"name": "x", "type": "number"}, {"name": "c", "type": "category"},
                         {"name": "t", "type": "text"}],
      "output_features": [{"name": "y", "type": "binary"}, {"name": "k", "type": "category"}],
      "trainer": {"epochs": 1, "batch_size": 32}})"),
                  300);
    auto churn_config =
        config::LoadConfigFile(std::string(TRISTAGE_SOURCE_DIR) + "/examples/churn/config.yaml");
    EXPECT_TRUE(churn_config.ok()) << churn_config.status();
    (*churn_config)["trainer"]["epochs"] = 1;
    churn = Train("churn", *churn_config, 0,
                  std::string(TRISTAGE_SOURCE_DIR) + "/examples/churn/data.csv");
    every = Train("every", json::parse(R"({
      "input_features": [
        {"name": "n", "type": "number"}, {"name": "b", "type": "binary"},
        {"name": "c", "type": "category"}, {"name": "s", "type": "set"},
        {"name": "g", "type": "bag"}, {"name": "v", "type": "vector"},
        {"name": "d", "type": "date"},
        {"name": "t", "type": "text", "encoder": {"type": "parallel_cnn", "num_filters": 8,
                                                  "embedding_size": 8, "output_size": 8}},
        {"name": "q", "type": "sequence", "encoder": {"type": "rnn", "cell_type": "gru",
                                                      "state_size": 8, "embedding_size": 8}}],
      "output_features": [
        {"name": "yb", "type": "binary"}, {"name": "yn", "type": "number"},
        {"name": "yc", "type": "category"}, {"name": "ys", "type": "set"},
        {"name": "yv", "type": "vector"}],
      "trainer": {"epochs": 1, "batch_size": 64}})"),
                  300);
  }

  // Trains on `dataset` (copied), or on `rows` synthesized rows when it is empty.
  Trained Train(const std::string& name, const json& config, int64_t rows,
                const std::string& dataset = "") {
    Trained trained;
    const std::string data = (dir / (name + ".csv")).string();
    if (dataset.empty()) {
      SynthesizeOptions synth;
      synth.rows = rows;
      synth.seed = 7;
      synth.missing_rate = 0.05;
      auto table = SynthesizeDataset(config, synth);
      EXPECT_TRUE(table.ok()) << table.status();
      EXPECT_TRUE(data::WriteTable(*table, data).ok());
    } else {
      fs::copy_file(dataset, data, fs::copy_options::overwrite_existing);
    }
    trained.table = *ReadDataset(data);
    auto model = Model::FromConfig(config);
    EXPECT_TRUE(model.ok()) << model.status();
    TrainOptions options;
    options.data.dataset = data;
    options.output_directory = (dir / (name + "_results")).string();
    options.skip_save_processed_input = true;
    EXPECT_TRUE((*model)->Train(options).ok());
    trained.expected = *(*model)->Predict(trained.table);
    trained.export_dir = (dir / (name + "_export")).string();
    EXPECT_TRUE((*model)->SaveTorchscript(trained.export_dir).ok());
    for (const json& feature : config["input_features"]) trained.inputs.push_back(feature["name"]);
    return trained;
  }
};

// Model `name` version 1 in `repo`, a copy of `export_dir`.
void AddModel(const fs::path& repo, const std::string& name, const std::string& export_dir) {
  fs::create_directories(repo / name / "1");
  fs::copy(export_dir, repo / name / "1", fs::copy_options::recursive);
}

// A KServe v2 REST body for rows [begin, end): every input as BYTES (the CSV cells).
json JsonInferBody(const Trained& model, int64_t begin, int64_t end) {
  json inputs = json::array();
  for (const std::string& name : model.inputs) {
    const data::Column& column = **model.table.Get(name);
    inputs.push_back({{"name", name},
                      {"datatype", "BYTES"},
                      {"shape", {end - begin}},
                      {"data", std::vector<std::string>(column.values.begin() + begin,
                                                        column.values.begin() + end)}});
  }
  return {{"id", "req-7"}, {"inputs", inputs}};
}

// The same rows as Triton's binary tensor extension: {json, json length}.
std::pair<std::string, size_t> BinaryInferBody(const Trained& model, int64_t begin, int64_t end) {
  json inputs = json::array();
  std::string binary;
  for (const std::string& name : model.inputs) {
    const data::Column& column = **model.table.Get(name);
    std::string raw;
    for (int64_t row = begin; row < end; ++row) {
      const uint32_t length = static_cast<uint32_t>(column.values[row].size());
      raw.append(reinterpret_cast<const char*>(&length), 4);
      raw.append(column.values[row]);
    }
    inputs.push_back({{"name", name},
                      {"datatype", "BYTES"},
                      {"shape", {end - begin}},
                      {"parameters", {{"binary_data_size", raw.size()}}}});
    binary += raw;
  }
  const std::string header = json{{"id", "req-7"}, {"inputs", inputs}}.dump();
  return {header + binary, header.size()};
}

inference::ModelInferRequest GrpcInferRequest(const std::string& model_name, const Trained& model,
                                              int64_t begin, int64_t end) {
  inference::ModelInferRequest request;
  request.set_model_name(model_name);
  request.set_id("req-7");
  for (const std::string& name : model.inputs) {
    const data::Column& column = **model.table.Get(name);
    auto* tensor = request.add_inputs();
    tensor->set_name(name);
    tensor->set_datatype("BYTES");
    tensor->add_shape(end - begin);
    for (int64_t row = begin; row < end; ++row) {
      tensor->mutable_contents()->add_bytes_contents(column.values[row]);
    }
  }
  return request;
}

// name -> data, from a gRPC response's raw outputs (BYTES and FP32, as the daemon answers).
json GrpcOutputs(const inference::ModelInferResponse& response) {
  json outputs = json::object();
  for (int i = 0; i < response.outputs_size(); ++i) {
    const std::string& raw = response.raw_output_contents(i);
    json data = json::array();
    if (response.outputs(i).datatype() == "BYTES") {
      for (size_t at = 0; at + 4 <= raw.size();) {
        uint32_t length = 0;
        std::memcpy(&length, raw.data() + at, 4);
        data.push_back(raw.substr(at + 4, length));
        at += 4 + length;
      }
    } else {
      for (size_t at = 0; at + 4 <= raw.size(); at += 4) {
        float v = 0;
        std::memcpy(&v, raw.data() + at, 4);
        data.push_back(static_cast<double>(v));
      }
    }
    outputs[response.outputs(i).name()] = {
        {"datatype", response.outputs(i).datatype()},
        {"shape", std::vector<int64_t>(response.outputs(i).shape().begin(),
                                       response.outputs(i).shape().end())},
        {"data", data}};
  }
  return outputs;
}

// name -> data from a REST JSON answer; binary outputs decoded from the tail when there is one.
json RestOutputs(const std::string& body, size_t json_length = 0) {
  const json root = json::parse(json_length == 0 ? body : body.substr(0, json_length));
  std::string tail = json_length == 0 ? std::string() : body.substr(json_length);
  json outputs = json::object();
  size_t at = 0;
  for (const json& out : root.at("outputs")) {
    json data;
    if (out.contains("data")) {
      data = out["data"];
    } else {
      const size_t size = out["parameters"]["binary_data_size"];
      inference::ModelInferResponse one;
      auto* tensor = one.add_outputs();
      tensor->set_name(out["name"]);
      tensor->set_datatype(out["datatype"]);
      one.add_raw_output_contents(tail.substr(at, size));
      at += size;
      data = GrpcOutputs(one)[out["name"].get<std::string>()]["data"];
    }
    outputs[out["name"].get<std::string>()] = {
        {"datatype", out["datatype"]}, {"shape", out["shape"]}, {"data", data}};
  }
  EXPECT_EQ(at, tail.size()) << "binary bytes nobody claimed";
  return outputs;
}

// A TCP connection to 127.0.0.1:port, for raw HTTP bytes; -1 when it fails.
int ConnectLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::string WriteFile(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
  return path.string();
}

// {status, body} from a client's output: the body, a newline, the HTTP status.
std::pair<int, std::string> StatusAndBody(const absl::StatusOr<testing::CommandResult>& result) {
  EXPECT_TRUE(result.ok() && result->exit_code == 0)
      << (result.ok() ? result->err : result.status().ToString());
  if (!result.ok()) return {0, ""};
  const size_t cut = result->out.rfind('\n');
  int status = 0;
  EXPECT_TRUE(absl::SimpleAtoi(result->out.substr(cut + 1), &status)) << result->out;
  return {status, result->out.substr(0, cut)};
}

// POSTs `file` with curl; {status, body}.
std::pair<int, std::string> Curl(const std::string& url, const std::string& file,
                                 const std::vector<std::string>& headers = {}) {
  std::vector<std::string> argv = {"curl",
                                   "-sS",
                                   "-X",
                                   "POST",
                                   "--data-binary",
                                   "@" + file,
                                   "-w",
                                   "\n%{http_code}",
                                   "-H",
                                   "Content-Type: application/json"};
  for (const std::string& header : headers) {
    argv.push_back("-H");
    argv.push_back(header);
  }
  argv.push_back(url);
  return StatusAndBody(testing::RunCommand(argv));
}

// POSTs `file` with Python's urllib; {status, body}.
std::pair<int, std::string> Urllib(const std::string& url, const std::string& file,
                                   const std::string& header_length = "") {
  static constexpr char kScript[] = R"(
import sys, urllib.request, urllib.error
url, path, hlen = sys.argv[1], sys.argv[2], sys.argv[3]
headers = {"Content-Type": "application/json"}
if hlen:
    headers["Inference-Header-Content-Length"] = hlen
request = urllib.request.Request(url, data=open(path, "rb").read(), method="POST", headers=headers)
try:
    with urllib.request.urlopen(request, timeout=60) as r:
        status, body = r.status, r.read()
except urllib.error.HTTPError as e:
    status, body = e.code, e.read()
sys.stdout.buffer.write(body + b"\n" + str(status).encode())
)";
  return StatusAndBody(testing::RunCommand({"python3", "-c", kScript, url, file, header_length}));
}

// A records answer's cell against Model::Predict's.
void ExpectSameCell(const json& got, const std::string& want, const std::string& where) {
  auto near = [&](double a, const std::string& text) {
    double b = 0;
    ASSERT_TRUE(absl::SimpleAtod(text, &b)) << where << ": " << text;
    EXPECT_LE(std::abs(a - b), 1e-5 * std::max(1.0, std::abs(b))) << where;
  };
  if (got.is_number()) return near(got.get<double>(), want);
  if (got.is_null()) {
    EXPECT_EQ(want, "") << where;
    return;
  }
  if (got.is_array()) {
    std::vector<std::string> parts = absl::StrSplit(want, ' ', absl::SkipEmpty());
    ASSERT_EQ(got.size(), parts.size()) << where << ": " << got.dump() << " vs " << want;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (got[i].is_number()) {
        near(got[i].get<double>(), parts[i]);
      } else {
        EXPECT_EQ(got[i].get<std::string>(), parts[i]) << where;
      }
    }
    return;
  }
  EXPECT_EQ(got.get<std::string>(), want) << where;
}

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Environment::Get();
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    scratch_ = Environment::Get().dir / info->name();
    fs::remove_all(scratch_);
    fs::create_directories(scratch_ / "repo");
  }
  void TearDown() override {
    if (daemon_ != nullptr) {
      daemon_->process().Signal(SIGTERM);
      EXPECT_EQ(daemon_->process().Wait(absl::Seconds(30)).value_or(-1), 0)
          << daemon_->process().stderr_text();
    }
    std::error_code ignored;
    fs::remove_all(scratch_, ignored);
  }
  void Start(std::vector<std::string> flags = {}) {
    std::vector<std::string> all = {"--model-repository", (scratch_ / "repo").string(),
                                    "--log-level", "warning"};
    all.insert(all.end(), flags.begin(), flags.end());
    auto daemon = testing::Daemon::Start(TRISTAGE_SERVER_BINARY, all);
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = std::move(*daemon);
    ASSERT_GT(daemon_->http_port(), 0);
  }
  std::string Url(const std::string& path) const {
    return absl::StrCat("http://127.0.0.1:", daemon_->http_port(), path);
  }
  httplib::Client Http() const {
    httplib::Client client("127.0.0.1", daemon_->http_port());
    client.set_read_timeout(60, 0);
    return client;
  }
  inference::ModelInferResponse GrpcInfer(const inference::ModelInferRequest& request) {
    auto stub = inference::GRPCInferenceService::NewStub(
        grpc::CreateChannel(daemon_->grpc_address(), grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    inference::ModelInferResponse response;
    grpc::Status status = stub->ModelInfer(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }
  // The server still answers a good request (after hostile ones).
  void ExpectStillServing() {
    auto res =
        Http().Post("/v2/models/small/infer", JsonInferBody(Environment::Get().small, 0, 2).dump(),
                    "application/json");
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 200) << res->body;
  }

  fs::path scratch_;
  std::unique_ptr<testing::Daemon> daemon_;
};

// The acceptance: curl and urllib get the gRPC API's predictions, for JSON and binary tensors and
// records, for the bundled example, a small model and one with every input type; 200 rows (over
// max_batch_size 64)
// come back whole.
TEST_F(HttpTest, CurlAndUrllibGetTheGrpcPredictionsForJsonBinaryAndRecords) {
  const Environment& env = Environment::Get();
  AddModel(scratch_ / "repo", "small", env.small.export_dir);
  AddModel(scratch_ / "repo", "every", env.every.export_dir);
  AddModel(scratch_ / "repo", "churn", env.churn.export_dir);
  Start();
  for (const auto& [name, model] : std::vector<std::pair<std::string, const Trained*>>{
           {"churn", &env.churn}, {"small", &env.small}, {"every", &env.every}}) {
    SCOPED_TRACE(name);
    for (auto [begin, end] : std::vector<std::pair<int64_t, int64_t>>{{0, 1}, {5, 12}, {0, 200}}) {
      SCOPED_TRACE(absl::StrCat("rows ", begin, "..", end));
      const json expected = GrpcOutputs(GrpcInfer(GrpcInferRequest(name, *model, begin, end)));
      ASSERT_FALSE(expected.empty());
      const std::string url = Url("/v2/models/" + name + "/infer");

      const std::string json_file =
          WriteFile(scratch_ / "body.json", JsonInferBody(*model, begin, end).dump());
      auto [curl_status, curl_body] = Curl(url, json_file);
      ASSERT_EQ(curl_status, 200) << curl_body;
      EXPECT_EQ(RestOutputs(curl_body), expected);
      EXPECT_EQ(json::parse(curl_body)["id"], "req-7");
      EXPECT_EQ(json::parse(curl_body)["model_version"], "1");
      auto [py_status, py_body] = Urllib(url, json_file);
      ASSERT_EQ(py_status, 200) << py_body;
      EXPECT_EQ(RestOutputs(py_body), expected);

      auto [binary, length] = BinaryInferBody(*model, begin, end);
      const std::string bin_file = WriteFile(scratch_ / "body.bin", binary);
      auto [bin_status, bin_body] =
          Curl(url, bin_file, {absl::StrCat("Inference-Header-Content-Length: ", length)});
      ASSERT_EQ(bin_status, 200) << bin_body;
      EXPECT_EQ(RestOutputs(bin_body), expected);
      auto [pyb_status, pyb_body] = Urllib(url, bin_file, std::to_string(length));
      ASSERT_EQ(pyb_status, 200) << pyb_body;
      EXPECT_EQ(RestOutputs(pyb_body), expected);

      // Binary outputs: JSON header, then the tensors' bytes.
      json asking = JsonInferBody(*model, begin, end);
      asking["parameters"] = {{"binary_data_output", true}};
      auto res =
          Http().Post(("/v2/models/" + name + "/infer").c_str(), asking.dump(), "application/json");
      ASSERT_TRUE(res);
      ASSERT_EQ(res->status, 200) << res->body;
      size_t header_length = 0;
      ASSERT_TRUE(absl::SimpleAtoi(res->get_header_value("Inference-Header-Content-Length"),
                                   &header_length));
      EXPECT_EQ(RestOutputs(res->body, header_length), expected);

      // Records: the columns `tristage predict` writes, equal to the engine's.
      json instances = json::array();
      for (int64_t row = begin; row < end; ++row) {
        json record = json::object();
        for (const std::string& input : model->inputs) {
          record[input] = (*model->table.Get(input))->values[row];
        }
        instances.push_back(record);
      }
      const std::string records_file =
          WriteFile(scratch_ / "records.json", json{{"instances", instances}}.dump());
      const std::string records_url = Url("/v1/models/" + name + ":predict");
      auto [rec_status, rec_body] = Curl(records_url, records_file);
      ASSERT_EQ(rec_status, 200) << rec_body;
      auto [pyr_status, pyr_body] = Urllib(records_url, records_file);
      ASSERT_EQ(pyr_status, 200) << pyr_body;
      EXPECT_EQ(json::parse(rec_body), json::parse(pyr_body));
      const json predictions = json::parse(rec_body)["predictions"];
      ASSERT_EQ(predictions.size(), static_cast<size_t>(end - begin));
      for (const std::string& column : model->expected.column_names()) {
        const data::Column& want = **model->expected.Get(column);
        for (int64_t row = begin; row < end; ++row) {
          ASSERT_TRUE(predictions[row - begin].contains(column)) << column;
          ExpectSameCell(predictions[row - begin][column], want.values[row],
                         absl::StrCat(column, " row ", row));
        }
      }
      EXPECT_EQ(predictions[0].size(), model->expected.column_names().size());
    }
  }
  // Numbers as JSON numbers (FP32, FP64, INT64) answer like their text.
  json numeric = JsonInferBody(env.small, 0, 3);
  json numbers = json::array();
  for (int64_t row = 0; row < 3; ++row) {
    double x = 0;
    const std::string& cell = (*env.small.table.Get("x"))->values[row];
    numbers.push_back(absl::SimpleAtod(cell, &x) ? json(x) : json(0.0));
  }
  for (json& input : numeric["inputs"]) {
    if (input["name"] == "x")
      input = {{"name", "x"},
               {"datatype", "FP64"},
               {"shape", {3, 1}},
               {"data", {{numbers[0]}, {numbers[1]}, {numbers[2]}}}};
  }
  auto res = Http().Post("/v2/models/small/infer", numeric.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
}

// Readiness follows loads and unloads (the repository extension, behind the token) and SIGTERM.
TEST_F(HttpTest, HealthAndReadinessFollowLoadsUnloadsAndSigterm) {
  AddModel(scratch_ / "repo", "small", Environment::Get().small.export_dir);
  WriteFile(scratch_ / "token", "s3cret\n");
  Start({"--model-control-mode", "explicit", "--auth-token-file", (scratch_ / "token").string()});
  httplib::Client http = Http();
  EXPECT_EQ(http.Get("/v2/health/live")->status, 200);
  EXPECT_EQ(http.Get("/v2/health/ready")->status, 200);
  auto ready = http.Get("/v2/models/small/ready");
  EXPECT_EQ(ready->status, 400) << ready->body;  // in the repository, not loaded
  EXPECT_EQ(json::parse(ready->body)["ready"], false);
  EXPECT_EQ(http.Get("/v2/models/nope/ready")->status, 404);

  auto index = http.Post("/v2/repository/index", "", "application/json");
  EXPECT_EQ(index->status, 401) << index->body;
  EXPECT_TRUE(absl::StrContains(json::parse(index->body)["error"].get<std::string>(), "Bearer"));
  httplib::Headers wrong = {{"Authorization", "Bearer nope"}};
  EXPECT_EQ(http.Post("/v2/repository/models/small/load", wrong, "", "application/json")->status,
            401);
  httplib::Headers token = {{"Authorization", "Bearer s3cret"}};
  auto load = http.Post("/v2/repository/models/small/load", token, "", "application/json");
  EXPECT_EQ(load->status, 200) << load->body;
  EXPECT_EQ(http.Get("/v2/models/small/ready")->status, 200);
  EXPECT_EQ(http.Get("/v2/models/small/versions/1/ready")->status, 200);
  index = http.Post("/v2/repository/index", token, R"({"ready": true})", "application/json");
  ASSERT_EQ(index->status, 200) << index->body;
  EXPECT_EQ(json::parse(index->body),
            json::parse(R"([{"name":"small","version":"1","state":"READY","reason":""}])"));
  auto metadata = http.Get("/v2/models/small");
  ASSERT_EQ(metadata->status, 200);
  EXPECT_EQ(json::parse(metadata->body)["versions"], json::parse(R"(["1"])"));
  EXPECT_EQ(json::parse(metadata->body)["inputs"].size(), 3u);
  ExpectStillServing();
  auto stats = http.Get("/v2/models/small/stats");
  ASSERT_EQ(stats->status, 200) << stats->body;
  EXPECT_GE(json::parse(stats->body)["model_stats"][0]["inference_count"].get<int64_t>(), 2);

  auto unload = http.Post("/v2/repository/models/small/unload", token, "", "application/json");
  EXPECT_EQ(unload->status, 200) << unload->body;
  EXPECT_EQ(http.Get("/v2/models/small/ready")->status, 400);
  auto refused =
      http.Post("/v2/models/small/infer", JsonInferBody(Environment::Get().small, 0, 1).dump(),
                "application/json");
  EXPECT_EQ(refused->status, 404) << refused->body;  // not loaded
  // A name that is a path goes nowhere: no route matches (the path is decoded first) ...
  EXPECT_EQ(http.Post("/v2/repository/models/..%2Fetc/load", token, "", "application/json")->status,
            404);
  // ... and one the route matches is checked as a name.
  auto dots = http.Post("/v2/repository/models/../load", token, "", "application/json");
  EXPECT_GE(dots->status, 400);
  EXPECT_LT(dots->status, 500);

  // SIGTERM: the process exits 0 and the port closes.
  daemon_->process().Signal(SIGTERM);
  EXPECT_EQ(daemon_->process().Wait(absl::Seconds(30)).value_or(-1), 0);
  EXPECT_FALSE(Http().Get("/v2/health/live"));
  daemon_.reset();
}

// Hostile HTTP input: a clear 4xx naming what is wrong, and the server keeps serving.
TEST_F(HttpTest, BadHttpInputGetsAClear4xxAndTheServerKeepsServing) {
  AddModel(scratch_ / "repo", "small", Environment::Get().small.export_dir);
  Start({"--max-message-bytes", "65536"});
  httplib::Client http = Http();
  const std::string good = JsonInferBody(Environment::Get().small, 0, 2).dump();
  struct Case {
    std::string body;
    std::string header_length;  // "" for none
    int status;
    std::string error;  // a substring of the error
  };
  const std::string deep(60000, '[');
  const std::string claims50 =
      R"({"inputs": [{"name": "x", "datatype": "BYTES", "shape": [1],
                      "parameters": {"binary_data_size": 50}}]})";
  const std::string claims5 =
      R"({"inputs": [{"name": "x", "datatype": "BYTES", "shape": [2],
                      "parameters": {"binary_data_size": 5}}]})";
  const std::vector<Case> cases = {
      {"{\"inputs\": [", "", 400, "not valid JSON"},
      {"[]", "", 400, "must be a JSON object"},
      {deep, "", 400, "nests deeper"},
      {"{}", "", 400, "no \"inputs\""},
      {R"({"inputs": {}})", "", 400, "inputs: must be an array"},
      {R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": ["a"]}]})", "", 400,
       "FP32 needs a number"},
      {R"({"inputs": [{"name": "x", "datatype": "INT8", "shape": [1], "data": [300]}]})", "", 400,
       "out of INT8"},
      {R"({"inputs": [{"name": "x", "datatype": "BYTES", "shape": [3], "data": ["a"]}]})", "", 400,
       "data has 1 elements, shape [3] needs 3"},
      {R"({"inputs": [{"name": "x", "datatype": "FP16", "shape": [1], "data": [1]}]})", "", 400,
       "unsupported datatype"},
      {R"({"inputs": [{"name": "x", "datatype": "BYTES", "shape": [-1], "data": []}]})", "", 400,
       "dimensions must be whole numbers"},
      {R"({"inputs": [{"name": "x", "datatype": "BYTES", "shape": [4611686018427387904, 4],
           "data": []}]})",
       "", 400, "more elements than a request can hold"},
      {R"({"inputs": [{"name": "x", "datatype": "BYTES", "shape": [1], "data": [[["a"]]]}]})", "",
       400, "nested deeper than the shape"},
      {R"({"inputs": [{"name": "x", "datatype": "BYTES", "shape": [1], "data": ["a"]}],
           "parameters": {"timeout": -5}})",
       "", 400, "parameters.timeout"},
      {good, "abc", 400, "Inference-Header-Content-Length"},
      {good, "999999", 400, "more than the body's"},
      {good + "xyz", std::to_string(good.size()), 400, "not claimed"},
      {R"({"inputs": [{"name": "x", "datatype": "BYTES", "shape": [1],
           "parameters": {"binary_data_size": 50}}]})",
       "", 400, "no Inference-Header-Content-Length"},
      {claims50 + std::string("\x01\0\0\0z", 5), std::to_string(claims50.size()), 400,
       "binary_data_size 50 is more than the 5 bytes"},
      {claims5 + std::string("\x09\0\0\0z", 5), std::to_string(claims5.size()), 400,
       "truncated raw BYTES element"},
      {R"({"inputs": [{"name": "x", "datatype": "BYTES", "shape": [1], "data": ["a"]}]})", "", 400,
       "missing input feature"},
      {R"({"inputs": [{"name": "x", "datatype": "BYTES", "shape": [1], "data": ["\u0000"]},
           {"name": "x", "datatype": "BYTES", "shape": [1], "data": ["b"]}]})",
       "", 400, "given twice"},
      {std::string(70000, ' '), "", 413, "over 65536 bytes"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body.substr(0, 120));
    httplib::Headers headers;
    if (!c.header_length.empty())
      headers.emplace("Inference-Header-Content-Length", c.header_length);
    auto res = http.Post("/v2/models/small/infer", headers, c.body, "application/json");
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->status, c.status) << res->body;
    auto error = json::parse(res->body, nullptr, false);
    ASSERT_TRUE(error.is_object() && error.contains("error")) << res->body;
    EXPECT_TRUE(absl::StrContains(error["error"].get<std::string>(), c.error)) << res->body;
  }
  // Records.
  for (const auto& [body, error] : std::vector<std::pair<std::string, std::string>>{
           {"{}", "has no"},
           {R"({"instances": []})", "instances: is empty"},
           {R"({"instances": [1]})", "instances[0]: must be an object"},
           {R"({"instances": [{"x": {"a": 1}}]})", "instances[0].x"},
           {R"({"instances": [{"x": [[1]]}]})", "instances[0].x[0]"},
           {R"({"instances": [{"x": 1, "c": "a", "t": "b", "zz": 2}]})", "zz"}}) {
    auto res = http.Post("/v1/models/small:predict", body, "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << body << " -> " << res->body;
    EXPECT_TRUE(absl::StrContains(res->body, error)) << body << " -> " << res->body;
  }
  // Paths, methods, model names.
  EXPECT_EQ(http.Get("/nope")->status, 404);
  EXPECT_EQ(http.Get("/v2/models/small/infer")->status, 405);
  EXPECT_EQ(http.Get("/v2/models/small/infer")->get_header_value("Allow"), "POST");
  EXPECT_EQ(http.Delete("/v2")->status, 405);
  EXPECT_EQ(http.Post("/v2/models/nope/infer", good, "application/json")->status, 404);
  EXPECT_EQ(http.Post("/v2/models/small/versions/7/infer", good, "application/json")->status, 404);
  EXPECT_EQ(http.Post("/v2/models/small/versions/abc/infer", good, "application/json")->status,
            400);
  EXPECT_EQ(http.Post("/v2/models/sm%00all/infer", good, "application/json")->status, 400);
  EXPECT_EQ(http.Get("/v2/models/..%2F..%2Fetc")->status, 404);  // decoded: no route matches
  // Deadlines: a bad Timeout header is named; one already past is 504.
  auto bad_timeout =
      http.Post("/v2/models/small/infer", {{"Timeout", "soon"}}, good, "application/json");
  EXPECT_EQ(bad_timeout->status, 400);
  EXPECT_TRUE(absl::StrContains(bad_timeout->body, "Timeout header")) << bad_timeout->body;
  json past = json::parse(good);
  past["parameters"] = {{"timeout", 1}};
  auto late = http.Post("/v2/models/small/infer", past.dump(), "application/json");
  EXPECT_EQ(late->status, 504) << late->body;

  // A malformed request line and a header over the library's limit, on raw sockets.
  for (const std::string& raw :
       {std::string("GARBAGE\r\n\r\n"),
        "GET /v2 HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n"}) {
    const int fd = ConnectLoopback(daemon_->http_port());
    ASSERT_GE(fd, 0);
    (void)!write(fd, raw.data(), raw.size());
    char buffer[256] = {};
    const ssize_t n = read(fd, buffer, sizeof(buffer) - 1);
    close(fd);
    if (n > 0) {
      EXPECT_TRUE(absl::StartsWith(buffer, "HTTP/1.1 4")) << buffer;
    }
  }
  ExpectStillServing();
}

// Slow clients hold only their own connection: with every header sent a byte at a time, other
// clients are answered as usual.
TEST_F(HttpTest, SlowLorisConnectionsDoNotBlockOtherClients) {
  AddModel(scratch_ / "repo", "small", Environment::Get().small.export_dir);
  Start({"--http-threads", "4"});
  std::vector<int> slow;
  for (int i = 0; i < 2; ++i) {
    const int fd = ConnectLoopback(daemon_->http_port());
    ASSERT_GE(fd, 0);
    const std::string start = "POST /v2/models/small/infer HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    ASSERT_EQ(write(fd, start.data(), start.size()), static_cast<ssize_t>(start.size()));
    slow.push_back(fd);
  }
  // While the slow connections trickle, 20 requests from a fresh connection each are answered.
  for (int i = 0; i < 20; ++i) {
    for (int fd : slow) (void)!write(fd, "a", 1);
    httplib::Client http("127.0.0.1", daemon_->http_port());
    http.set_connection_timeout(10, 0);
    http.set_read_timeout(10, 0);
    auto res = http.Post("/v2/models/small/infer",
                         JsonInferBody(Environment::Get().small, 0, 1).dump(), "application/json");
    ASSERT_TRUE(res) << "request " << i << ": " << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 200);
  }
  for (int fd : slow) close(fd);
}

TEST_F(HttpTest, TlsAndMutualTlsWithTheGrpcCertificates) {
  AddModel(scratch_ / "repo", "small", Environment::Get().small.export_dir);
  const fs::path pki = scratch_ / "pki";
  fs::create_directories(pki);
  const std::string script =
      "cd " + pki.string() +
      " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 "
      "-subj /CN=test-ca >/dev/null 2>&1"
      " && openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
      "-subj /CN=localhost >/dev/null 2>&1"
      " && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1' > san.ext"
      " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
      "-out server.pem -days 1 -extfile san.ext >/dev/null 2>&1"
      " && openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr "
      "-subj /CN=client >/dev/null 2>&1"
      " && openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
      "-out client.pem -days 1 >/dev/null 2>&1";
  ASSERT_EQ(std::system(script.c_str()), 0);
  Start({"--tls-cert", (pki / "server.pem").string(), "--tls-key", (pki / "server.key").string(),
         "--tls-client-ca", (pki / "ca.pem").string()});
  const std::string url =
      absl::StrCat("https://127.0.0.1:", daemon_->http_port(), "/v2/health/ready");
  auto with_cert = testing::RunCommand({"curl", "-sS", "--cacert", (pki / "ca.pem").string(),
                                        "--cert", (pki / "client.pem").string(), "--key",
                                        (pki / "client.key").string(), url});
  ASSERT_TRUE(with_cert.ok());
  EXPECT_EQ(with_cert->exit_code, 0) << with_cert->err;
  EXPECT_EQ(with_cert->out, R"({"ready":true})");
  auto without_cert =
      testing::RunCommand({"curl", "-sS", "--cacert", (pki / "ca.pem").string(), url});
  ASSERT_TRUE(without_cert.ok());
  EXPECT_NE(without_cert->exit_code, 0) << without_cert->out;
  auto plaintext = testing::RunCommand(
      {"curl", "-sS", absl::StrCat("http://127.0.0.1:", daemon_->http_port(), "/v2/health/ready")});
  ASSERT_TRUE(plaintext.ok());
  EXPECT_FALSE(plaintext->exit_code == 0 && plaintext->out == R"({"ready":true})");
}

// REST requests count in the same serving metrics as gRPC's.
TEST_F(HttpTest, RestRequestsCountInTheServingMetrics) {
  AddModel(scratch_ / "repo", "small", Environment::Get().small.export_dir);
  Start();
  for (int i = 0; i < 3; ++i) ExpectStillServing();
  auto res =
      Http().Post("/v1/models/small:predict", R"({"instances": [{"x": "1"}]})", "application/json");
  EXPECT_EQ(res->status, 400);
  auto metrics = testing::HttpGet("127.0.0.1", daemon_->metrics_port(), "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_TRUE(absl::StrContains(
      metrics->body, "tristage_inference_request_success{model=\"small\",version=\"1\"} 3"))
      << metrics->body;
  EXPECT_TRUE(
      absl::StrContains(metrics->body, "tristage_inference_count{model=\"small\",version=\"1\"} 6"))
      << metrics->body;
}

}  // namespace
}  // namespace tristage
