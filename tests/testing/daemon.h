// Daemon: a real `tristage-server` process for end-to-end tests, started on free ports.
//
// Lifecycle: Start() launches the binary with `--grpc-port 0 --metrics-port 0 --http-port 0` plus extra flags and
// waits for its "listening on" line; the destructor SIGKILLs it if the test did not stop it.
#ifndef TRISTAGE_TESTS_TESTING_DAEMON_H_
#define TRISTAGE_TESTS_TESTING_DAEMON_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/testing/subprocess.h"

namespace tristage::testing {

class Daemon {
 public:
  // `binary` is the tristage-server path; `extra_flags` are appended after the port flags.
  static absl::StatusOr<std::unique_ptr<Daemon>> Start(const std::string& binary,
                                                       const std::vector<std::string>& extra_flags);

  std::string grpc_address() const { return "127.0.0.1:" + std::to_string(grpc_port_); }
  int grpc_port() const { return grpc_port_; }
  int metrics_port() const { return metrics_port_; }  // -1 when the daemon printed none.
  int http_port() const { return http_port_; }        // -1 when HTTP/REST is disabled.
  Subprocess& process() { return *process_; }

 private:
  std::unique_ptr<Subprocess> process_;
  int grpc_port_ = 0;
  int metrics_port_ = -1;
  int http_port_ = -1;
};

}  // namespace tristage::testing

#endif  // TRISTAGE_TESTS_TESTING_DAEMON_H_
