// SHA-256 over a stream of bytes (OpenSSL's libcrypto), for dataset upload checksums.
// Thread safety: one Sha256 per thread.
#ifndef TRISTAGE_CORE_UTIL_SHA256_H_
#define TRISTAGE_CORE_UTIL_SHA256_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tristage {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(absl::string_view bytes);
  // Lowercase hex of the digest; the object is spent afterwards.
  std::string HexDigest();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

// The SHA-256 of a whole file; NotFound / DataLoss naming the file when it cannot be read.
absl::StatusOr<std::string> Sha256OfFile(const std::string& path);

}  // namespace tristage

#endif  // TRISTAGE_CORE_UTIL_SHA256_H_
