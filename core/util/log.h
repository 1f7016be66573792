// Minimal leveled logging to stderr, shared by the daemon and the CLI.
//
// Abseil 20220623 has no absl/log, and the project keeps its dependencies to Debian's fixed set, so
// this is a few lines rather than a library. Lines look like
//   2026-11-23T18:40:48.123Z I server.cc:42] listening on 127.0.0.1:8001
// Thread safety: Log() may be called from any thread; each line is written with one write(2).
#ifndef TRISTAGE_CORE_UTIL_LOG_H_
#define TRISTAGE_CORE_UTIL_LOG_H_

#include <sstream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tristage {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Parses "debug", "info", "warning" (or "warn"), "error"; InvalidArgument otherwise.
absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view text);

void SetMinLogLevel(LogLevel level);
LogLevel MinLogLevel();

void Log(LogLevel level, const char* file, int line, absl::string_view message);

namespace log_internal {
// Collects one message and writes it on destruction.
class LogLine {
 public:
  LogLine(LogLevel level, const char* file, int line) : level_(level), file_(file), line_(line) {}
  ~LogLine() { Log(level_, file_, line_, stream_.str()); }
  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  const char* file_;
  int line_;
  std::ostringstream stream_;
};
}  // namespace log_internal

}  // namespace tristage

// TRISTAGE_LOG(Info) << "text"; the message is built only when the level is enabled. The loop form
// keeps the macro safe inside an unbraced if/else.
#define TRISTAGE_LOG(severity)                                                                 \
  for (bool tristage_log_on_ = ::tristage::LogLevel::k##severity >= ::tristage::MinLogLevel(); \
       tristage_log_on_; tristage_log_on_ = false)                                             \
  ::tristage::log_internal::LogLine(::tristage::LogLevel::k##severity, __FILE__, __LINE__).stream()

#endif  // TRISTAGE_CORE_UTIL_LOG_H_
