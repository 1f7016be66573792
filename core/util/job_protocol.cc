#include "core/util/job_protocol.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"

namespace tristage::job_protocol {
namespace {

using nlohmann::json;

// A count field: absent is 0; otherwise a whole number from 0 to kMaxCount.
absl::Status ReadCount(const json& line, const char* name, int64_t* out) {
  auto it = line.find(name);
  if (it == line.end()) return absl::OkStatus();
  const bool whole = it->is_number_unsigned() ||
                     (it->is_number_integer() && it->get<int64_t>() >= 0) ||
                     (it->is_number_float() && std::isfinite(it->get<double>()) &&
                      it->get<double>() >= 0 && std::floor(it->get<double>()) == it->get<double>());
  if (!whole || it->get<double>() > static_cast<double>(kMaxCount)) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": ", it->dump(-1, ' ', false, json::error_handler_t::replace),
        " is not a whole number from 0 to ", kMaxCount));
  }
  *out = static_cast<int64_t>(it->get<double>());
  if (it->is_number_integer()) *out = it->get<int64_t>();
  return absl::OkStatus();
}

absl::Status ReadString(const json& line, const char* name, std::string* out) {
  auto it = line.find(name);
  if (it == line.end()) return absl::OkStatus();
  if (!it->is_string()) return absl::InvalidArgumentError(absl::StrCat(name, ": not a string"));
  *out = it->get<std::string>();
  return absl::OkStatus();
}

absl::Status ReadObject(const json& line, const char* name, json* out) {
  auto it = line.find(name);
  if (it == line.end()) return absl::OkStatus();
  if (!it->is_object()) return absl::InvalidArgumentError(absl::StrCat(name, ": not an object"));
  *out = *it;
  return absl::OkStatus();
}

// Keeps the finite numbers of {split: {feature: {metric: value}}}; drops everything else.
json FiniteMetrics(const json& metrics) {
  json kept = json::object();
  for (const auto& [split, features] : metrics.items()) {
    if (!features.is_object()) continue;
    for (const auto& [feature, values] : features.items()) {
      if (!values.is_object()) continue;
      for (const auto& [metric, value] : values.items()) {
        if (value.is_number() && std::isfinite(value.get<double>())) {
          kept[split][feature][metric] = value;
        }
      }
    }
  }
  return kept;
}

#define PROTOCOL_RETURN_IF_ERROR(expr)   \
  do {                                   \
    absl::Status status_ = (expr);       \
    if (!status_.ok()) return status_;   \
  } while (false)

absl::StatusOr<Event> ParseProgress(const json& line) {
  Event event;
  event.type = Event::Type::kProgress;
  Progress& p = event.progress;
  PROTOCOL_RETURN_IF_ERROR(ReadCount(line, "epoch", &p.epoch));
  PROTOCOL_RETURN_IF_ERROR(ReadCount(line, "total_epochs", &p.total_epochs));
  PROTOCOL_RETURN_IF_ERROR(ReadCount(line, "step", &p.step));
  if (auto it = line.find("improved"); it != line.end()) {
    if (!it->is_boolean()) return absl::InvalidArgumentError("improved: not true or false");
    p.improved = it->get<bool>();
  }
  json metrics = json::object();
  PROTOCOL_RETURN_IF_ERROR(ReadObject(line, "metrics", &metrics));
  p.metrics = FiniteMetrics(metrics);
  PROTOCOL_RETURN_IF_ERROR(ReadString(line, "validation_field", &p.validation_field));
  PROTOCOL_RETURN_IF_ERROR(ReadString(line, "validation_metric", &p.validation_metric));
  return event;
}

absl::StatusOr<Event> ParseResult(const json& line) {
  Event event;
  event.type = Event::Type::kResult;
  Result& r = event.result;
  PROTOCOL_RETURN_IF_ERROR(ReadString(line, "model_dir", &r.model_dir));
  PROTOCOL_RETURN_IF_ERROR(ReadString(line, "output_dir", &r.output_dir));
  PROTOCOL_RETURN_IF_ERROR(ReadObject(line, "training_statistics", &r.training_statistics));
  PROTOCOL_RETURN_IF_ERROR(ReadCount(line, "best_epoch", &r.best_epoch));
  return event;
}

absl::StatusOr<Event> ParseError(const json& line) {
  Event event;
  event.type = Event::Type::kError;
  PROTOCOL_RETURN_IF_ERROR(ReadString(line, "code", &event.error.code));
  PROTOCOL_RETURN_IF_ERROR(ReadString(line, "message", &event.error.message));
  return event;
}

#undef PROTOCOL_RETURN_IF_ERROR

// The parser's message quotes the bytes it stopped at: keep printable ASCII only, so the report
// is valid UTF-8 wherever it goes (a log line, a gRPC string).
std::string Printable(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

}  // namespace

const char* TypeName(Event::Type type) {
  switch (type) {
    case Event::Type::kProgress: return "progress";
    case Event::Type::kResult: return "result";
    case Event::Type::kError: return "error";
  }
  return "unknown";
}

std::string Serialize(const Event& event) {
  json line = {{"v", kVersion}, {"type", TypeName(event.type)}};
  switch (event.type) {
    case Event::Type::kProgress: {
      const Progress& p = event.progress;
      line["epoch"] = p.epoch;
      line["total_epochs"] = p.total_epochs;
      line["step"] = p.step;
      line["improved"] = p.improved;
      line["metrics"] = FiniteMetrics(p.metrics);
      line["validation_field"] = p.validation_field;
      line["validation_metric"] = p.validation_metric;
      break;
    }
    case Event::Type::kResult: {
      const Result& r = event.result;
      if (!r.model_dir.empty()) line["model_dir"] = r.model_dir;
      if (!r.output_dir.empty()) line["output_dir"] = r.output_dir;
      if (!r.training_statistics.empty()) line["training_statistics"] = r.training_statistics;
      if (r.best_epoch > 0) line["best_epoch"] = r.best_epoch;
      break;
    }
    case Event::Type::kError:
      line["code"] = event.error.code;
      line["message"] = event.error.message;
      break;
  }
  // Invalid UTF-8 in a path or message becomes U+FFFD rather than an exception.
  return line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

Event MakeProgress(Progress progress) {
  Event event;
  event.type = Event::Type::kProgress;
  event.progress = std::move(progress);
  return event;
}

Event MakeResult(Result result) {
  Event event;
  event.type = Event::Type::kResult;
  event.result = std::move(result);
  return event;
}

Event MakeError(const absl::Status& status) {
  Event event;
  event.type = Event::Type::kError;
  event.error.code = absl::StatusCodeToString(status.code());
  event.error.message = std::string(status.message());
  return event;
}

absl::StatusOr<std::optional<Event>> ParseLine(absl::string_view text) {
  if (text.size() > kMaxLineBytes) {
    return absl::InvalidArgumentError(absl::StrCat("longer than ", kMaxLineBytes, " bytes"));
  }
  if (text.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError("contains a NUL byte");
  }
  json line;
  try {
    line = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("not JSON: ", Printable(e.what())));
  }
  if (!line.is_object()) return absl::InvalidArgumentError("not a JSON object");
  auto version = line.find("v");
  if (version == line.end() || !version->is_number_integer()) {
    return absl::InvalidArgumentError("no protocol version \"v\"");
  }
  if (version->get<int64_t>() != kVersion) {
    return absl::InvalidArgumentError(absl::StrCat(
        "protocol version ", version->dump(), " is not ", kVersion, ", the one this reader speaks"));
  }
  auto type = line.find("type");
  if (type == line.end() || !type->is_string()) {
    return absl::InvalidArgumentError("no \"type\" string");
  }
  const std::string& name = type->get_ref<const std::string&>();
  absl::StatusOr<Event> event = absl::InternalError("unreached");
  if (name == "progress") {
    event = ParseProgress(line);
  } else if (name == "result") {
    event = ParseResult(line);
  } else if (name == "error") {
    event = ParseError(line);
  } else {
    return std::optional<Event>();  // rule 3: a type of a newer writer
  }
  if (!event.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(name, " event: ", event.status().message()));
  }
  return std::optional<Event>(*std::move(event));
}

absl::StatusOr<std::unique_ptr<EventWriter>> EventWriter::ForFd(int fd) {
  if (fd < 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", kEventsFdFlag, ": ", fd, " is not a descriptor for events (0-2 are the human streams)"));
  }
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || (flags & O_ACCMODE) == O_RDONLY) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", kEventsFdFlag, ": descriptor ", fd, " is not open for writing"));
  }
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  return std::make_unique<EventWriter>([fd](absl::string_view line) -> absl::Status {
    // A reader that went away must not kill the writer with SIGPIPE: block it for this write on
    // this thread and consume it if it came (the process's dispositions stay untouched).
    sigset_t pipe_signal, previous;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_signal, &previous);
    absl::Status status;
    while (!line.empty()) {
      const ssize_t n = write(fd, line.data(), line.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int error = errno;
        status = absl::InternalError(absl::StrCat("writing a job event: ",
                                                  std::generic_category().message(error)));
        if (error == EPIPE && !sigismember(&previous, SIGPIPE)) {
          const timespec zero = {0, 0};
          while (sigtimedwait(&pipe_signal, nullptr, &zero) < 0 && errno == EINTR) {
          }
        }
        break;
      }
      line.remove_prefix(static_cast<size_t>(n));
    }
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    return status;
  });
}

absl::Status EventWriter::Write(const Event& event) {
  const std::string line = Serialize(event);
  absl::MutexLock lock(&mu_);
  return sink_(line);
}

EventReader::EventReader(OnEvent on_event, OnError on_error, size_t max_line_bytes)
    : on_event_(std::move(on_event)),
      on_error_(std::move(on_error)),
      max_line_bytes_(max_line_bytes),
      splitter_(max_line_bytes) {}

void EventReader::Feed(absl::string_view bytes) {
  splitter_.Feed(bytes, [this](absl::string_view piece, bool complete) { OnPiece(piece, complete); });
}

void EventReader::Finish() {
  splitter_.Finish([this](absl::string_view piece, bool complete) { OnPiece(piece, complete); });
}

void EventReader::OnPiece(absl::string_view piece, bool complete) {
  if (!complete) {  // a line over the limit: its pieces are dropped, the line refused at its end
    too_long_ = true;
    return;
  }
  ++lines_;
  absl::StatusOr<std::optional<Event>> event =
      too_long_ ? absl::InvalidArgumentError(absl::StrCat("longer than ", max_line_bytes_,
                                                          " bytes (skipped)"))
                : ParseLine(piece);
  too_long_ = false;
  if (!event.ok()) {
    ++errors_;
    if (on_error_) {
      on_error_(absl::InvalidArgumentError(
          absl::StrCat("job events line ", lines_, ": ", event.status().message())));
    }
    return;
  }
  if (!event->has_value()) {
    ++skipped_unknown_;
    return;
  }
  if (on_event_) on_event_(**event);
}

}  // namespace tristage::job_protocol
