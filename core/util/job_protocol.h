// The job protocol: how a child process running a tristage verb reports to the process that
// started it (the daemon's jobs in server/jobs, hyperopt's trials in core/hyperopt): versioned
// JSON lines on a descriptor of their own, never the human log. docs/jobs.md is the reference.
//
//   {"v":1,"type":"progress","epoch":2,"total_epochs":30,"step":76,"improved":true,
//    "validation_field":"label","validation_metric":"roc_auc",
//    "metrics":{"validation":{"combined":{"loss":0.41},"label":{"roc_auc":0.86}}}}
//   {"v":1,"type":"result","model_dir":"/abs/.../model","output_dir":"/abs/...", ...}
//   {"v":1,"type":"error","code":"INVALID_ARGUMENT","message":"..."}
//
// Rules (the reader enforces them; the writer only writes such lines):
//  1. One JSON object per line, UTF-8, at most kMaxLineBytes bytes before the '\n'.
//  2. "v" is the protocol's major version, 1. It changes only for incompatible changes; a line
//     with another "v" is refused (reported, skipped). New types and fields keep v at 1.
//  3. An unknown "type" is skipped silently, and so is an unknown field (forward compatible).
//  4. A known field with the wrong JSON type, or a count (epoch, total_epochs, step, best_epoch)
//     that is not a whole number from 0 to kMaxCount, makes the line malformed: reported, skipped.
//     Metric values that are not finite numbers are dropped (the line stays valid).
//  5. A malformed line (not JSON, NUL bytes, invalid UTF-8, too long, rule 2 or 4) never ends the
//     stream: the reader reports it with its line number and goes on with the next line. Memory
//     stays under kMaxLineBytes per stream whatever the child writes.
// Thread safety: EventWriter is safe from any thread; EventReader has one owner.
#ifndef TRISTAGE_CORE_UTIL_JOB_PROTOCOL_H_
#define TRISTAGE_CORE_UTIL_JOB_PROTOCOL_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "core/util/line_splitter.h"
#include "nlohmann/json.hpp"

namespace tristage::job_protocol {

inline constexpr int kVersion = 1;
inline constexpr size_t kMaxLineBytes = size_t{1} << 20;  // 1 MiB
inline constexpr int64_t kMaxCount = int64_t{1} << 53;    // exact in a double
// The CLI flag naming the descriptor the events go to (`--job_events_fd N`) and the descriptor
// number ChildProcess gives the child's events pipe.
inline constexpr char kEventsFdFlag[] = "job_events_fd";
inline constexpr int kChildEventsFd = 3;

// After each epoch of training.
struct Progress {
  int64_t epoch = 0;         // from 1
  int64_t total_epochs = 0;  // 0 when bounded by steps
  int64_t step = 0;          // optimizer steps so far
  bool improved = false;     // a new best epoch
  // {"training"|"validation"|"test": {feature | "combined": {metric: value}}}; finite numbers only.
  nlohmann::json metrics = nlohmann::json::object();
  // The trainer's validation_field and validation_metric (what early stopping watches).
  std::string validation_field;
  std::string validation_metric;
};

// Once, when the verb succeeded; every field optional.
struct Result {
  std::string model_dir;   // the trained model's directory (train, experiment, hyperopt's best)
  std::string output_dir;  // where the verb wrote its files
  // Hyperopt trials: Ludwig's training statistics and the epoch whose weights were kept.
  nlohmann::json training_statistics = nlohmann::json::object();
  int64_t best_epoch = 0;
};

// Once, when the verb failed: what it prints as "tristage <verb>: <message>".
struct Error {
  std::string code;  // absl::StatusCodeToString: "INVALID_ARGUMENT", "NOT_FOUND", ...
  std::string message;
};

struct Event {
  enum class Type { kProgress, kResult, kError };
  Type type = Type::kProgress;
  Progress progress;  // kProgress
  Result result;      // kResult
  Error error;        // kError
};

// "progress", "result", "error".
const char* TypeName(Event::Type type);

// The line for `event`, '\n' included.
std::string Serialize(const Event& event);
Event MakeProgress(Progress progress);
Event MakeResult(Result result);
Event MakeError(const absl::Status& status);

// One line (without '\n'). nullopt: a valid line of a type this reader does not know (skip it).
// InvalidArgument describing what is wrong with a malformed line (rules 1-4).
absl::StatusOr<std::optional<Event>> ParseLine(absl::string_view line);

// Writes events as lines to a sink (a descriptor, or a test's string).
class EventWriter {
 public:
  using Sink = std::function<absl::Status(absl::string_view line)>;
  explicit EventWriter(Sink sink) : sink_(std::move(sink)) {}

  // A writer to descriptor `fd` (not owned, never closed; marked close-on-exec so children do not
  // inherit it). InvalidArgument when `fd` is below 3 (the human streams) or not open for writing.
  static absl::StatusOr<std::unique_ptr<EventWriter>> ForFd(int fd);

  // Internal when the sink fails (the reader is gone); callers usually carry on regardless.
  absl::Status Write(const Event& event);

 private:
  absl::Mutex mu_;
  Sink sink_ ABSL_GUARDED_BY(mu_);
};

// Reads a stream of event lines fed in arbitrary chunks.
class EventReader {
 public:
  using OnEvent = std::function<void(const Event&)>;
  // A malformed line: InvalidArgument "job events line <n>: <what>".
  using OnError = std::function<void(const absl::Status&)>;

  EventReader(OnEvent on_event, OnError on_error, size_t max_line_bytes = kMaxLineBytes);

  void Feed(absl::string_view bytes);
  // End of the stream: an unterminated last line is parsed too (a child that died mid-line makes
  // it malformed).
  void Finish();

  int64_t lines() const { return lines_; }
  int64_t errors() const { return errors_; }
  int64_t skipped_unknown() const { return skipped_unknown_; }

 private:
  void OnPiece(absl::string_view piece, bool complete);

  const OnEvent on_event_;
  const OnError on_error_;
  const size_t max_line_bytes_;
  LineSplitter splitter_;
  bool too_long_ = false;  // the current line was cut: refuse it when it ends
  int64_t lines_ = 0;
  int64_t errors_ = 0;
  int64_t skipped_unknown_ = 0;
};

}  // namespace tristage::job_protocol

#endif  // TRISTAGE_CORE_UTIL_JOB_PROTOCOL_H_
