// InputsFromProto and InputsFromInferRequest (server/rpc/decode.h): requests to pipeline columns.
#include "server/rpc/decode.h"

#include <cstdint>
#include <cstring>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tristage::server {
namespace {

using inference::ModelInferRequest;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string RawBytesElement(const std::string& value) {
  const uint32_t length = static_cast<uint32_t>(value.size());
  std::string out(reinterpret_cast<const char*>(&length), sizeof(length));
  return out + value;
}

std::string RawFloats(std::initializer_list<float> values) {
  std::string out(values.size() * sizeof(float), '\0');
  std::memcpy(out.data(), values.begin(), out.size());
  return out;
}

TEST(InputsFromProtoTest, ColumnsOfEachKind) {
  tristage::v1::PredictRequest request;
  auto& inputs = *request.mutable_inputs();
  inputs["plan"].mutable_strings()->add_values("c_alpha");
  inputs["age"].mutable_int64s()->add_values(12);
  inputs["emb"].mutable_doubles()->add_values(1);
  inputs["emb"].mutable_doubles()->add_values(2);
  inputs["emb"].set_width(2);
  absl::StatusOr<exporting::InputColumns> columns = InputsFromProto(request);
  ASSERT_TRUE(columns.ok()) << columns.status();
  EXPECT_THAT(columns->at("plan").strings, ElementsAre("c_alpha"));
  EXPECT_THAT(columns->at("age").numbers, ElementsAre(12.0));
  EXPECT_EQ(columns->at("emb").width, 2);
  EXPECT_EQ(columns->at("emb").rows(), 1);
}

TEST(InputsFromProtoTest, ColumnWithoutValuesIsInvalidArgumentNamingIt) {
  tristage::v1::PredictRequest request;
  (*request.mutable_inputs())["plan"];
  absl::StatusOr<exporting::InputColumns> columns = InputsFromProto(request);
  EXPECT_EQ(columns.status(), absl::InvalidArgumentError("input 'plan' has no values"));
}

TEST(InputsFromInferRequestTest, RawTensorsDecode) {
  ModelInferRequest request;
  auto* plan = request.add_inputs();
  plan->set_name("plan");
  plan->set_datatype("BYTES");
  plan->add_shape(2);
  request.add_raw_input_contents(RawBytesElement("a") + RawBytesElement(""));
  auto* emb = request.add_inputs();
  emb->set_name("emb");
  emb->set_datatype("FP32");
  emb->add_shape(1);
  emb->add_shape(2);
  request.add_raw_input_contents(RawFloats({1.5f, -2}));
  absl::StatusOr<exporting::InputColumns> columns = InputsFromInferRequest(request);
  ASSERT_TRUE(columns.ok()) << columns.status();
  EXPECT_THAT(columns->at("plan").strings, ElementsAre("a", ""));
  EXPECT_THAT(columns->at("emb").numbers, ElementsAre(1.5, -2.0));
  EXPECT_EQ(columns->at("emb").width, 2);
}

// Issue 14: `contents` beside raw_input_contents was accepted and silently ignored. KServe and
// Triton refuse the request.
TEST(InputsFromInferRequestTest, ContentsWithRawInputContentsIsInvalidArgumentNamingTheTensor) {
  ModelInferRequest request;
  auto* age = request.add_inputs();
  age->set_name("age");
  age->set_datatype("FP32");
  age->add_shape(1);
  request.add_raw_input_contents(RawFloats({3}));
  auto* plan = request.add_inputs();
  plan->set_name("plan");
  plan->set_datatype("BYTES");
  plan->add_shape(1);
  plan->mutable_contents()->add_bytes_contents("ignored");
  request.add_raw_input_contents(RawBytesElement("c_alpha"));
  absl::StatusOr<exporting::InputColumns> columns = InputsFromInferRequest(request);
  EXPECT_EQ(columns.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(columns.status().message(),
            "input tensor 'plan': contents must not be set when the request has "
            "raw_input_contents");
  // Without the raw contents the same tensor is read from `contents`.
  request.clear_raw_input_contents();
  request.mutable_inputs(0)->mutable_contents()->add_fp32_contents(3);
  columns = InputsFromInferRequest(request);
  ASSERT_TRUE(columns.ok()) << columns.status();
  EXPECT_THAT(columns->at("plan").strings, ElementsAre("ignored"));
}

// Found by fuzz/decode_kserve_raw_fuzzer: the element count wrapped (signed overflow), so a
// [2^62] FP32 tensor matched 0 raw bytes and the decoder read far past them.
TEST(InputsFromInferRequestTest, ShapeWhoseElementCountOverflowsIsInvalidArgument) {
  ModelInferRequest request;
  auto* age = request.add_inputs();
  age->set_name("age");
  age->set_datatype("FP32");
  age->add_shape(int64_t{1} << 62);
  request.add_raw_input_contents("");
  absl::StatusOr<exporting::InputColumns> columns = InputsFromInferRequest(request);
  EXPECT_EQ(columns.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(columns.status().message(), HasSubstr("input tensor 'age': 0 raw bytes"));

  age->set_shape(0, int64_t{1} << 32);
  age->add_shape(int64_t{1} << 32);
  columns = InputsFromInferRequest(request);
  EXPECT_EQ(columns.status(),
            absl::InvalidArgumentError(
                "input tensor 'age': shape has more elements than a request can hold"));
}

TEST(InputsFromInferRequestTest, MoreRawBytesElementsThanTheShapeStopAtTheShape) {
  ModelInferRequest request;
  auto* plan = request.add_inputs();
  plan->set_name("plan");
  plan->set_datatype("BYTES");
  plan->add_shape(1);
  request.add_raw_input_contents(RawBytesElement("a") + RawBytesElement("b"));
  absl::StatusOr<exporting::InputColumns> columns = InputsFromInferRequest(request);
  EXPECT_EQ(columns.status(),
            absl::InvalidArgumentError(
                "input tensor 'plan': more raw BYTES elements than the shape's 1"));
}

}  // namespace
}  // namespace tristage::server
