// The one mapping between absl::Status and grpc::Status (their codes share numbering).
#ifndef TRISTAGE_SERVER_RPC_STATUS_H_
#define TRISTAGE_SERVER_RPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace tristage::server {

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace tristage::server

#endif  // TRISTAGE_SERVER_RPC_STATUS_H_
