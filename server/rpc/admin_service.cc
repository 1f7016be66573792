#include "server/rpc/admin_service.h"

namespace tristage::server {

grpc::ServerUnaryReactor* AdminService::GetServerInfo(
    grpc::CallbackServerContext* context, const tristage::v1::GetServerInfoRequest* /*request*/,
    tristage::v1::ServerInfo* response) {
  *response = info_;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace tristage::server
