// HTTP/REST bodies (server/http/rest_codec.h): the first byte picks the endpoint and whether an
// Inference-Header-Content-Length header comes with the body (its value from the next bytes); the
// rest is the body. Then the server's next steps on what parsed: the KServe decoder, and the answer
// built back from a response made of the request's own inputs. Properties: no crash, no leak, and
// a parsed request always carries one raw_input_contents entry per input.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "fuzz/decode_common.h"
#include "fuzz/fuzz_check.h"
#include "server/http/rest_codec.h"
#include "server/rpc/decode.h"

namespace http = tristage::server::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((mode & 1) != 0) {
    auto columns = http::ParseRecords(body);
    if (columns.ok()) tristage::fuzz::CheckDecoded(*columns);
    return 0;
  }
  std::optional<std::string> header_length;
  if ((mode & 2) != 0) {
    // A header value: a number near the body's size, or the next few bytes as text.
    if ((mode & 4) != 0) {
      header_length = std::to_string(body.size() > 0 ? (mode >> 3) % (body.size() + 1) : 0);
    } else {
      const size_t take = std::min<size_t>(body.size(), (mode >> 3) % 8);
      header_length = body.substr(0, take);
      body.erase(0, take);
    }
  }
  auto parsed = http::ParseInferRequest(body, header_length);
  if (!parsed.ok()) return 0;
  const inference::ModelInferRequest& request = parsed->request;
  FUZZ_CHECK(request.raw_input_contents_size() == request.inputs_size(),
             "every input carries raw contents");
  auto columns = tristage::server::InputsFromInferRequest(request);
  if (columns.ok()) tristage::fuzz::CheckDecoded(*columns);
  // The answer path on tensors shaped like the request's (any bytes in them).
  inference::ModelInferResponse response;
  for (int i = 0; i < request.inputs_size(); ++i) {
    auto* out = response.add_outputs();
    out->set_name(request.inputs(i).name());
    out->set_datatype(request.inputs(i).datatype());
    *out->mutable_shape() = request.inputs(i).shape();
    response.add_raw_output_contents(request.raw_input_contents(i));
  }
  http::RestAnswer answer = http::InferAnswer(response, *parsed);
  FUZZ_CHECK(!answer.body.empty(), "an answer has a body");
  return 0;
}
