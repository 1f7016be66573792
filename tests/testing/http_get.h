// HttpGet: a minimal HTTP/1.1 GET over a loopback socket, for scraping /metrics in tests.
#ifndef TRISTAGE_TESTS_TESTING_HTTP_GET_H_
#define TRISTAGE_TESTS_TESTING_HTTP_GET_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tristage::testing {

struct HttpResponse {
  int status_code = 0;
  std::string headers;
  std::string body;
};

// GET http://host:port/path with Connection: close; reads to EOF. Unavailable when the connection
// fails, DeadlineExceeded after `timeout`.
absl::StatusOr<HttpResponse> HttpGet(const std::string& host, int port, const std::string& path,
                                     absl::Duration timeout = absl::Seconds(5));

}  // namespace tristage::testing

#endif  // TRISTAGE_TESTS_TESTING_HTTP_GET_H_
