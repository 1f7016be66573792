// Request decoding at the RPC edge: the columns of a tristage.v1 PredictRequest and the tensors of
// a KServe v2 ModelInferRequest, turned into the pipeline's torch-free InputColumns.
//
// Decoding checks only the request's own shape (names given once, element counts matching shapes,
// raw byte lengths, known datatypes); whether the columns fit the model (feature names, row counts,
// UTF-8) is exporting::ValidateInputs' job. Both functions are pure over their argument, allocate
// no more than the request's own size, and are fuzzed (fuzz/decode_*_fuzzer.cc).
//
// Only message code (*.pb.h) here, no gRPC: the fuzz build links these without the server.
// Thread safety: pure functions.
#ifndef TRISTAGE_SERVER_RPC_DECODE_H_
#define TRISTAGE_SERVER_RPC_DECODE_H_

#include "absl/status/statusor.h"
#include "core/export/values.h"
#include "inference/grpc_service.pb.h"
#include "tristage/v1/inference.pb.h"

namespace tristage::server {

// Bytes per element of a KServe v2 numeric or BOOL datatype; 0 for BYTES and unknown names.
int KServeElementSize(const std::string& datatype);

// Columns of a PredictRequest for the pipeline; InvalidArgument naming the input.
absl::StatusOr<exporting::InputColumns> InputsFromProto(
    const tristage::v1::PredictRequest& request);

// A ModelInferRequest's tensors as pipeline columns; InvalidArgument naming the tensor.
absl::StatusOr<exporting::InputColumns> InputsFromInferRequest(
    const inference::ModelInferRequest& request);

}  // namespace tristage::server

#endif  // TRISTAGE_SERVER_RPC_DECODE_H_
