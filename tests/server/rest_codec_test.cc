// Tests of the REST bodies' translation (server/http/rest_codec.h), without a server.
#include "server/http/rest_codec.h"

#include <cstring>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/rpc/decode.h"

namespace tristage::server::http {
namespace {

using nlohmann::json;

std::string Raw(const std::vector<std::string>& strings) {
  std::string raw;
  for (const std::string& s : strings) {
    const uint32_t length = static_cast<uint32_t>(s.size());
    raw.append(reinterpret_cast<const char*>(&length), 4);
    raw.append(s);
  }
  return raw;
}

TEST(RestCodecTest, JsonTensorsFlatOrNestedBecomeTheSameRawInputs) {
  auto flat = ParseInferRequest(R"({"id": "r", "inputs": [
      {"name": "s", "datatype": "BYTES", "shape": [2], "data": ["a", "bc"]},
      {"name": "v", "datatype": "FP32", "shape": [2, 2], "data": [1, 2.5, -3, 4]}]})",
                                std::nullopt);
  ASSERT_TRUE(flat.ok()) << flat.status();
  auto nested = ParseInferRequest(R"({"id": "r", "inputs": [
      {"name": "s", "datatype": "BYTES", "shape": [2, 1], "data": [["a"], ["bc"]]},
      {"name": "v", "datatype": "FP32", "shape": [2, 2], "data": [[1, 2.5], [-3, 4]]}]})",
                                  std::nullopt);
  ASSERT_TRUE(nested.ok()) << nested.status();
  EXPECT_EQ(flat->request.id(), "r");
  EXPECT_EQ(flat->request.raw_input_contents(0), Raw({"a", "bc"}));
  EXPECT_EQ(flat->request.raw_input_contents(1), nested->request.raw_input_contents(1));
  auto columns = InputsFromInferRequest(flat->request);
  ASSERT_TRUE(columns.ok()) << columns.status();
  EXPECT_EQ(columns->at("s").strings, (std::vector<std::string>{"a", "bc"}));
  EXPECT_EQ(columns->at("v").numbers, (std::vector<double>{1, 2.5, -3, 4}));
  EXPECT_EQ(columns->at("v").width, 2);
}

TEST(RestCodecTest, IntegerTypesAreRangeCheckedAndBoolsAreBooleans) {
  const std::vector<std::pair<std::string, bool>> cases = {
      {R"("INT8", "data": [-128, 127])", true},
      {R"("INT8", "data": [128, 0])", false},
      {R"("UINT8", "data": [255, 0])", true},
      {R"("UINT8", "data": [-1, 0])", false},
      {R"("INT64", "data": [-9223372036854775808, 9223372036854775807])", true},
      {R"("INT64", "data": [9223372036854775808, 0])", false},
      {R"("UINT64", "data": [18446744073709551615, 0])", true},
      {R"("INT32", "data": [1.5, 0])", false},
      {R"("BOOL", "data": [true, false])", true},
      {R"("BOOL", "data": [1, 0])", false},
      {R"("FP64", "data": [1e308, -0.0])", true},
      {R"("BYTES", "data": [1, 2])", false},
  };
  for (const auto& [tail, ok] : cases) {
    const std::string body =
        R"({"inputs": [{"name": "x", "shape": [2], "datatype": )" + tail + "}]}";
    auto parsed = ParseInferRequest(body, std::nullopt);
    EXPECT_EQ(parsed.ok(), ok) << body << " -> " << parsed.status();
    if (!ok) {
      EXPECT_TRUE(absl::StrContains(parsed.status().message(), "inputs[0] ('x').data[0]"))
          << parsed.status();
    }
  }
}

TEST(RestCodecTest, BinaryInputsComeFromTheBodysTailInOrderBesideJsonOnes) {
  const std::string a = Raw({"x", "yz"});
  std::string b(8, '\0');
  const float floats[2] = {1.5f, -2.0f};
  std::memcpy(b.data(), floats, 8);
  const std::string header =
      json{{"inputs",
            {{{"name", "a"},
              {"datatype", "BYTES"},
              {"shape", {2}},
              {"parameters", {{"binary_data_size", a.size()}}}},
             {{"name", "j"}, {"datatype", "BYTES"}, {"shape", {1}}, {"data", {"q"}}},
             {{"name", "b"},
              {"datatype", "FP32"},
              {"shape", {2}},
              {"parameters", {{"binary_data_size", 8}}}}}}}
          .dump();
  auto parsed = ParseInferRequest(header + a + b, std::to_string(header.size()));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->request.raw_input_contents(0), a);
  EXPECT_EQ(parsed->request.raw_input_contents(1), Raw({"q"}));
  EXPECT_EQ(parsed->request.raw_input_contents(2), b);
  // One byte too many or too few is refused, naming what is wrong.
  EXPECT_TRUE(absl::StrContains(
      ParseInferRequest(header + a + b + "!", std::to_string(header.size())).status().message(),
      "1 bytes of binary data after the JSON are not claimed"));
  EXPECT_TRUE(absl::StrContains(
      ParseInferRequest(header + a + b.substr(1), std::to_string(header.size())).status().message(),
      "binary_data_size 8 is more than the 7 bytes"));
  EXPECT_FALSE(ParseInferRequest(header + a + b, "-1").ok());
  EXPECT_FALSE(ParseInferRequest(header + a + b, "12abc").ok());
}

TEST(RestCodecTest, AnswersAreJsonOrJsonThenTheBinaryOutputs) {
  inference::ModelInferResponse response;
  response.set_model_name("m");
  response.set_model_version("3");
  response.set_id("r");
  auto* labels = response.add_outputs();
  labels->set_name("y::predictions");
  labels->set_datatype("BYTES");
  labels->add_shape(2);
  response.add_raw_output_contents(Raw({"yes", "no"}));
  auto* probability = response.add_outputs();
  probability->set_name("y::probability");
  probability->set_datatype("FP32");
  probability->add_shape(2);
  const float values[2] = {0.1f, 0.75f};
  response.add_raw_output_contents(std::string(reinterpret_cast<const char*>(values), 8));

  RestInferRequest request;
  RestAnswer answer = InferAnswer(response, request);
  EXPECT_FALSE(answer.json_length.has_value());
  const json body = json::parse(answer.body);
  EXPECT_EQ(body["model_version"], "3");
  EXPECT_EQ(body["outputs"][0]["data"], json::parse(R"(["yes", "no"])"));
  // FP32 values read back as the very same floats.
  EXPECT_EQ(static_cast<float>(body["outputs"][1]["data"][0].get<double>()), 0.1f);
  EXPECT_EQ(static_cast<float>(body["outputs"][1]["data"][1].get<double>()), 0.75f);

  request.binary_outputs.insert("y::probability");
  answer = InferAnswer(response, request);
  ASSERT_TRUE(answer.json_length.has_value());
  const json header = json::parse(answer.body.substr(0, *answer.json_length));
  EXPECT_EQ(header["outputs"][1]["parameters"]["binary_data_size"], 8);
  EXPECT_FALSE(header["outputs"][1].contains("data"));
  EXPECT_TRUE(header["outputs"][0].contains("data"));
  EXPECT_EQ(answer.body.substr(*answer.json_length), response.raw_output_contents(1));
}

TEST(RestCodecTest, RecordsBecomeColumnsOfTheTextThePreprocessorReads) {
  auto columns = ParseRecords(R"({"instances": [
      {"s": "a b", "n": 0.1, "i": 7, "b": true, "v": [1, 2.5, -3], "m": null},
      {"s": "c", "n": 1e-7}]})");
  ASSERT_TRUE(columns.ok()) << columns.status();
  EXPECT_EQ(columns->at("s").strings, (std::vector<std::string>{"a b", "c"}));
  EXPECT_EQ(columns->at("n").strings, (std::vector<std::string>{"0.1", "1e-07"}));
  EXPECT_EQ(columns->at("i").strings, (std::vector<std::string>{"7", ""}));  // missing
  EXPECT_EQ(columns->at("b").strings, (std::vector<std::string>{"true", ""}));
  EXPECT_EQ(columns->at("v").strings, (std::vector<std::string>{"1 2.5 -3", ""}));
  EXPECT_EQ(columns->at("m").strings, (std::vector<std::string>{"", ""}));
  for (const char* bad : {R"([])", R"({"instances": {}})", R"({"instances": [[1]]})",
                          R"({"instances": [{"x": {"y": 1}}]})"}) {
    EXPECT_FALSE(ParseRecords(bad).ok()) << bad;
  }
}

TEST(RestCodecTest, RecordsAnswerHasThePredictionColumnsWithNumbersAsNumbers) {
  exporting::OutputValues category;
  category.type = "category";
  category.labels = {"cat", "dog"};
  category.class_names = {"cat", "dog"};
  category.probabilities = {0.75f, 0.25f, 0.125f, 0.875f};
  category.probability = {0.75f, 0.875f};
  exporting::OutputValues number;
  number.type = "number";
  number.numbers = {1.5f, -2.0f};
  auto body = RecordsAnswer({{"pet", category}, {"age", number}}, "m", 2);
  ASSERT_TRUE(body.ok()) << body.status();
  const json answer = json::parse(*body);
  EXPECT_EQ(answer["model_version"], "2");
  ASSERT_EQ(answer["predictions"].size(), 2u);
  const json& second = answer["predictions"][1];
  EXPECT_EQ(second["pet_predictions"], "dog");
  EXPECT_EQ(second["pet_probabilities_dog"], 0.875);
  EXPECT_EQ(second["pet_probability"], 0.875);
  EXPECT_EQ(second["age_predictions"], -2.0);
}

TEST(RestCodecTest, HttpStatusFollowsTheGrpcCode) {
  EXPECT_EQ(HttpStatus(absl::StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatus(absl::StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatus(absl::StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatus(absl::StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatus(absl::StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatus(absl::StatusCode::kDeadlineExceeded), 504);
  EXPECT_EQ(HttpStatus(absl::StatusCode::kInternal), 500);
  const RestAnswer error = ErrorAnswer(absl::NotFoundError("unknown model 'x'"));
  EXPECT_EQ(error.status, 404);
  EXPECT_EQ(json::parse(error.body), json::parse(R"({"error": "unknown model 'x'"})"));
  EXPECT_FALSE(ParseTimeoutSeconds("Timeout", "0").ok());
  EXPECT_FALSE(ParseTimeoutSeconds("Timeout", "nan").ok());
  EXPECT_FALSE(ParseTimeoutSeconds("Timeout", "1e99").ok());
  EXPECT_EQ(ParseTimeoutSeconds("Timeout", "0.25").value(), absl::Milliseconds(250));
}

}  // namespace
}  // namespace tristage::server::http
