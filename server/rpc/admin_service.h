// AdminService: tristage.v1.Admin over gRPC's callback API.
//
// Handlers never block: each answers from state fixed at construction.
// Thread safety: safe for concurrent calls; immutable after construction.
#ifndef TRISTAGE_SERVER_RPC_ADMIN_SERVICE_H_
#define TRISTAGE_SERVER_RPC_ADMIN_SERVICE_H_

#include "tristage/v1/admin.grpc.pb.h"

namespace tristage::server {

class AdminService final : public tristage::v1::Admin::CallbackService {
 public:
  // `info` is what GetServerInfo answers.
  // `auth_token`: required on every call when not empty (rpc/auth.h).
  AdminService(tristage::v1::ServerInfo info, std::string auth_token)
      : info_(std::move(info)), auth_token_(std::move(auth_token)) {}

  grpc::ServerUnaryReactor* GetServerInfo(grpc::CallbackServerContext* context,
                                          const tristage::v1::GetServerInfoRequest* request,
                                          tristage::v1::ServerInfo* response) override;

 private:
  const tristage::v1::ServerInfo info_;
  const std::string auth_token_;
};

}  // namespace tristage::server

#endif  // TRISTAGE_SERVER_RPC_ADMIN_SERVICE_H_
