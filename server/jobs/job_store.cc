#include "server/jobs/job_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "core/util/files.h"
#include "core/util/log.h"
#include "core/util/status_macros.h"

namespace tristage::server::jobs {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string TimeText(absl::Time t) {
  if (t == absl::InfinitePast()) return "";
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ParseTime(const std::string& text) {
  if (text.empty()) return absl::InfinitePast();
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &error)) {
    return absl::InvalidArgumentError(absl::StrCat("time '", text, "': ", error));
  }
  return t;
}

}  // namespace

std::string FormatJobId(int64_t number) {
  return absl::StrFormat("j%06d", number);
}

int64_t JobIdNumber(absl::string_view id) {
  int64_t number = 0;
  if (!absl::ConsumePrefix(&id, "j") || !absl::SimpleAtoi(id, &number) || number < 1) return 0;
  return number;
}

json RecordToJson(const JobRecord& r) {
  return {{"id", r.id},
          {"kind", JobKindName(r.spec.kind)},
          {"state", JobStateName(r.state)},
          {"reason", r.reason},
          {"created", TimeText(r.created)},
          {"started", TimeText(r.started)},
          {"finished", TimeText(r.finished)},
          {"spec",
           {{"config", r.spec.config},
            {"dataset", r.spec.dataset},
            {"model_path", r.spec.model_path},
            {"options", r.spec.options},
            {"publish_model", r.spec.publish_model},
            {"world_size", r.spec.world_size}}},
          {"output_dir", r.output_dir},
          {"log_path", r.log_path},
          {"model_dir", r.model_dir},
          {"published_version", r.published_version},
          {"epoch", r.epoch},
          {"step", r.step},
          {"metrics", r.metrics}};
}

absl::StatusOr<JobRecord> RecordFromJson(const json& j) {
  JobRecord r;
  try {
    r.id = j.at("id").get<std::string>();
    TRISTAGE_ASSIGN_OR_RETURN(r.spec.kind, ParseJobKind(j.at("kind").get<std::string>()));
    TRISTAGE_ASSIGN_OR_RETURN(r.state, ParseJobState(j.at("state").get<std::string>()));
    r.reason = j.value("reason", "");
    TRISTAGE_ASSIGN_OR_RETURN(r.created, ParseTime(j.value("created", "")));
    TRISTAGE_ASSIGN_OR_RETURN(r.started, ParseTime(j.value("started", "")));
    TRISTAGE_ASSIGN_OR_RETURN(r.finished, ParseTime(j.value("finished", "")));
    const json& spec = j.at("spec");
    r.spec.config = spec.value("config", "");
    r.spec.dataset = spec.value("dataset", "");
    r.spec.model_path = spec.value("model_path", "");
    r.spec.options = spec.value("options", std::map<std::string, std::string>());
    r.spec.publish_model = spec.value("publish_model", "");
    r.spec.world_size = spec.value("world_size", 0);  // absent in records from before it existed
    r.output_dir = j.value("output_dir", "");
    r.log_path = j.value("log_path", "");
    r.model_dir = j.value("model_dir", "");
    r.published_version = j.value("published_version", int64_t{0});
    r.epoch = j.value("epoch", int64_t{0});
    r.step = j.value("step", int64_t{0});
    r.metrics = j.value("metrics", std::map<std::string, double>());
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(e.what());
  }
  return r;
}

absl::Status SaveRecord(const fs::path& job_dir, const JobRecord& record) {
  return WriteFileAtomically((job_dir / "job.json").string(), RecordToJson(record).dump(2) + "\n");
}

absl::StatusOr<std::vector<StoredJob>> LoadRecords(const fs::path& jobs_dir) {
  std::error_code ec;
  fs::create_directories(jobs_dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("state_dir: cannot create '", jobs_dir.string(), "': ", ec.message()));
  }
  std::vector<StoredJob> stored;
  for (const auto& entry : fs::directory_iterator(jobs_dir, ec)) {
    const fs::path file = entry.path() / "job.json";
    const int64_t number = JobIdNumber(entry.path().filename().string());
    if (number == 0 || !fs::exists(file)) continue;  // not a job, or one that never got saved
    std::ifstream in(file);
    const json parsed = json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) {
      return absl::DataLossError(absl::StrCat("'", file.string(), "' is not valid JSON"));
    }
    auto record = RecordFromJson(parsed);
    if (!record.ok()) {
      return absl::DataLossError(
          absl::StrCat("'", file.string(), "': ", record.status().message()));
    }
    stored.push_back({number, entry.path(), *std::move(record)});
  }
  if (ec) {
    return absl::InternalError(
        absl::StrCat("state_dir: cannot list '", jobs_dir.string(), "': ", ec.message()));
  }
  return stored;
}

// Two daemons on one state directory would hand out the same job ids and run a queued job twice.
// The file holds the holder's pid, for the error the second one prints. The kernel drops the lock
// when the process dies, however it dies, so a stale file never blocks a restart. A symbolic link
// in its place is refused (O_NOFOLLOW): the daemon truncates the file it opens.
absl::StatusOr<int> LockStateDir(const fs::path& state_dir) {
  const fs::path path = state_dir / "lock";
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0 && errno == ELOOP) {
    return absl::FailedPreconditionError(absl::StrCat(
        "state_dir: '", path.string(), "' is a symbolic link; remove it (the daemon writes its pid "
        "there and will not follow a link)"));
  }
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("state_dir: cannot open '", path.string(), "': ", strerror(errno)));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    char text[32] = {};
    const ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
    close(fd);
    int64_t holder = 0;
    const bool known = n > 0 && absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &holder);
    if (error == EWOULDBLOCK) {
      return absl::FailedPreconditionError(absl::StrCat(
          "state_dir '", state_dir.string(), "' is in use by another tristage-server",
          known ? absl::StrCat(" (pid ", holder, ")") : std::string(),
          "; each daemon needs its own --state-dir"));
    }
    return absl::InternalError(
        absl::StrCat("state_dir: cannot lock '", path.string(), "': ", strerror(error)));
  }
  const std::string pid = absl::StrCat(getpid(), "\n");
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    TRISTAGE_LOG(Warning) << "state_dir: cannot write the pid to '" << path.string() << "'";
  }
  return fd;
}

}  // namespace tristage::server::jobs
