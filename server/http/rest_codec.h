// RestCodec: the KServe v2 REST binding's bodies (JSON, and Triton's binary tensor extension) and
// the /v1 records bodies, translated to and from what the gRPC services use (the KServe messages,
// the pipeline's InputColumns and OutputMap), so that both bindings share one decoding, one
// admission path and one set of answers.
//
// Infer requests (POST /v2/models/{m}[/versions/{v}]/infer):
//   {"id": "...", "parameters": {"binary_data_output": bool, "timeout": microseconds},
//    "inputs": [{"name", "datatype", "shape", "data" | "parameters": {"binary_data_size": n}}],
//    "outputs": [{"name", "parameters": {"binary_data": bool}}]}
// `data` is row-major, flat or nested to the shape's depth; BYTES elements are JSON strings,
// BOOL elements JSON booleans, other datatypes JSON numbers (integers in range for INT*/UINT*).
// With an `Inference-Header-Content-Length: N` header, the body's first N bytes are the JSON and
// the rest is the binary data of the inputs that give `binary_data_size`, in their order (BYTES
// elements as 4-byte little-endian lengths followed by the bytes, as Triton sends them).
// Every input is carried on as raw_input_contents, so decode.h's checks apply to both bindings.
//
// Records (POST /v1/models/{m}[/versions/{v}]:predict, the shape TF Serving and KServe v1 users
// know): {"instances": [{"<input feature>": value, ...}, ...]}; a value is a string, a number, a
// boolean, null (missing) or an array (vector, set, bag: its elements joined by spaces). The
// answer is {"model_name", "model_version", "predictions": [{"<column>": value, ...}, ...]}, one
// record per instance with the columns `tristage predict` writes (<feature>_predictions,
// <feature>_probabilities_<class>, <feature>_probability, ...), numbers as JSON numbers.
//
// Errors are InvalidArgument naming the field (`inputs[1].data[3]`, `instances[2].x`) and the
// reason. JSON nesting deeper than kMaxJsonDepth is refused while parsing (a 50 MB `[[[[...` costs
// no stack). Every function here is pure over its arguments and fuzzed (fuzz/rest_infer_fuzzer.cc).
// Thread safety: pure functions.
#ifndef TRISTAGE_SERVER_HTTP_REST_CODEC_H_
#define TRISTAGE_SERVER_HTTP_REST_CODEC_H_

#include <optional>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/export/values.h"
#include "inference/grpc_service.pb.h"

namespace tristage::server::http {

inline constexpr int kMaxJsonDepth = 32;

// An HTTP status and body for an answer.
struct RestAnswer {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  // Set for a binary-extension answer: the Inference-Header-Content-Length value.
  std::optional<size_t> json_length;
};

// The HTTP status for a gRPC/absl code (as grpc-gateway maps them: INVALID_ARGUMENT 400,
// UNAUTHENTICATED 401, PERMISSION_DENIED 403, NOT_FOUND 404, ALREADY_EXISTS/ABORTED 409,
// RESOURCE_EXHAUSTED 429, CANCELLED 499, UNIMPLEMENTED 501, UNAVAILABLE 503,
// DEADLINE_EXCEEDED 504, INTERNAL and the rest 500).
int HttpStatus(absl::StatusCode code);
// {"error": "<message>"} with the status's HTTP code.
RestAnswer ErrorAnswer(const absl::Status& status);
// A JSON answer (invalid UTF-8 in strings is replaced, never a throw).
RestAnswer JsonAnswer(int status, const std::string& json_text);

struct RestInferRequest {
  inference::ModelInferRequest request;  // model name/version set by the caller
  // Outputs to answer in binary: all (parameters.binary_data_output) or the named ones.
  bool binary_output_all = false;
  std::set<std::string> binary_outputs;
  // parameters.timeout (microseconds, as Triton); InfiniteDuration when absent.
  absl::Duration timeout = absl::InfiniteDuration();
};

// `header_length`: the Inference-Header-Content-Length header's value, nullopt when absent.
absl::StatusOr<RestInferRequest> ParseInferRequest(absl::string_view body,
                                                   const std::optional<std::string>& header_length);

// The response as JSON (outputs with "data"), or as JSON followed by the binary outputs' bytes
// when the request asked for binary outputs.
RestAnswer InferAnswer(const inference::ModelInferResponse& response,
                       const RestInferRequest& request);

// {"instances": [...]} as pipeline columns.
absl::StatusOr<exporting::InputColumns> ParseRecords(absl::string_view body);
// The records answer for `outputs`.
absl::StatusOr<std::string> RecordsAnswer(const exporting::OutputMap& outputs,
                                          const std::string& model, int64_t version);

// The KServe REST shapes of the shared answers.
std::string ServerMetadataJson(const inference::ServerMetadataResponse& response);
std::string ModelMetadataJson(const inference::ModelMetadataResponse& response);
std::string ModelStatisticsJson(const inference::ModelStatisticsResponse& response);
std::string RepositoryIndexJson(const inference::RepositoryIndexResponse& response);

// A timeout header's value in seconds ("2", "0.25"); InvalidArgument naming `field` unless a
// positive finite number.
absl::StatusOr<absl::Duration> ParseTimeoutSeconds(const std::string& field,
                                                   absl::string_view text);

}  // namespace tristage::server::http

#endif  // TRISTAGE_SERVER_HTTP_REST_CODEC_H_
