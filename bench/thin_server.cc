// bench/thin_server: the thinnest gRPC server around an export's three stages, the reference a
// served Predict is judged against on this machine. It serves tristage.v1.Inference with gRPC's
// callback API, as tristage-server does: Predict converts the request (the daemon's own
// conversions), runs preprocess -> predict -> postprocess -> decode on the handler's thread (no
// queue, no batcher, no pipeline, no statistics) and answers; ModelMetadata answers the inputs,
// which is what loadgen asks first.
//
//   thin_server EXPORT_DIR [--port 0] [--spin_us N] [--api callback|sync]
//
// Run bench/loadgen against it and against tristage-server serving the same export, alternately:
// what the thin server costs over the in-process stages (bench/stages) is the RPC stack's share on
// this machine; what tristage-server costs over the thin server is the serving pipeline's.
// `--spin_us N` replaces the stages with N microseconds of busy-waiting (the same answer, no
// compute): the RPC stack's latency as a function of the handler's time, without the stages'
// cache and allocation effects. `--api sync` serves with gRPC's synchronous API instead.
// Prints `listening on 127.0.0.1:PORT` once serving; stops on SIGINT/SIGTERM.
#include <ATen/Parallel.h>
#include <pthread.h>
#include <signal.h>

#include <iostream>

#include "absl/strings/numbers.h"
#include "core/export/servable.h"
#include "grpcpp/grpcpp.h"
#include "server/rpc/inference_service.h"
#include "server/rpc/status.h"
#include "core/platform/system_info.h"
#include "tristage/v1/inference.grpc.pb.h"

namespace {

using tristage::exporting::Servable;

// What both API flavours answer.
class ThinModel {
 public:
  ThinModel(const Servable* servable, int64_t spin_us) : servable_(servable), spin_us_(spin_us) {}

  void Describe(const tristage::v1::ModelMetadataRequest& request,
                tristage::v1::ModelMetadataResponse& response) const {
    response.set_model_name(request.model_name());
    response.set_model_version("1");
    for (const auto& spec : servable_->manifest().inputs) {
      tristage::v1::ModelInput* input = response.add_inputs();
      input->set_name(spec.name);
      input->set_column(spec.column);
      input->set_type(spec.type);
    }
  }

  absl::Status Answer(const tristage::v1::PredictRequest& request,
                      tristage::v1::PredictResponse& response) const {
    if (spin_us_ > 0) {
      const absl::Time until = absl::Now() + absl::Microseconds(spin_us_);
      while (absl::Now() < until) {
      }
      response.set_rows(1);
      return absl::OkStatus();
    }
    auto inputs = tristage::server::InputsFromProto(request);
    if (!inputs.ok()) return inputs.status();
    auto rows = tristage::exporting::ValidateInputs(servable_->manifest(), *inputs);
    if (!rows.ok()) return rows.status();
    auto batch = servable_->Preprocess(*inputs);
    if (!batch.ok()) return batch.status();
    if (absl::Status predicted = servable_->Predict(**batch); !predicted.ok()) return predicted;
    auto decoded = servable_->Postprocess(**batch);
    if (!decoded.ok()) return decoded.status();
    response.set_model_name(request.model_name());
    response.set_model_version("1");
    response.set_id(request.id());
    response.set_rows(*rows);
    return tristage::server::OutputsToProto(*decoded, request.outputs(), response);
  }

  const Servable* const servable_;
  const int64_t spin_us_;
};

// The callback API, as tristage-server uses it: handlers run on gRPC's own threads.
class CallbackInference final : public tristage::v1::Inference::CallbackService {
 public:
  explicit CallbackInference(const ThinModel* model) : model_(model) {}

  grpc::ServerUnaryReactor* Predict(grpc::CallbackServerContext* context,
                                    const tristage::v1::PredictRequest* request,
                                    tristage::v1::PredictResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(tristage::server::ToGrpcStatus(model_->Answer(*request, *response)));
    return reactor;
  }

  grpc::ServerUnaryReactor* ModelMetadata(grpc::CallbackServerContext* context,
                                          const tristage::v1::ModelMetadataRequest* request,
                                          tristage::v1::ModelMetadataResponse* response) override {
    model_->Describe(*request, *response);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  const ThinModel* const model_;
};

// The synchronous API: handlers run on the threads of gRPC's sync server pool.
class SyncInference final : public tristage::v1::Inference::Service {
 public:
  explicit SyncInference(const ThinModel* model) : model_(model) {}

  grpc::Status Predict(grpc::ServerContext* /*context*/,
                       const tristage::v1::PredictRequest* request,
                       tristage::v1::PredictResponse* response) override {
    return tristage::server::ToGrpcStatus(model_->Answer(*request, *response));
  }

  grpc::Status ModelMetadata(grpc::ServerContext* /*context*/,
                             const tristage::v1::ModelMetadataRequest* request,
                             tristage::v1::ModelMetadataResponse* response) override {
    model_->Describe(*request, *response);
    return grpc::Status::OK;
  }

 private:
  const ThinModel* const model_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: thin_server EXPORT_DIR [--port 0] [--spin_us N] [--api callback|sync]\n";
    return 2;
  }
  int port = 0;
  int64_t spin_us = 0;
  std::string api = "callback";
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    bool ok = false;
    if (flag == "--port") ok = absl::SimpleAtoi(argv[i + 1], &port);
    if (flag == "--spin_us") ok = absl::SimpleAtoi(argv[i + 1], &spin_us);
    if (flag == "--api") {
      api = argv[i + 1];
      ok = api == "callback" || api == "sync";
    }
    if (!ok) {
      std::cerr << "thin_server: bad flag " << flag << " " << argv[i + 1] << "\n";
      return 2;
    }
  }
  // SIGINT/SIGTERM are blocked in every thread (started after this) and taken by sigwait below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // As tristage-server with its defaults: one intra-op thread, for libtorch and OpenBLAS.
  tristage::SetComputeThreads(1);
  auto servable = tristage::exporting::LoadServable(argv[1], {});
  if (!servable.ok()) {
    std::cerr << servable.status() << "\n";
    return 1;
  }
  (void)(*servable)->WarmUp();  // the daemon's; a model refusing it still serves
  const ThinModel model(servable->get(), spin_us);
  CallbackInference callback_service(&model);
  SyncInference sync_service(&model);
  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::InsecureServerCredentials(),
                           &bound_port);
  if (api == "sync") {
    builder.RegisterService(&sync_service);
  } else {
    builder.RegisterService(&callback_service);
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || bound_port == 0) {
    std::cerr << "thin_server: cannot listen on port " << port << "\n";
    return 1;
  }
  std::cout << "listening on 127.0.0.1:" << bound_port << std::endl;
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  server->Shutdown();
  return 0;
}
