// The Admin and repository RPCs' edge against a real tristage-server: every field that becomes a
// path, a process argument or a file name refuses hostile values (NUL, '/', '..', absolute paths,
// very long, non-UTF-8) and nothing is created, changed or deleted, inside or outside the state
// directory and the model repository; a job cancelled the moment it started never stops the
// daemon; one state directory has one daemon.
#include <signal.h>
#include <sys/types.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "client/lib/client.h"
#include "core/api/synthesize.h"
#include "core/data/io.h"
#include "core/util/names.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "inference/grpc_service.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "tests/testing/daemon.h"
#include "tests/testing/subprocess.h"
#include "tristage/v1/admin.grpc.pb.h"

namespace tristage {
namespace {

namespace fs = std::filesystem;
using ::tristage::testing::Daemon;

constexpr char kToken[] = "edge-token";

// Every file and directory under `dir` with its size and modification time.
std::map<std::string, std::pair<uintmax_t, int64_t>> Tree(const fs::path& dir) {
  std::map<std::string, std::pair<uintmax_t, int64_t>> tree;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const bool file = it->is_regular_file(ec);
    tree[it->path().string()] = {file ? it->file_size(ec) : 0,
                                 it->last_write_time(ec).time_since_epoch().count()};
  }
  return tree;
}

class AdminEdgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The daemon's directories sit three levels down, so a value that climbs out with '..'
    // lands in `outer_`, which is watched as a whole.
    outer_ = fs::temp_directory_path() /
             ("tristage_admin_edge_" + std::to_string(::getpid()) + "_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    root_ = outer_ / "a" / "b" / "c";
    fs::remove_all(outer_);
    for (const char* dir : {"data", "repo", "state"}) fs::create_directories(root_ / dir);
    std::ofstream(root_ / "token") << kToken << "\n";
    const nlohmann::json config = nlohmann::json::parse(R"({
      "input_features": [{"name": "x", "type": "number"}],
      "output_features": [{"name": "y", "type": "binary"}]})");
    SynthesizeOptions synth;
    synth.rows = 100;
    ASSERT_TRUE(
        data::WriteTable(*SynthesizeDataset(config, synth), (root_ / "data" / "train.csv").string())
            .ok());
    fs::create_directories(root_ / "data" / "adir");
    // A served model's files, which no refused request may touch.
    fs::create_directories(root_ / "repo" / "churn" / "1");
    std::ofstream(root_ / "repo" / "churn" / "1" / "manifest.json") << "{}\n";
    std::ofstream(root_ / "repo" / "churn" / "serving.yaml") << "max_batch_size: 8\n";
  }
  void TearDown() override {
    daemon_.reset();
    fs::remove_all(outer_);
  }

  void StartDaemon(std::vector<std::string> extra = {}) {
    std::vector<std::string> flags = {"--state-dir",          (root_ / "state").string(),
                                      "--data-root",          (root_ / "data").string(),
                                      "--model-repository",   (root_ / "repo").string(),
                                      "--model-control-mode", "explicit",
                                      "--auth-token-file",    (root_ / "token").string(),
                                      "--cli-binary",         TRISTAGE_CLI_BINARY};
    flags.insert(flags.end(), extra.begin(), extra.end());
    auto daemon = Daemon::Start(TRISTAGE_SERVER_BINARY, flags);
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = std::move(*daemon);
    auto channel = grpc::CreateChannel(daemon_->grpc_address(), grpc::InsecureChannelCredentials());
    admin_ = tristage::v1::Admin::NewStub(channel);
    kserve_ = inference::GRPCInferenceService::NewStub(channel);
  }

  std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("authorization", absl::StrCat("Bearer ", kToken));
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    return context;
  }

  tristage::v1::SubmitJobRequest Train() {
    tristage::v1::SubmitJobRequest request;
    request.set_kind(tristage::v1::TRAIN);
    request.set_config(
        "input_features: [{name: x, type: number}]\n"
        "output_features: [{name: y, type: binary}]\ntrainer: {epochs: 100000, batch_size: 16}\n");
    request.set_dataset("train.csv");
    return request;
  }

  bool DaemonAlive() {
    return ::kill(daemon_->process().pid(), 0) == 0 &&
           !daemon_->process().Wait(absl::ZeroDuration()).ok();
  }

  fs::path outer_, root_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<tristage::v1::Admin::Stub> admin_;
  std::unique_ptr<inference::GRPCInferenceService::Stub> kserve_;
};

// The hostile values sent to every field.
std::vector<std::string> HostileValues() {
  return {std::string("churn\0evil", 10),
          std::string("\0", 1),
          "churn/1",
          "/",
          "..",
          ".",
          "../../../../x/escaped",
          "../token",
          "/etc/passwd",
          std::string(300, 'a'),
          std::string(1 << 20, 'b'),
          "\xff\xfe\xfd",
          "a b",
          "-rf"};
}

TEST_F(AdminEdgeTest, EveryPathOrNameFieldRefusesHostileValuesAndNothingOnDiskChanges) {
  StartDaemon();
  const auto before = Tree(outer_);
  int refused = 0;
  // `allowed`: whether the value passes the field's allow-list; then it is refused further on
  // (no such file or job, outside the data root), with whatever code says why.
  auto expect_refused = [&](const grpc::Status& status, const std::string& field,
                            const std::string& value, bool allowed = false) {
    EXPECT_FALSE(status.ok()) << field << " = " << absl::CEscape(value.substr(0, 40));
    // Invalid UTF-8 in a proto3 string field fails to parse before any handler runs; every other
    // value reaches the edge's allow-list.
    if (!allowed && !absl::StrContains(value, "\xff")) {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
          << field << " = " << absl::CEscape(value.substr(0, 40)) << ": " << status.error_message();
      EXPECT_TRUE(absl::StrContains(status.error_message(), field))
          << field << ": " << status.error_message();
    }
    ++refused;
  };
  for (const std::string& value : HostileValues()) {
    const std::string shown = absl::CEscape(value.substr(0, 40));
    {
      auto request = Train();
      request.set_dataset(value);
      tristage::v1::SubmitJobResponse response;
      expect_refused(admin_->SubmitJob(Context().get(), request, &response), "dataset", value,
                     CheckPath("", value).ok());
    }
    {
      auto request = Train();
      request.set_dataset("upload:" + value);
      tristage::v1::SubmitJobResponse response;
      expect_refused(admin_->SubmitJob(Context().get(), request, &response), "dataset", value,
                     CheckRelativePath("", value).ok());
    }
    for (const std::string& model : {value, "job:" + value}) {
      tristage::v1::SubmitJobRequest request;
      request.set_kind(tristage::v1::EVALUATE);
      request.set_dataset("train.csv");
      request.set_model(model);
      tristage::v1::SubmitJobResponse response;
      expect_refused(admin_->SubmitJob(Context().get(), request, &response), "model", value,
                     model == value ? CheckPath("", value).ok() : CheckName("", value).ok());
    }
    for (const char* option : {"experiment_name", "model_name", "random_seed", "split"}) {
      auto request = Train();
      (*request.mutable_options())[option] = value;
      tristage::v1::SubmitJobResponse response;
      expect_refused(admin_->SubmitJob(Context().get(), request, &response),
                     absl::StrCat("options.", option), value);
    }
    {
      auto request = Train();
      (*request.mutable_options())[value] = "x";
      tristage::v1::SubmitJobResponse response;
      expect_refused(admin_->SubmitJob(Context().get(), request, &response), "options", value);
    }
    {
      auto request = Train();
      request.set_publish_model(value);
      tristage::v1::SubmitJobResponse response;
      expect_refused(admin_->SubmitJob(Context().get(), request, &response), "publish_model",
                     value);
    }
    {
      tristage::v1::GetJobRequest request;
      request.set_job_id(value);
      tristage::v1::Job job;
      expect_refused(admin_->GetJob(Context().get(), request, &job), "job_id", value,
                     CheckName("", value).ok());
    }
    {
      tristage::v1::CancelJobRequest request;
      request.set_job_id(value);
      tristage::v1::Job job;
      expect_refused(admin_->CancelJob(Context().get(), request, &job), "job_id", value,
                     CheckName("", value).ok());
    }
    {
      tristage::v1::WatchJobRequest request;
      request.set_job_id(value);
      auto context = Context();
      auto reader = admin_->WatchJob(context.get(), request);
      tristage::v1::JobEvent event;
      while (reader->Read(&event)) {
      }
      expect_refused(reader->Finish(), "job_id", value, CheckName("", value).ok());
    }
    for (const auto& [id, path] : {std::pair<std::string, std::string>{"j000001", value},
                                   {value, "experiment_run/model.tar"}}) {
      tristage::v1::GetArtifactRequest request;
      request.set_job_id(id);
      request.set_path(path);
      auto context = Context();
      auto reader = admin_->GetArtifact(context.get(), request);
      tristage::v1::ArtifactChunk chunk;
      while (reader->Read(&chunk)) {
      }
      expect_refused(reader->Finish(), id == value ? "job_id" : "path", value,
                     id == value ? CheckName("", value).ok() : CheckRelativePath("", value).ok());
    }
    {
      auto context = Context();
      tristage::v1::UploadDatasetResponse response;
      auto writer = admin_->UploadDataset(context.get(), &response);
      tristage::v1::UploadDatasetRequest header;
      header.mutable_header()->set_filename(value);
      header.mutable_header()->set_size_bytes(5);
      writer->Write(header);
      tristage::v1::UploadDatasetRequest chunk;
      chunk.set_chunk("x,y\n1");
      writer->Write(chunk);
      writer->WritesDone();
      expect_refused(writer->Finish(), "header.filename", value, CheckName("", value).ok());
    }
    {
      inference::RepositoryModelLoadRequest request;
      request.set_model_name(value);
      inference::RepositoryModelLoadResponse response;
      expect_refused(kserve_->RepositoryModelLoad(Context().get(), request, &response),
                     "model_name", value);
    }
    {
      inference::RepositoryModelUnloadRequest request;
      request.set_model_name(value);
      inference::RepositoryModelUnloadResponse response;
      expect_refused(kserve_->RepositoryModelUnload(Context().get(), request, &response),
                     "model_name", value);
    }
    ASSERT_TRUE(DaemonAlive()) << "after " << shown;
  }
  EXPECT_GT(refused, 200);
  // Nothing created, changed or deleted anywhere around the daemon (its lock file aside, written
  // at start), and no job was recorded.
  EXPECT_EQ(Tree(outer_), before);
  EXPECT_TRUE(fs::is_empty(root_ / "state" / "jobs"));
  EXPECT_TRUE(fs::exists(root_ / "repo" / "churn" / "1" / "manifest.json"));
  EXPECT_TRUE(fs::exists(root_ / "repo" / "churn" / "serving.yaml"));
}

// The outside probe: an Admin body that is not the method's message was INTERNAL with an empty
// message (gRPC's own parse); now INVALID_ARGUMENT naming the message, on every unary and
// server-streaming method, and the daemon goes on answering.
TEST_F(AdminEdgeTest, ABodyThatIsNotTheRequestMessageIsInvalidArgumentNamingIt) {
  StartDaemon();
  grpc::GenericStub stub(
      grpc::CreateChannel(daemon_->grpc_address(), grpc::InsecureChannelCredentials()));
  const std::string garbage("\xff\xff\xff\xff\x0f garbage", 14);
  // A string field holding bytes that are not UTF-8: tag 0x0a is field 1, 0x12 field 2.
  auto bad_utf8 = [](char tag) { return std::string({tag, '\x02', '\xff', '\xfe'}); };
  struct Method {
    std::string name, type;
    std::vector<std::string> bodies;
  };
  const std::vector<Method> methods = {
      {"GetServerInfo", "GetServerInfoRequest", {garbage}},
      {"SubmitJob", "SubmitJobRequest", {garbage, bad_utf8('\x12')}},  // config
      {"GetJob", "GetJobRequest", {garbage, bad_utf8('\x0a')}},        // job_id
      {"CancelJob", "CancelJobRequest", {garbage, bad_utf8('\x0a')}},  // job_id
      {"ListJobs", "ListJobsRequest", {garbage}}};
  for (const Method& m : methods) {
    const std::string& method = m.name;
    const std::string& type = m.type;
    for (const std::string& body : m.bodies) {
      grpc::Slice slice(body);
      grpc::ByteBuffer request(&slice, 1), response;
      auto context = Context();
      absl::Notification done;
      grpc::Status status;
      stub.UnaryCall(context.get(), "/tristage.v1.Admin/" + method, grpc::StubOptions(), &request,
                     &response, [&](grpc::Status s) {
                       status = std::move(s);
                       done.Notify();
                     });
      done.WaitForNotification();
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
          << method << ": " << status.error_message();
      EXPECT_TRUE(
          absl::StrContains(status.error_message(), absl::StrCat("not a valid tristage.v1.", type)))
          << method << ": " << status.error_message();
    }
  }
  // A server-streaming method: the status comes at the end of the (empty) stream.
  for (const char* method : {"GetArtifact", "WatchJob"}) {
    grpc::CompletionQueue queue;
    auto context = Context();
    auto call =
        stub.PrepareCall(context.get(), std::string("/tristage.v1.Admin/") + method, &queue);
    ASSERT_NE(call, nullptr);
    auto next = [&queue](intptr_t expected) {
      void* tag = nullptr;
      bool ok = false;
      EXPECT_TRUE(queue.Next(&tag, &ok));
      EXPECT_EQ(reinterpret_cast<intptr_t>(tag), expected);
      return ok;
    };
    call->StartCall(reinterpret_cast<void*>(1));
    next(1);
    grpc::Slice slice(garbage);
    grpc::ByteBuffer request(&slice, 1);
    call->WriteLast(request, grpc::WriteOptions(), reinterpret_cast<void*>(2));
    next(2);
    grpc::ByteBuffer chunk;
    call->Read(&chunk, reinterpret_cast<void*>(3));
    EXPECT_FALSE(next(3)) << method << ": a message came back";
    grpc::Status status;
    call->Finish(&status, reinterpret_cast<void*>(4));
    next(4);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << method << ": " << status.error_message();
    EXPECT_TRUE(absl::StrContains(status.error_message(), "not a valid tristage.v1."))
        << method << ": " << status.error_message();
    queue.Shutdown();
    void* tag;
    bool ok;
    while (queue.Next(&tag, &ok)) {
    }
  }
  tristage::v1::ServerInfo info;
  EXPECT_TRUE(admin_->GetServerInfo(Context().get(), {}, &info).ok());
  EXPECT_TRUE(DaemonAlive());
}

// The outside probe's third defect: the job failed later and the served model's files were gone.
TEST_F(AdminEdgeTest, APublishModelWithANulByteIsRefusedAndTheServedModelStays) {
  StartDaemon();
  auto request = Train();
  request.set_publish_model(std::string("churn\0evil", 10));
  tristage::v1::SubmitJobResponse response;
  const grpc::Status status = admin_->SubmitJob(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_TRUE(absl::StrContains(status.error_message(), "NUL")) << status.error_message();
  EXPECT_TRUE(fs::exists(root_ / "repo" / "churn" / "1" / "manifest.json"));
  EXPECT_TRUE(fs::exists(root_ / "repo" / "churn" / "serving.yaml"));
}

// The outside probe's second defect, through the CLI as the user ran it.
TEST_F(AdminEdgeTest, AnExperimentNameThatClimbsOutIsRefusedBeforeAnythingIsWritten) {
  StartDaemon();
  std::ofstream(root_ / "config.yaml") << Train().config();
  auto cli = testing::RunCommand(
      {TRISTAGE_CLI_BINARY, "train", "--server", daemon_->grpc_address(), "--auth_token_file",
       (root_ / "token").string(), "-c", (root_ / "config.yaml").string(), "--dataset",
       (root_ / "data" / "train.csv").string(), "--experiment_name", "../../../../x/escaped", "-od",
       (root_ / "out").string()},
      absl::Seconds(120));
  ASSERT_TRUE(cli.ok()) << cli.status();
  EXPECT_NE(cli->exit_code, 0);
  EXPECT_TRUE(absl::StrContains(cli->err, "experiment_name")) << cli->err;
  EXPECT_FALSE(fs::exists(outer_ / "x"));
  EXPECT_FALSE(fs::exists(root_ / "state" / "x"));
  EXPECT_TRUE(fs::is_empty(root_ / "state" / "jobs"));
}

TEST_F(AdminEdgeTest, ADirectoryAsTheDatasetIsRefusedAtSubmit) {
  StartDaemon();
  auto request = Train();
  request.set_dataset("adir");
  tristage::v1::SubmitJobResponse response;
  const grpc::Status status = admin_->SubmitJob(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_TRUE(absl::StrContains(status.error_message(), "not a file")) << status.error_message();
}

// The outside probe's first defect: CancelJob 0-2 ms after SubmitJob shut the daemon down in 8
// of 20 tries (the child, forked but not yet exec'd, ran the daemon's SIGTERM handler).
TEST_F(AdminEdgeTest, CancellingJobsTheMomentTheyStartNeverStopsTheDaemon) {
  StartDaemon();
  for (int i = 0; i < 20; ++i) {
    tristage::v1::SubmitJobResponse submitted;
    const grpc::Status status = admin_->SubmitJob(Context().get(), Train(), &submitted);
    ASSERT_TRUE(status.ok()) << status.error_message();
    // Wait (without a sleep) until the runner took the job: RUNNING, its child being started.
    for (;;) {
      tristage::v1::GetJobRequest get;
      get.set_job_id(submitted.job_id());
      tristage::v1::Job job;
      ASSERT_TRUE(admin_->GetJob(Context().get(), get, &job).ok());
      if (job.state() != tristage::v1::QUEUED) break;
    }
    tristage::v1::CancelJobRequest cancel;
    cancel.set_job_id(submitted.job_id());
    tristage::v1::Job cancelled;
    const grpc::Status cancel_status = admin_->CancelJob(Context().get(), cancel, &cancelled);
    ASSERT_TRUE(cancel_status.ok()) << cancel_status.error_message();
    EXPECT_EQ(cancelled.state(), tristage::v1::CANCELLED) << cancelled.reason();
    ASSERT_TRUE(DaemonAlive()) << "try " << i << ":\n" << daemon_->process().stderr_text();
  }
  EXPECT_FALSE(absl::StrContains(daemon_->process().stderr_text(), "received SIGTERM"));
  EXPECT_FALSE(absl::StrContains(daemon_->process().stderr_text(), "ignored SIGTERM"));
}

TEST_F(AdminEdgeTest, ASecondDaemonOnTheSameStateDirectoryExitsOneNamingTheFirstsPid) {
  StartDaemon();
  auto second = testing::Subprocess::Start(
      {TRISTAGE_SERVER_BINARY, "--grpc-port", "0", "--metrics-port", "-1", "--http-port", "-1",
       "--state-dir", (root_ / "state").string(), "--cli-binary", TRISTAGE_CLI_BINARY});
  ASSERT_TRUE(second.ok()) << second.status();
  auto code = (*second)->Wait(absl::Seconds(60));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 1);
  EXPECT_TRUE(
      absl::StrContains((*second)->stderr_text(), absl::StrCat("pid ", daemon_->process().pid())))
      << (*second)->stderr_text();
  // The first one is untouched and a restart after it stops takes the directory over.
  ASSERT_TRUE(DaemonAlive());
  daemon_->process().Signal(SIGTERM);
  ASSERT_TRUE(daemon_->process().Wait(absl::Seconds(60)).ok());
  StartDaemon();
  ASSERT_TRUE(DaemonAlive());
}

}  // namespace
}  // namespace tristage
