// A serialized KServe v2 ModelInferRequest -> InputsFromInferRequest (server/rpc/decode.h), then
// the server's next steps on what decoded (fuzz/decode_common.h).
#include <cstddef>
#include <cstdint>

#include "fuzz/decode_common.h"
#include "server/rpc/decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  inference::ModelInferRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  auto columns = tristage::server::InputsFromInferRequest(request);
  if (columns.ok()) tristage::fuzz::CheckDecoded(*columns);
  return 0;
}
