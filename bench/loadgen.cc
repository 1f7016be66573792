// bench/loadgen: load generator for tristage-server (tristage.v1.Inference/Predict, async).
//
//   loadgen --server HOST:PORT --model NAME --dataset FILE [--rows_per_request 1]
//           [--concurrency 1,2,4,8,16,32] [--duration_s 10] [--warmup_s 2]
//           [--rate R (open loop, requests/s)] [--client async|cq|sync] [--busy_poll]
//           [--rpc predict|metadata] [--streams S] [--json OUT]
//           [--rest HOST:PORT --rpc rest-json|rest-binary|rest-records --client sync]
//
// Closed loop (default): for each concurrency C, C requests are always in flight; each answer
// sends the next. Open loop (--rate): requests leave on a fixed schedule whatever the answers.
// `--client sync` runs each closed-loop chain on its own thread with blocking calls instead of the
// callback API; `--client cq` starts and completes every closed-loop call from one thread polling
// a gRPC completion queue (the leanest client here: no thread hand-offs); with `--busy_poll` that
// thread polls without ever sleeping, so that the latency measured is the server's, not the
// client's wake-up: on this project's VM a vCPU idle for more than about 100 us takes about 150 us
// to wake (bench/README.md, thin_server --spin_us). `--rpc metadata` (sync
// or cq) calls ModelMetadata instead of Predict: no compute, the floor of the RPC stack on this
// machine. `--streams S` sends the closed-loop chains' requests over S PredictStream streams
// (chain c on stream c mod S) instead of one unary call each. Requests cycle through the
// dataset's rows (the model's input columns, as strings). Prints per level: requests/s, rows/s,
// p50/p90/p99/max latency, errors; and a JSON document with the same. With `--rest HOST:PORT`
// (the daemon's --http-port) and `--client sync`, each chain instead POSTs the same rows over
// HTTP/REST on its own keep-alive connection: KServe v2 JSON tensors (`--rpc rest-json`), Triton's
// binary tensors (`rest-binary`) or /v1 records (`rest-records`); `--server` still names the gRPC
// port (the model's inputs are read from its metadata).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <iostream>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "client/lib/client.h"
#include "core/api/model.h"
#include "core/platform/system_info.h"
#include "grpcpp/grpcpp.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tristage/v1/inference.grpc.pb.h"

namespace {

using nlohmann::json;

struct Flags {
  std::string server = "127.0.0.1:8001";
  std::string model;
  std::string dataset;
  int64_t rows_per_request = 1;
  std::vector<int> concurrency = {1, 2, 4, 8, 16, 32};
  double duration_s = 10;
  double warmup_s = 2;
  double rate = 0;
  std::string json_path;
  bool sync = false;
  bool cq = false;
  bool busy_poll = false;
  bool metadata_only = false;
  int streams = 0;
  std::string rest;       // HOST:PORT of the HTTP/REST listener
  std::string rest_body;  // "json", "binary" or "records"
};

// One request's HTTP/REST form.
struct RestRequest {
  std::string path;
  std::string body;
  std::string header_length;  // Inference-Header-Content-Length; "" for none
};

RestRequest ToRest(const tristage::v1::PredictRequest& request, const std::string& kind) {
  RestRequest rest;
  if (kind == "records") {
    json instances = json::array();
    for (const auto& [name, column] : request.inputs()) {
      const auto& values = column.strings().values();
      instances.get_ref<json::array_t&>().resize(values.size(), json::object());
      for (int row = 0; row < values.size(); ++row) instances[row][name] = values[row];
    }
    rest.path = "/v1/models/" + request.model_name() + ":predict";
    rest.body = json{{"instances", instances}}.dump();
    return rest;
  }
  rest.path = "/v2/models/" + request.model_name() + "/infer";
  json inputs = json::array();
  std::string binary;
  for (const auto& [name, column] : request.inputs()) {
    const auto& values = column.strings().values();
    json input = {{"name", name}, {"datatype", "BYTES"}, {"shape", {values.size()}}};
    if (kind == "binary") {
      std::string raw;
      for (const std::string& value : values) {
        const uint32_t length = static_cast<uint32_t>(value.size());
        raw.append(reinterpret_cast<const char*>(&length), 4);
        raw.append(value);
      }
      input["parameters"] = {{"binary_data_size", raw.size()}};
      binary += raw;
    } else {
      input["data"] = std::vector<std::string>(values.begin(), values.end());
    }
    inputs.push_back(std::move(input));
  }
  rest.body = json{{"inputs", inputs}}.dump();
  if (kind == "binary") {
    rest.header_length = std::to_string(rest.body.size());
    rest.body += binary;
  }
  return rest;
}

bool ParseFlags(int argc, char** argv, Flags& flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--server") {
      flags.server = value();
    } else if (arg == "--model") {
      flags.model = value();
    } else if (arg == "--dataset") {
      flags.dataset = value();
    } else if (arg == "--rows_per_request") {
      if (!absl::SimpleAtoi(value(), &flags.rows_per_request)) return false;
    } else if (arg == "--concurrency") {
      flags.concurrency.clear();
      for (absl::string_view part : absl::StrSplit(value(), ',')) {
        int c = 0;
        if (!absl::SimpleAtoi(part, &c) || c <= 0) return false;
        flags.concurrency.push_back(c);
      }
    } else if (arg == "--duration_s") {
      if (!absl::SimpleAtod(value(), &flags.duration_s)) return false;
    } else if (arg == "--warmup_s") {
      if (!absl::SimpleAtod(value(), &flags.warmup_s)) return false;
    } else if (arg == "--rate") {
      if (!absl::SimpleAtod(value(), &flags.rate)) return false;
    } else if (arg == "--client") {
      const std::string kind = value();
      if (kind != "sync" && kind != "async" && kind != "cq") return false;
      flags.sync = kind == "sync";
      flags.cq = kind == "cq";
    } else if (arg == "--rpc") {
      const std::string kind = value();
      if (kind != "predict" && kind != "metadata" && kind != "rest-json" && kind != "rest-binary" &&
          kind != "rest-records") {
        return false;
      }
      flags.metadata_only = kind == "metadata";
      if (absl::StartsWith(kind, "rest-")) flags.rest_body = kind.substr(5);
    } else if (arg == "--rest") {
      flags.rest = value();
    } else if (arg == "--busy_poll") {
      flags.busy_poll = true;
    } else if (arg == "--streams") {
      if (!absl::SimpleAtoi(value(), &flags.streams) || flags.streams <= 0) return false;
    } else if (arg == "--json") {
      flags.json_path = value();
    } else {
      std::cerr << "loadgen: unknown flag " << arg << "\n";
      return false;
    }
  }
  if (flags.streams > 0 && (flags.sync || flags.rate > 0)) {
    std::cerr << "loadgen: --streams is a closed-loop async mode\n";
    return false;
  }
  if (flags.busy_poll && !flags.cq) {
    std::cerr << "loadgen: --busy_poll needs --client cq\n";
    return false;
  }
  if (flags.cq && (flags.streams > 0 || flags.rate > 0)) {
    std::cerr << "loadgen: --client cq is a closed-loop unary mode\n";
    return false;
  }
  if (flags.metadata_only && (!(flags.sync || flags.cq) || flags.rate > 0)) {
    std::cerr << "loadgen: --rpc metadata needs --client sync or cq (closed loop)\n";
    return false;
  }
  if (flags.rest.empty() != flags.rest_body.empty() || (!flags.rest.empty() && !flags.sync)) {
    std::cerr << "loadgen: --rest HOST:PORT, --rpc rest-json|rest-binary|rest-records and "
                 "--client sync go together\n";
    return false;
  }
  return !flags.model.empty() && !flags.dataset.empty() && flags.rows_per_request > 0;
}

// Latencies and errors of one measured level.
class Recorder {
 public:
  void Record(absl::Duration latency, bool ok, absl::Time now) {
    absl::MutexLock lock(&mu_);
    if (now < start_ || now > end_) return;  // warm-up or cool-down
    if (ok) {
      latencies_us_.push_back(absl::ToDoubleMicroseconds(latency));
    } else {
      ++errors_;
    }
  }
  void SetWindow(absl::Time start, absl::Time end) {
    absl::MutexLock lock(&mu_);
    start_ = start;
    end_ = end;
  }
  json Summary(double seconds, int64_t rows_per_request) {
    absl::MutexLock lock(&mu_);
    std::sort(latencies_us_.begin(), latencies_us_.end());
    auto pct = [this](double p) {
      if (latencies_us_.empty()) return 0.0;
      const size_t i = std::min(latencies_us_.size() - 1,
                                static_cast<size_t>(std::ceil(p * latencies_us_.size())) - 1);
      return latencies_us_[i];
    };
    const double ok = static_cast<double>(latencies_us_.size());
    return {{"requests_per_s", ok / seconds},
            {"rows_per_s", ok * static_cast<double>(rows_per_request) / seconds},
            {"p50_us", pct(0.50)},
            {"p90_us", pct(0.90)},
            {"p99_us", pct(0.99)},
            {"max_us", latencies_us_.empty() ? 0.0 : latencies_us_.back()},
            {"ok", latencies_us_.size()},
            {"errors", errors_}};
  }

 private:
  absl::Mutex mu_;
  std::vector<double> latencies_us_;
  int64_t errors_ = 0;
  absl::Time start_ = absl::InfiniteFuture();
  absl::Time end_ = absl::InfinitePast();
};

class Load {
 public:
  Load(tristage::client::TristageClient* client, std::shared_ptr<grpc::Channel> channel,
       std::vector<tristage::v1::PredictRequest> requests, const std::string& rest_body)
      : client_(client), channel_(std::move(channel)), requests_(std::move(requests)) {
    if (!rest_body.empty()) {
      for (const auto& request : requests_) rest_.push_back(ToRest(request, rest_body));
    }
  }

  // Closed loop: `concurrency` chains of request -> answer -> next request.
  json Closed(int concurrency, const Flags& flags) {
    Recorder recorder;
    const absl::Time begin = absl::Now();
    const absl::Time start = begin + absl::Seconds(flags.warmup_s);
    const absl::Time end = start + absl::Seconds(flags.duration_s);
    recorder.SetWindow(start, end);
    if (flags.cq) {
      ClosedOnCompletionQueue(concurrency, flags, end, recorder);
      json result = recorder.Summary(absl::ToDoubleSeconds(end - start), flags.rows_per_request);
      result["concurrency"] = concurrency;
      return result;
    }
    if (flags.sync) {
      // One owned thread per chain, each blocking on its call; joined before the summary.
      std::vector<std::thread> threads;
      for (int c = 0; c < concurrency; ++c) {
        threads.emplace_back([&] {
          std::unique_ptr<httplib::Client> http;
          if (!flags.rest.empty()) {
            const size_t colon = flags.rest.rfind(':');
            http = std::make_unique<httplib::Client>(flags.rest.substr(0, colon),
                                                     std::stoi(flags.rest.substr(colon + 1)));
            http->set_keep_alive(true);
            http->set_tcp_nodelay(true);
            http->set_read_timeout(30, 0);
          }
          while (absl::Now() < end) {
            const absl::Time sent = absl::Now();
            absl::Status status;
            if (http != nullptr) {
              const RestRequest& rest = rest_[next_.fetch_add(1) % rest_.size()];
              httplib::Headers headers;
              if (!rest.header_length.empty()) {
                headers.emplace("Inference-Header-Content-Length", rest.header_length);
              }
              auto res = http->Post(rest.path.c_str(), headers, rest.body, "application/json");
              if (!res) {
                status = absl::UnavailableError(httplib::to_string(res.error()));
              } else if (res->status != 200) {
                status = absl::UnknownError(absl::StrCat("HTTP ", res->status, ": ", res->body));
              }
            } else {
              status = flags.metadata_only ? client_->ModelMetadata(flags.model).status()
                                           : client_->Predict(Next()).status();
            }
            const absl::Time now = absl::Now();
            recorder.Record(now - sent, status.ok(), now);
            if (!status.ok()) ReportError(status);
          }
        });
      }
      for (std::thread& thread : threads) thread.join();
      json result = recorder.Summary(absl::ToDoubleSeconds(end - start), flags.rows_per_request);
      result["concurrency"] = concurrency;
      return result;
    }
    std::atomic<int> running{concurrency};
    absl::Notification all_done;
    std::vector<std::unique_ptr<tristage::client::PredictStream>> streams;
    for (int s = 0; s < flags.streams; ++s) {
      streams.push_back(client_->OpenPredictStream(std::max(1, concurrency / flags.streams + 1)));
    }
    std::vector<std::function<void()>> chains(concurrency);
    for (int c = 0; c < concurrency; ++c) {
      chains[c] = [&, c] {
        if (absl::Now() >= end) {
          if (running.fetch_sub(1) == 1) all_done.Notify();
          return;
        }
        const absl::Time sent = absl::Now();
        auto answered = [&, c, sent](auto response) {
          const absl::Time now = absl::Now();
          recorder.Record(now - sent, response.ok(), now);
          if (!response.ok()) ReportError(response.status());
          chains[c]();
        };
        if (streams.empty()) {
          client_->PredictAsync(Next(), std::move(answered));
        } else {
          streams[c % streams.size()]->Send(Next(), std::move(answered));
        }
      };
    }
    for (auto& chain : chains) chain();
    all_done.WaitForNotification();
    for (auto& stream : streams) {
      const absl::Status status = stream->Finish();
      if (!status.ok()) ReportError(status);
    }
    json result = recorder.Summary(absl::ToDoubleSeconds(end - start), flags.rows_per_request);
    result["concurrency"] = concurrency;
    return result;
  }

  // Open loop at `rate` requests/s from one sender thread.
  json Open(const Flags& flags) {
    Recorder recorder;
    const absl::Time begin = absl::Now();
    const absl::Time start = begin + absl::Seconds(flags.warmup_s);
    const absl::Time end = start + absl::Seconds(flags.duration_s);
    recorder.SetWindow(start, end);
    std::atomic<int64_t> outstanding{0};
    absl::Mutex mu;
    const absl::Duration interval = absl::Seconds(1.0 / flags.rate);
    int64_t sent_count = 0;
    for (absl::Time next = begin; next < end; next += interval) {
      absl::SleepFor(next - absl::Now());  // pacing the schedule, not synchronisation
      const absl::Time sent = absl::Now();
      outstanding.fetch_add(1);
      ++sent_count;
      client_->PredictAsync(Next(), [&, sent](auto response) {
        const absl::Time now = absl::Now();
        recorder.Record(now - sent, response.ok(), now);
        if (!response.ok()) ReportError(response.status());
        absl::MutexLock lock(&mu);
        outstanding.fetch_sub(1);
      });
    }
    {
      absl::MutexLock lock(&mu);
      auto idle = [&outstanding] { return outstanding.load() == 0; };
      mu.Await(absl::Condition(&idle));
    }
    json result = recorder.Summary(absl::ToDoubleSeconds(end - start), flags.rows_per_request);
    result["offered_rate"] = flags.rate;
    return result;
  }

 private:
  // `concurrency` calls in flight, all started and completed by this thread through one
  // completion queue; each answer starts the next call until `end`. Predict, or ModelMetadata with
  // --rpc metadata.
  void ClosedOnCompletionQueue(int concurrency, const Flags& flags, absl::Time end,
                               Recorder& recorder) {
    auto stub = tristage::v1::Inference::NewStub(channel_);
    tristage::v1::ModelMetadataRequest metadata_request;
    metadata_request.set_model_name(flags.model);
    if (flags.metadata_only) {
      RunOnCompletionQueue<tristage::v1::ModelMetadataResponse>(
          concurrency, flags.busy_poll, end, recorder,
          [&](grpc::ClientContext* context, grpc::CompletionQueue* queue) {
            return stub->AsyncModelMetadata(context, metadata_request, queue);
          });
    } else {
      RunOnCompletionQueue<tristage::v1::PredictResponse>(
          concurrency, flags.busy_poll, end, recorder,
          [&](grpc::ClientContext* context, grpc::CompletionQueue* queue) {
            return stub->AsyncPredict(context, Next(), queue);
          });
    }
  }

  // `busy_poll`: the thread polls the queue without sleeping between answers.
  template <typename Response, typename Start>
  void RunOnCompletionQueue(int concurrency, bool busy_poll, absl::Time end, Recorder& recorder,
                            Start start) {
    struct Call {
      grpc::ClientContext context;
      Response response;
      grpc::Status status;
      absl::Time sent;
      std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> reader;
    };
    grpc::CompletionQueue queue;
    auto start_call = [&] {
      auto call = std::make_unique<Call>();
      call->sent = absl::Now();
      call->context.set_deadline(absl::ToChronoTime(call->sent + absl::Seconds(30)));
      call->reader = start(&call->context, &queue);
      Call* raw = call.release();  // owned by the queue until its tag comes back
      raw->reader->Finish(&raw->response, &raw->status, raw);
    };
    for (int c = 0; c < concurrency; ++c) start_call();
    int in_flight = concurrency;
    void* tag = nullptr;
    bool ok = false;
    auto next = [&] {
      if (!busy_poll) return queue.Next(&tag, &ok);
      while (true) {
        switch (queue.AsyncNext(&tag, &ok, gpr_time_0(GPR_CLOCK_MONOTONIC))) {
          case grpc::CompletionQueue::GOT_EVENT: return true;
          case grpc::CompletionQueue::SHUTDOWN: return false;
          case grpc::CompletionQueue::TIMEOUT: break;
        }
      }
    };
    while (in_flight > 0 && next()) {
      std::unique_ptr<Call> call(static_cast<Call*>(tag));
      const absl::Time now = absl::Now();
      const bool answered = ok && call->status.ok();
      recorder.Record(now - call->sent, answered, now);
      if (!answered) {
        ReportError(absl::Status(static_cast<absl::StatusCode>(call->status.error_code()),
                                 call->status.error_message()));
      }
      if (now < end) {
        start_call();
      } else {
        --in_flight;
      }
    }
    queue.Shutdown();
    while (queue.Next(&tag, &ok)) {
    }
  }

  const tristage::v1::PredictRequest& Next() {
    return requests_[next_.fetch_add(1) % requests_.size()];
  }
  void ReportError(const absl::Status& status) {
    absl::MutexLock lock(&error_mu_);
    if (reported_++ < 5) std::cerr << "loadgen: " << status << "\n";
  }

  tristage::client::TristageClient* const client_;
  const std::shared_ptr<grpc::Channel> channel_;  // --client cq's own channel
  const std::vector<tristage::v1::PredictRequest> requests_;
  std::vector<RestRequest> rest_;  // requests_ over HTTP/REST, with --rest
  std::atomic<uint64_t> next_{0};
  absl::Mutex error_mu_;
  int reported_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  // As in tristage-server: Debian's Abseil leaves absl::Mutex deadlock detection on (no NDEBUG).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  Flags flags;
  if (!ParseFlags(argc, argv, flags)) {
    std::cerr << "usage: loadgen --server HOST:PORT --model NAME --dataset FILE "
                 "[--rows_per_request N] [--concurrency 1,2,4] [--duration_s S] [--warmup_s S] "
                 "[--rate R] [--client async|cq|sync] [--busy_poll] [--rpc predict|metadata] "
                 "[--streams S] [--json OUT] [--rest HOST:PORT --rpc "
                 "rest-json|rest-binary|rest-records --client sync]\n";
    return 2;
  }
  tristage::client::TristageClient::Options client_options;
  client_options.timeout = absl::Seconds(30);
  auto client = tristage::client::TristageClient::Create(flags.server, client_options);
  if (!client.ok()) {
    std::cerr << client.status() << "\n";
    return 1;
  }
  auto metadata = (*client)->ModelMetadata(flags.model);
  auto table = tristage::ReadDataset(flags.dataset);
  if (!metadata.ok() || !table.ok()) {
    std::cerr << (metadata.ok() ? table.status() : metadata.status()) << "\n";
    return 1;
  }
  std::vector<tristage::v1::PredictRequest> requests;
  for (int64_t begin = 0; begin + flags.rows_per_request <= table->num_rows();
       begin += flags.rows_per_request) {
    tristage::v1::PredictRequest request;
    request.set_model_name(flags.model);
    for (const auto& input : metadata->inputs()) {
      const tristage::data::Column& column = **table->Get(input.column());
      auto* values = (*request.mutable_inputs())[input.name()].mutable_strings()->mutable_values();
      for (int64_t row = begin; row < begin + flags.rows_per_request; ++row) {
        values->Add(std::string(column.values[row]));
      }
    }
    requests.push_back(std::move(request));
  }
  const tristage::SystemInfo system = tristage::CollectSystemInfo();
  std::cout << "machine: " << system.hardware_threads << " hardware threads, BLAS "
            << system.blas_kind << "; server " << flags.server << ", model " << flags.model << ", "
            << flags.rows_per_request << " row(s) per request\n";
  Load load(client->get(), grpc::CreateChannel(flags.server, grpc::InsecureChannelCredentials()),
            std::move(requests), flags.rest_body);
  json levels = json::array();
  if (flags.rate > 0) {
    levels.push_back(load.Open(flags));
  } else {
    for (int c : flags.concurrency) levels.push_back(load.Closed(c, flags));
  }
  for (const json& level : levels) {
    std::cout << absl::StrFormat(
        "%s %6s  %9.1f req/s %10.1f rows/s  p50 %8.0f us  p90 %8.0f us  p99 %8.0f us  max %8.0f "
        "us  errors %lld\n",
        level.contains("concurrency") ? "concurrency" : "rate",
        level.contains("concurrency") ? std::to_string(level["concurrency"].get<int>())
                                      : absl::StrFormat("%.0f", flags.rate),
        level["requests_per_s"].get<double>(), level["rows_per_s"].get<double>(),
        level["p50_us"].get<double>(), level["p90_us"].get<double>(), level["p99_us"].get<double>(),
        level["max_us"].get<double>(), static_cast<long long>(level["errors"].get<int64_t>()));
  }
  const json summary = {{"server", flags.server},
                        {"model", flags.model},
                        {"rows_per_request", flags.rows_per_request},
                        {"hardware_threads", system.hardware_threads},
                        {"levels", levels}};
  if (!flags.json_path.empty()) std::ofstream(flags.json_path) << summary.dump(2) << "\n";
  std::cout << summary.dump() << "\n";
  return 0;
}
