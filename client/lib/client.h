// TristageClient: the C++ client library for a tristage daemon.
//
// Lifecycle: Create() makes a channel (connection is lazy; the first call connects). One client
// may be shared by many threads: gRPC channels and stubs are thread-safe.
// Errors: every call returns the server's status as an absl::Status with the same code; a daemon
// that cannot be reached is UNAVAILABLE, a call past its deadline DEADLINE_EXCEEDED.
#ifndef TRISTAGE_CLIENT_LIB_CLIENT_H_
#define TRISTAGE_CLIENT_LIB_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tristage/v1/admin.pb.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace tristage::client {

enum class ServingStatus { kUnknown, kServing, kNotServing, kServiceUnknown };

const char* ServingStatusName(ServingStatus status);

class TristageClient {
 public:
  struct Options {
    // Deadline applied to each call.
    absl::Duration timeout = absl::Seconds(10);
  };

  // `address` is "host:port". InvalidArgument when it is empty.
  static absl::StatusOr<std::unique_ptr<TristageClient>> Create(const std::string& address,
                                                                Options options);
  ~TristageClient();

  // grpc.health.v1.Health/Check for `service` ("" is the whole server). A service the server does
  // not know is NOT_FOUND, as the health protocol specifies.
  absl::StatusOr<ServingStatus> CheckHealth(const std::string& service = "");

  absl::StatusOr<tristage::v1::ServerInfo> GetServerInfo();

 private:
  TristageClient(std::shared_ptr<grpc::Channel> channel, Options options);

  const std::shared_ptr<grpc::Channel> channel_;
  const Options options_;
};

}  // namespace tristage::client

#endif  // TRISTAGE_CLIENT_LIB_CLIENT_H_
