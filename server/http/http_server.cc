#include "server/http/http_server.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <regex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "core/util/log.h"
#include "core/util/names.h"
#include "core/util/status_macros.h"
#include "httplib.h"
#include "server/http/listener.h"
#include "server/http/rest_codec.h"
#include "server/rpc/auth.h"
#include "server/rpc/decode.h"
#include "server/rpc/kserve_service.h"
#include "server/rpc/submit.h"

namespace tristage::server::http {

namespace {

void Send(const RestAnswer& answer, httplib::Response& response) {
  response.status = answer.status;
  if (answer.json_length.has_value()) {
    response.set_header("Inference-Header-Content-Length", std::to_string(*answer.json_length));
  }
  response.set_content(answer.body, answer.content_type.c_str());
}

void SendError(const absl::Status& status, httplib::Response& response) {
  Send(ErrorAnswer(status), response);
}

// The path pattern's group `group` ("" when it did not match, e.g. no /versions/{v}).
std::string Group(const httplib::Request& request, size_t group) {
  return request.matches.size() > group ? request.matches[group].str() : std::string();
}

std::optional<std::string> Header(const httplib::Request& request, const char* name) {
  if (!request.has_header(name)) return std::nullopt;
  return request.get_header_value(name);
}

// The request's deadline: the earlier of its Timeout header and `parameter` (from the body).
absl::StatusOr<absl::Time> Deadline(const httplib::Request& request, absl::Duration parameter) {
  absl::Duration timeout = parameter;
  if (std::optional<std::string> header = Header(request, "Timeout")) {
    absl::StatusOr<absl::Duration> parsed = ParseTimeoutSeconds("the Timeout header", *header);
    if (!parsed.ok()) return parsed.status();
    timeout = std::min(timeout, *parsed);
  }
  return timeout == absl::InfiniteDuration() ? absl::InfiniteFuture() : absl::Now() + timeout;
}

// Submits to the model and waits (this worker) for the answer.
struct Answered {
  absl::StatusOr<exporting::OutputMap> outputs = absl::UnknownError("not answered");
  int64_t version = 0;
};
Answered SubmitAndWait(ModelManager* models, const std::string& model, const std::string& version,
                       const exporting::InputColumns& inputs, absl::Time deadline) {
  Answered answered;
  absl::Notification done;
  SubmitToModel(models, model, version, inputs, deadline, /*may_run_inline=*/true, nullptr,
                [&answered, &done](absl::StatusOr<exporting::OutputMap> outputs, int64_t v) {
                  answered.outputs = std::move(outputs);
                  answered.version = v;
                  done.Notify();
                });
  done.WaitForNotification();
  return answered;
}

// The routes, for telling 405 from 404.
struct RouteSpec {
  const char* method;
  const char* pattern;
};
constexpr char kRecords[] = "/v1/models/([^/:]+)(?:/versions/([^/:]+))?:predict";

}  // namespace

HttpServer::HttpServer(HttpServerOptions options, ModelManager* models, Drain* drain)
    : options_(std::move(options)), models_(models), drain_(drain) {}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(const HttpServerOptions& options,
                                                               ModelManager* models, Drain* drain) {
  std::unique_ptr<HttpServer> server(new HttpServer(options, models, drain));
  if (options.tls_cert.empty()) {
    server->server_ = std::make_unique<httplib::Server>();
  } else {
    auto tls = std::make_unique<httplib::SSLServer>(
        options.tls_cert.c_str(), options.tls_key.c_str(),
        options.tls_client_ca.empty() ? nullptr : options.tls_client_ca.c_str());
    if (!tls->is_valid()) {
      return absl::InvalidArgumentError(
          absl::StrCat("HTTP: cannot load the TLS certificate '", options.tls_cert, "', key '",
                       options.tls_key, "'", options.tls_client_ca.empty() ? "" : " or client CA '",
                       options.tls_client_ca, options.tls_client_ca.empty() ? "" : "'"));
    }
    server->server_ = std::move(tls);
  }
  httplib::Server& http = *server->server_;
  http.set_tcp_nodelay(true);
  http.set_payload_max_length(options.max_body_bytes);
  http.set_read_timeout(5, 0);
  http.set_write_timeout(5, 0);
  http.set_keep_alive_timeout(5);
  http.set_keep_alive_max_count(1000);
  server->Route();

  HttpListener::Options listen;
  listen.what = "http";
  listen.bind_address = options.bind_address;
  listen.port = options.port;
  listen.workers = options.threads;
  TRISTAGE_ASSIGN_OR_RETURN(server->listener_, HttpListener::Start(http, listen));
  return server;
}

void HttpServer::Route() {
  httplib::Server& http = *server_;
  static const RouteSpec kRoutes[] = {
      {"GET", "/v2"},
      {"GET", "/v2/health/live"},
      {"GET", "/v2/health/ready"},
      {"GET", "/v2/models/stats"},
      {"GET", "/v2/models/([^/]+)(?:/versions/([^/]+))?/stats"},
      {"GET", "/v2/models/([^/]+)(?:/versions/([^/]+))?/ready"},
      {"GET", "/v2/models/([^/]+)(?:/versions/([^/]+))?"},
      {"POST", "/v2/models/([^/]+)(?:/versions/([^/]+))?/infer"},
      {"POST", "/v2/repository/index"},
      {"POST", "/v2/repository/models/([^/]+)/load"},
      {"POST", "/v2/repository/models/([^/]+)/unload"},
      {"POST", kRecords},
  };

  http.Get("/v2", [](const httplib::Request&, httplib::Response& res) {
    inference::ServerMetadataResponse metadata;
    KServeServerMetadata(metadata);
    Send(JsonAnswer(200, ServerMetadataJson(metadata)), res);
  });
  http.Get("/v2/health/live", [](const httplib::Request&, httplib::Response& res) {
    Send(JsonAnswer(200, R"({"live":true})"), res);
  });
  http.Get("/v2/health/ready", [this](const httplib::Request&, httplib::Response& res) {
    const bool ready = drain_->ready();
    Send(JsonAnswer(ready ? 200 : 400, ready ? R"({"ready":true})" : R"({"ready":false})"), res);
  });
  auto stats = [this](const httplib::Request& req, httplib::Response& res) {
    inference::ModelStatisticsResponse response;
    absl::Status status = KServeModelStatistics(*models_, Group(req, 1), Group(req, 2), response);
    if (!status.ok()) return SendError(status, res);
    Send(JsonAnswer(200, ModelStatisticsJson(response)), res);
  };
  http.Get("/v2/models/stats", stats);
  http.Get("/v2/models/([^/]+)(?:/versions/([^/]+))?/stats", stats);
  http.Get("/v2/models/([^/]+)(?:/versions/([^/]+))?/ready",
           [this](const httplib::Request& req, httplib::Response& res) {
             absl::StatusOr<bool> ready = KServeModelReady(*models_, Group(req, 1), Group(req, 2));
             if (!ready.ok()) return SendError(ready.status(), res);
             nlohmann::json body = {{"name", Group(req, 1)}, {"ready", *ready}};
             Send(JsonAnswer(*ready ? 200 : 400,
                             body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)),
                  res);
           });
  http.Get("/v2/models/([^/]+)(?:/versions/([^/]+))?", [this](const httplib::Request& req,
                                                              httplib::Response& res) {
    inference::ModelMetadataResponse metadata;
    absl::Status status = KServeModelMetadata(*models_, Group(req, 1), Group(req, 2), metadata);
    if (!status.ok()) return SendError(status, res);
    Send(JsonAnswer(200, ModelMetadataJson(metadata)), res);
  });
  http.Post("/v2/models/([^/]+)(?:/versions/([^/]+))?/infer",
            [this](const httplib::Request& req, httplib::Response& res) {
              Drain::Call call = drain_->Begin();
              if (!call) return SendError(absl::UnavailableError(Drain::kShuttingDown), res);
              absl::StatusOr<RestInferRequest> parsed =
                  ParseInferRequest(req.body, Header(req, "Inference-Header-Content-Length"));
              if (!parsed.ok()) return SendError(parsed.status(), res);
              inference::ModelInferRequest& request = parsed->request;
              request.set_model_name(Group(req, 1));
              request.set_model_version(Group(req, 2));
              absl::StatusOr<exporting::InputColumns> inputs = InputsFromInferRequest(request);
              if (!inputs.ok()) return SendError(inputs.status(), res);
              absl::StatusOr<absl::Time> deadline = Deadline(req, parsed->timeout);
              if (!deadline.ok()) return SendError(deadline.status(), res);
              Answered answered = SubmitAndWait(models_, request.model_name(),
                                                request.model_version(), *inputs, *deadline);
              if (!answered.outputs.ok()) return SendError(answered.outputs.status(), res);
              inference::ModelInferResponse response;
              response.set_model_name(request.model_name());
              response.set_model_version(std::to_string(answered.version));
              response.set_id(request.id());
              absl::Status status = OutputsToInferResponse(*answered.outputs, request, response);
              if (!status.ok()) return SendError(status, res);
              Send(InferAnswer(response, *parsed), res);
            });
  http.Post(kRecords, [this](const httplib::Request& req, httplib::Response& res) {
    Drain::Call call = drain_->Begin();
    if (!call) return SendError(absl::UnavailableError(Drain::kShuttingDown), res);
    absl::StatusOr<exporting::InputColumns> inputs = ParseRecords(req.body);
    if (!inputs.ok()) return SendError(inputs.status(), res);
    absl::StatusOr<absl::Time> deadline = Deadline(req, absl::InfiniteDuration());
    if (!deadline.ok()) return SendError(deadline.status(), res);
    const std::string model = Group(req, 1);
    Answered answered = SubmitAndWait(models_, model, Group(req, 2), *inputs, *deadline);
    if (!answered.outputs.ok()) return SendError(answered.outputs.status(), res);
    absl::StatusOr<std::string> body = RecordsAnswer(*answered.outputs, model, answered.version);
    if (!body.ok()) return SendError(body.status(), res);
    Send(JsonAnswer(200, *body), res);
  });

  // The repository extension: authorized, and load/unload wait for the model manager.
  auto authorized = [this](const httplib::Request& req, httplib::Response& res) {
    std::optional<std::string> header = Header(req, "Authorization");
    absl::Status status =
        CheckAuthorizationHeader(header.has_value() ? &*header : nullptr, options_.auth_token);
    if (!status.ok()) SendError(status, res);
    return status.ok();
  };
  http.Post("/v2/repository/index", [this, authorized](const httplib::Request& req,
                                                       httplib::Response& res) {
    if (!authorized(req, res)) return;
    bool ready_only = false;
    if (!req.body.empty()) {
      nlohmann::json body = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
      if (body.is_discarded() || !body.is_object()) {
        return SendError(absl::InvalidArgumentError(
                             "the request body: must be a JSON object such as {\"ready\": true}"),
                         res);
      }
      if (auto it = body.find("ready"); it != body.end()) {
        if (!it->is_boolean()) {
          return SendError(absl::InvalidArgumentError("ready: must be a boolean"), res);
        }
        ready_only = it->get<bool>();
      }
    }
    inference::RepositoryIndexResponse response;
    KServeRepositoryIndex(*models_, ready_only, response);
    Send(JsonAnswer(200, RepositoryIndexJson(response)), res);
  });
  auto control = [this, authorized](bool load) {
    return [this, authorized, load](const httplib::Request& req, httplib::Response& res) {
      if (!authorized(req, res)) return;
      Drain::Call call = drain_->Begin();
      if (!call) return SendError(absl::UnavailableError(Drain::kShuttingDown), res);
      const std::string model = Group(req, 1);
      absl::Status status = CheckName("model_name", model);
      if (status.ok()) status = load ? models_->Load(model) : models_->Unload(model);
      if (!status.ok()) return SendError(status, res);
      Send(JsonAnswer(200, "{}"), res);
    };
  };
  http.Post("/v2/repository/models/([^/]+)/load", control(true));
  http.Post("/v2/repository/models/([^/]+)/unload", control(false));

  // Errors the library answers itself (no route, bad method, body too large, malformed request)
  // get a JSON body too; a known path asked with another method is 405.
  http.set_error_handler(httplib::Server::HandlerWithResponse(
      [this](const httplib::Request& req,
             httplib::Response& res) -> httplib::Server::HandlerResponse {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;  // ours
        std::string message;
        if (res.status == 404) {
          std::vector<std::string> allowed;
          for (const RouteSpec& route : kRoutes) {
            if (std::regex_match(req.path, std::regex(route.pattern)) &&
                std::find(allowed.begin(), allowed.end(), route.method) == allowed.end()) {
              allowed.push_back(route.method);
            }
          }
          if (!allowed.empty()) {
            res.status = 405;
            res.set_header("Allow", absl::StrJoin(allowed, ", "));
            message = absl::StrCat(req.method, " is not allowed on ", req.path.substr(0, 256),
                                   " (allowed: ", absl::StrJoin(allowed, ", "), ")");
          } else {
            message = absl::StrCat("no such path: ", req.method, " ", req.path.substr(0, 256));
          }
        } else if (res.status == 413) {
          message = absl::StrCat("the request body is over ", options_.max_body_bytes,
                                 " bytes (--max-message-bytes)");
        } else if (res.status == 400) {
          message = "malformed HTTP request";
        } else {
          message = absl::StrCat("HTTP ", res.status);
        }
        res.set_content(nlohmann::json{{"error", message}}.dump(
                            -1, ' ', false, nlohmann::json::error_handler_t::replace),
                        "application/json");
        return httplib::Server::HandlerResponse::Handled;
      }));
  http.set_exception_handler([](const httplib::Request& req, httplib::Response& res,
                                std::exception_ptr error) {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    TRISTAGE_LOG(Error) << "http: " << req.method << " " << req.path.substr(0, 256) << ": " << what;
    SendError(absl::InternalError(absl::StrCat("internal error: ", what)), res);
  });
}

int HttpServer::port() const {
  return listener_ == nullptr ? 0 : listener_->port();
}

void HttpServer::Stop() {
  if (listener_ != nullptr) listener_->Stop();
}

HttpServer::~HttpServer() {
  Stop();
}

}  // namespace tristage::server::http
