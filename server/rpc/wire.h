// Wire: request bodies parsed by our handlers instead of gRPC's, so that a body that is not the
// message it should be gets INVALID_ARGUMENT naming what is wrong. gRPC's own parse answers a
// callback method UNIMPLEMENTED with an empty message (and a sync one INTERNAL), which sends a
// client looking for a missing method; the unauthenticated inference methods (Predict,
// ModelInfer) therefore take their bodies as raw bytes and parse them here.
//
// The protobuf log handler installed here sends libprotobuf's per-field "invalid UTF-8" error
// lines (one per bad request, a log flood without authentication) to the debug level, and lets
// ParseRequest quote them in its answer.
// Thread safety: every function from any thread.
#ifndef TRISTAGE_SERVER_RPC_WIRE_H_
#define TRISTAGE_SERVER_RPC_WIRE_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/server_interceptor.h"

namespace tristage::server {

// Installs the protobuf log handler above (idempotent).
void InstallProtobufLogHandler();

// Parses `bytes` into `message` (cleared first). InvalidArgument naming the message type and, for
// a string field holding invalid UTF-8, the field.
absl::Status ParseRequest(const grpc::ByteBuffer& bytes, google::protobuf::Message& message);

// `message` serialized into `bytes`; Internal if protobuf refuses.
absl::Status SerializeResponse(const google::protobuf::Message& message, grpc::ByteBuffer& bytes);

// For the methods whose path starts with `method_prefix` (e.g. "/tristage.v1.Admin/"), which use
// gRPC's own parse: the INTERNAL status with an empty message that gRPC answers for a body that is
// not the method's message becomes INVALID_ARGUMENT naming the expected message type. Other
// methods get no interceptor (nothing on the inference path). Our handlers never answer INTERNAL
// without a message, so the rewrite cannot hide one of ours.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> BadBodyInterceptorFactory(
    std::string method_prefix);

}  // namespace tristage::server

#endif  // TRISTAGE_SERVER_RPC_WIRE_H_
