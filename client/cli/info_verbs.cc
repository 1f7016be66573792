// The verbs that report on the installation and on a running daemon: check_install, version,
// health.
#include <ostream>

#include "absl/strings/numbers.h"
#include "client/cli/verbs.h"
#include "client/lib/client.h"
#include "core/platform/system_info.h"
#include "core/version.h"
#include "grpcpp/grpcpp.h"

namespace tristage::cli {

int RunCheckInstall(const VerbContext& context) {
  SystemInfo info = CollectSystemInfo();
  info.library_versions.emplace_back("grpc (runtime)", grpc::Version());
  context.out << FormatSystemInfo(info);
  constexpr int kSize = 512;
  const double gflops = MeasureMatmulGflops(kSize, 10);
  context.out << "matmul " << kSize << "x" << kSize << " float32: " << static_cast<int>(gflops)
              << " GFLOP/s\n";
  return kExitOk;
}

int RunVersion(const VerbContext& context) {
  context.out << "tristage " << kTristageVersion << "\n";
  return kExitOk;
}

int RunHealth(const VerbContext& context) {
  const std::string address = context.flags.GetOr("server", "127.0.0.1:8001");
  double timeout_s = 5;
  if (!absl::SimpleAtod(context.flags.GetOr("timeout_s", "5"), &timeout_s) || timeout_s <= 0) {
    context.err << "tristage health: --timeout_s must be a positive number\n";
    return kExitUsage;
  }
  client::TristageClient::Options options;
  options.timeout = absl::Seconds(timeout_s);
  auto client = client::TristageClient::Create(address, options);
  if (!client.ok()) {
    context.err << "tristage health: " << client.status().message() << "\n";
    return kExitUsage;
  }
  auto status = (*client)->CheckHealth(context.flags.GetOr("service", ""));
  if (!status.ok()) {
    context.err << "tristage health: " << address << ": " << status.status().message() << "\n";
    return kExitFailure;
  }
  context.out << client::ServingStatusName(*status) << "\n";
  return *status == client::ServingStatus::kServing ? kExitOk : kExitFailure;
}

}  // namespace tristage::cli
