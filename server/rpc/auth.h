// Bearer-token authorization for admin and repository RPCs (--auth-token-file): the call must
// carry metadata "authorization: Bearer <token>". Inference RPCs are not checked.
#ifndef TRISTAGE_SERVER_RPC_AUTH_H_
#define TRISTAGE_SERVER_RPC_AUTH_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"

namespace tristage::server {

// OK when `token` is empty (no token configured) or `header` (the authorization header's value,
// nullptr when absent) is "Bearer <token>"; UNAUTHENTICATED otherwise. Compares in constant time.
// The HTTP/REST binding checks its Authorization header here too.
inline absl::Status CheckAuthorizationHeader(const std::string* header, const std::string& token) {
  if (token.empty()) return absl::OkStatus();
  if (header == nullptr) {
    return absl::UnauthenticatedError(
        "this call needs an \"authorization: Bearer <token>\" header");
  }
  const std::string& given = *header;
  const std::string expected = "Bearer " + token;
  unsigned char difference = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size(); ++i) {
    difference |= static_cast<unsigned char>(expected[i] ^ (i < given.size() ? given[i] : 0));
  }
  if (difference != 0) return absl::UnauthenticatedError("wrong bearer token");
  return absl::OkStatus();
}

// The same for a gRPC call's metadata.
inline absl::Status CheckBearerToken(const grpc::ServerContextBase& context,
                                     const std::string& token) {
  if (token.empty()) return absl::OkStatus();
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) return CheckAuthorizationHeader(nullptr, token);
  const std::string given(it->second.data(), it->second.size());
  return CheckAuthorizationHeader(&given, token);
}

}  // namespace tristage::server

#endif  // TRISTAGE_SERVER_RPC_AUTH_H_
