#include "server/rpc/admin_service.h"

#include "server/rpc/auth.h"
#include "server/rpc/status.h"

namespace tristage::server {

grpc::ServerUnaryReactor* AdminService::GetServerInfo(
    grpc::CallbackServerContext* context, const tristage::v1::GetServerInfoRequest* /*request*/,
    tristage::v1::ServerInfo* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status auth = CheckBearerToken(*context, auth_token_); !auth.ok()) {
    reactor->Finish(ToGrpcStatus(auth));
    return reactor;
  }
  *response = info_;
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace tristage::server
