// KServe v2 raw tensors, built from the fuzzer's bytes rather than parsed: a few inputs with a
// name, a datatype and a shape (mostly small, sometimes any int64), each with raw_input_contents
// taken from the bytes, so the fuzzer works on the raw element decoding (BYTES length prefixes,
// numeric widths, shape arithmetic) instead of on protobuf's wire format.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/decode_common.h"
#include "server/rpc/decode.h"

namespace {

constexpr const char* kNames[] = {"age", "churned", "plan", "notes", "emb"};
constexpr const char* kDatatypes[] = {"BYTES",  "BOOL",  "INT8",   "UINT8", "INT16",
                                      "UINT16", "INT32", "UINT32", "INT64", "UINT64",
                                      "FP32",   "FP64",  "FP16",   "STRING"};

int64_t Dimension(FuzzedDataProvider& in) {
  return in.ConsumeBool() ? in.ConsumeIntegralInRange<int64_t>(-1, 8)
                          : in.ConsumeIntegral<int64_t>();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  inference::ModelInferRequest request;
  const int inputs = in.ConsumeIntegralInRange(1, 5);
  for (int i = 0; i < inputs; ++i) {
    auto* tensor = request.add_inputs();
    tensor->set_name(in.ConsumeBool() ? std::string(in.PickValueInArray(kNames))
                                      : in.ConsumeRandomLengthString(8));
    tensor->set_datatype(in.PickValueInArray(kDatatypes));
    const int rank = in.ConsumeIntegralInRange(0, 3);
    for (int d = 0; d < rank; ++d) tensor->add_shape(Dimension(in));
    // Rarely also `contents`, which a raw request must not carry.
    if (in.ConsumeIntegralInRange(0, 15) == 0) tensor->mutable_contents()->add_fp32_contents(1);
    request.add_raw_input_contents(i + 1 == inputs ? in.ConsumeRemainingBytesAsString()
                                                   : in.ConsumeRandomLengthString(64));
  }
  auto columns = tristage::server::InputsFromInferRequest(request);
  if (columns.ok()) tristage::fuzz::CheckDecoded(*columns);
  return 0;
}
