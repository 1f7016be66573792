// The job protocol's writer and reader (core/util/job_protocol.h) on recorded lines and on what a
// hostile or broken child can send: NUL bytes, invalid UTF-8, a 50 MB line without a newline,
// negative and huge numbers, unknown types and versions, a line cut by a dying child.
#include "core/util/job_protocol.h"

#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/util/line_splitter.h"
#include "gtest/gtest.h"

namespace tristage::job_protocol {
namespace {

using nlohmann::json;

// Collects what a reader reports.
struct Collected {
  std::vector<Event> events;
  std::vector<std::string> errors;
};

EventReader CollectingReader(Collected& into, size_t max_line_bytes = kMaxLineBytes) {
  return EventReader([&into](const Event& event) { into.events.push_back(event); },
                     [&into](const absl::Status& error) {
                       into.errors.push_back(std::string(error.message()));
                     },
                     max_line_bytes);
}

Collected ReadAll(absl::string_view stream) {
  Collected collected;
  EventReader reader = CollectingReader(collected);
  reader.Feed(stream);
  reader.Finish();
  return collected;
}

TEST(JobProtocolTest, RecordedLinesOfEveryTypeParse) {
  // As the CLI writes them (tristage train --job_events_fd 3).
  const std::string recorded =
      R"({"v":1,"type":"progress","epoch":2,"total_epochs":30,"step":76,"improved":true,)"
      R"("metrics":{"validation":{"combined":{"loss":0.4123},"churned":{"roc_auc":0.865}}},)"
      R"("validation_field":"churned","validation_metric":"roc_auc"})"
      "\n"
      R"({"v":1,"type":"result","model_dir":"/s/jobs/j000001/output/experiment_run/model",)"
      R"("output_dir":"/s/jobs/j000001/output/experiment_run"})"
      "\n"
      R"({"v":1,"type":"error","code":"INVALID_ARGUMENT","message":"encoder: 'x' is unknown"})"
      "\n";
  const Collected got = ReadAll(recorded);
  EXPECT_TRUE(got.errors.empty()) << got.errors.front();
  ASSERT_EQ(got.events.size(), 3u);
  const Progress& p = got.events[0].progress;
  EXPECT_EQ(got.events[0].type, Event::Type::kProgress);
  EXPECT_EQ(p.epoch, 2);
  EXPECT_EQ(p.total_epochs, 30);
  EXPECT_EQ(p.step, 76);
  EXPECT_TRUE(p.improved);
  EXPECT_EQ(p.metrics["validation"]["churned"]["roc_auc"], 0.865);
  EXPECT_EQ(p.validation_field, "churned");
  EXPECT_EQ(got.events[1].type, Event::Type::kResult);
  EXPECT_EQ(got.events[1].result.model_dir, "/s/jobs/j000001/output/experiment_run/model");
  EXPECT_EQ(got.events[2].type, Event::Type::kError);
  EXPECT_EQ(got.events[2].error.code, "INVALID_ARGUMENT");
  EXPECT_EQ(got.events[2].error.message, "encoder: 'x' is unknown");
}

TEST(JobProtocolTest, WhatTheWriterWritesTheReaderReadsBack) {
  std::string stream;
  EventWriter writer([&stream](absl::string_view line) {
    stream.append(line.data(), line.size());
    return absl::OkStatus();
  });
  Progress progress;
  progress.epoch = 3;
  progress.step = 9;
  progress.metrics = {{"test", {{"combined", {{"loss", 1.5}}}}}};
  ASSERT_TRUE(writer.Write(MakeProgress(progress)).ok());
  Result result;
  result.model_dir = "/m";
  result.training_statistics = {{"training", {{"combined", {{"loss", {1.0, 0.5}}}}}}};
  result.best_epoch = 2;
  ASSERT_TRUE(writer.Write(MakeResult(result)).ok());
  ASSERT_TRUE(writer.Write(MakeError(absl::NotFoundError("no such file 'x.csv'"))).ok());
  EXPECT_EQ(std::count(stream.begin(), stream.end(), '\n'), 3);

  const Collected got = ReadAll(stream);
  ASSERT_TRUE(got.errors.empty()) << got.errors.front();
  ASSERT_EQ(got.events.size(), 3u);
  EXPECT_EQ(got.events[0].progress.epoch, 3);
  EXPECT_EQ(got.events[0].progress.metrics, progress.metrics);
  EXPECT_EQ(got.events[1].result.model_dir, "/m");
  EXPECT_EQ(got.events[1].result.training_statistics, result.training_statistics);
  EXPECT_EQ(got.events[1].result.best_epoch, 2);
  EXPECT_EQ(got.events[2].error.code, "NOT_FOUND");
  EXPECT_EQ(got.events[2].error.message, "no such file 'x.csv'");
}

TEST(JobProtocolTest, LinesSplitAcrossChunksAndCrLfEndingsParse) {
  const std::string line = R"({"v":1,"type":"result","output_dir":"/o"})";
  Collected got;
  EventReader reader = CollectingReader(got);
  for (char c : line + "\r\n" + line + "\n") reader.Feed(absl::string_view(&c, 1));
  reader.Finish();
  EXPECT_TRUE(got.errors.empty());
  ASSERT_EQ(got.events.size(), 2u);
  EXPECT_EQ(got.events[1].result.output_dir, "/o");
  EXPECT_EQ(reader.lines(), 2);
}

TEST(JobProtocolTest, UnknownTypesAndFieldsAreIgnoredForwardCompatibly) {
  Collected got;
  EventReader reader = CollectingReader(got);
  reader.Feed(R"({"v":1,"type":"checkpoint","path":"/c"})"
              "\n"
              R"({"v":1,"type":"result","model_dir":"/m","gpu_hours":3,"extra":{"a":[1]}})"
              "\n");
  reader.Finish();
  EXPECT_TRUE(got.errors.empty()) << got.errors.front();
  ASSERT_EQ(got.events.size(), 1u);
  EXPECT_EQ(got.events[0].result.model_dir, "/m");
  EXPECT_EQ(reader.skipped_unknown(), 1);
}

TEST(JobProtocolTest, MalformedLinesAreReportedWithTheirNumberAndReadingGoesOn) {
  const struct {
    std::string line;
    std::string error;  // a part of the report
  } cases[] = {
      {"epoch 1/5 (step 3) | validation: loss 0.5", "not JSON"},  // the old human line
      {"[1,2]", "not a JSON object"},
      {R"({"type":"result"})", "no protocol version"},
      {R"({"v":"1","type":"result"})", "no protocol version"},
      {R"({"v":2,"type":"result"})", "protocol version 2 is not 1"},
      {R"({"v":1})", "no \"type\""},
      {R"({"v":1,"type":"progress","epoch":-1})", "epoch: -1 is not a whole number"},
      {R"({"v":1,"type":"progress","step":1e300})", "step: 1e+300 is not a whole number"},
      {R"({"v":1,"type":"progress","epoch":2.5})", "epoch: 2.5"},
      {R"({"v":1,"type":"progress","epoch":18446744073709551615})", "epoch: 18446744073709551615"},
      {R"({"v":1,"type":"progress","epoch":"3"})", "epoch: \"3\""},
      {R"({"v":1,"type":"progress","metrics":[1]})", "metrics: not an object"},
      {R"({"v":1,"type":"result","model_dir":7})", "model_dir: not a string"},
      {R"({"v":1,"type":"progress","improved":"yes"})", "improved"},
      {R"({"v":1,"type":"error","message":{"nested":1}})", "message: not a string"},
  };
  std::string stream;
  for (const auto& c : cases) stream += c.line + "\n";
  stream += R"({"v":1,"type":"result","output_dir":"/still/read"})"
            "\n";
  const Collected got = ReadAll(stream);
  ASSERT_EQ(got.errors.size(), std::size(cases));
  for (size_t i = 0; i < std::size(cases); ++i) {
    EXPECT_TRUE(absl::StartsWith(got.errors[i], absl::StrCat("job events line ", i + 1, ": ")))
        << got.errors[i];
    EXPECT_TRUE(absl::StrContains(got.errors[i], cases[i].error))
        << cases[i].line << " -> " << got.errors[i];
  }
  ASSERT_EQ(got.events.size(), 1u);
  EXPECT_EQ(got.events[0].result.output_dir, "/still/read");
}

TEST(JobProtocolTest, NulBytesAndInvalidUtf8AreRefusedAndTheReportIsPrintable) {
  std::string nul = R"({"v":1,"type":"result","model_dir":"/a)";
  nul += '\0';
  nul += R"(b"})";
  const std::string bad_utf8 = "{\"v\":1,\"type\":\"result\",\"model_dir\":\"/\xff\xfe\xc3\"}";
  const std::string escaped_nul = R"({"v":1,"type":"error","message":"a\u0000b"})";
  const Collected got = ReadAll(nul + "\n" + bad_utf8 + "\n" + escaped_nul + "\n");
  ASSERT_EQ(got.errors.size(), 2u);
  EXPECT_TRUE(absl::StrContains(got.errors[0], "NUL")) << got.errors[0];
  EXPECT_TRUE(absl::StrContains(got.errors[1], "not JSON")) << got.errors[1];
  for (const std::string& error : got.errors) {
    for (unsigned char c : error) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << error;
  }
  // An escaped NUL is valid JSON and valid UTF-8: kept as the child sent it.
  ASSERT_EQ(got.events.size(), 1u);
  EXPECT_EQ(got.events[0].error.message, std::string("a\0b", 3));
}

TEST(JobProtocolTest, AFiftyMegabyteLineWithoutNewlineIsRefusedInBoundedMemory) {
  Collected got;
  EventReader reader = CollectingReader(got);
  const std::string chunk(1 << 16, 'x');
  reader.Feed(R"({"v":1,"type":"result","model_dir":")");
  for (int i = 0; i < 50 * 16; ++i) reader.Feed(chunk);  // 50 MiB, no newline
  reader.Finish();
  ASSERT_EQ(got.errors.size(), 1u);
  EXPECT_TRUE(absl::StrContains(got.errors[0], "longer than 1048576 bytes")) << got.errors[0];
  EXPECT_TRUE(got.events.empty());

  // With a newline after it, the next line is read normally.
  Collected after;
  EventReader second = CollectingReader(after, /*max_line_bytes=*/64);
  second.Feed(std::string(1000, 'y') + "\n" + R"({"v":1,"type":"result"})" + "\n");
  second.Finish();
  ASSERT_EQ(after.errors.size(), 1u);
  EXPECT_TRUE(absl::StartsWith(after.errors[0], "job events line 1: longer than 64 bytes"));
  EXPECT_EQ(after.events.size(), 1u);
}

TEST(JobProtocolTest, NonNumericMetricsAreDroppedTheRestKeptAndAnOverflowingNumberIsRefused) {
  const Collected got = ReadAll(
      R"({"v":1,"type":"progress","epoch":1,"metrics":{"validation":{"combined":{"loss":null},)"
      R"("label":{"roc_auc":0.7,"note":"n/a","list":[1]}},"test":5}})"
      "\n"
      // Beyond a double: the parser refuses the number, so the line is malformed.
      R"({"v":1,"type":"progress","epoch":1,"metrics":{"test":{"combined":{"loss":1e999}}}})"
      "\n");
  ASSERT_EQ(got.errors.size(), 1u);
  EXPECT_TRUE(absl::StartsWith(got.errors[0], "job events line 2: not JSON")) << got.errors[0];
  ASSERT_EQ(got.events.size(), 1u);
  EXPECT_EQ(got.events[0].progress.metrics,
            json::parse(R"({"validation":{"label":{"roc_auc":0.7}}})"));
}

TEST(JobProtocolTest, AChildThatDiesMidLineLeavesAMalformedLastLine) {
  const Collected got = ReadAll(R"({"v":1,"type":"progress","epoch":1})"
                                "\n"
                                R"({"v":1,"type":"result","model_dir":"/m)");
  ASSERT_EQ(got.events.size(), 1u);
  EXPECT_EQ(got.events[0].type, Event::Type::kProgress);
  ASSERT_EQ(got.errors.size(), 1u);
  EXPECT_TRUE(absl::StartsWith(got.errors[0], "job events line 2: not JSON")) << got.errors[0];
  // A complete object without its '\n' at the end of the stream still counts.
  EXPECT_EQ(ReadAll(R"({"v":1,"type":"result"})").events.size(), 1u);
}

TEST(JobProtocolTest, ForFdRefusesTheHumanStreamsAndClosedDescriptors) {
  EXPECT_EQ(EventWriter::ForFd(1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EventWriter::ForFd(987).status().code(), absl::StatusCode::kInvalidArgument);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  EXPECT_EQ(EventWriter::ForFd(fds[0]).status().code(), absl::StatusCode::kInvalidArgument);
  auto writer = EventWriter::ForFd(fds[1]);
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->Write(MakeResult({})).ok());
  close(fds[0]);
  // The reader is gone: an error, not a SIGPIPE that kills the writer.
  EXPECT_FALSE((*writer)->Write(MakeResult({})).ok());
  close(fds[1]);
}

TEST(LineSplitterTest, LongLinesComeInPiecesOfTheLimitAndNothingMoreIsHeld) {
  LineSplitter splitter(4);
  std::vector<std::pair<std::string, bool>> pieces;
  auto collect = [&](absl::string_view piece, bool complete) {
    pieces.emplace_back(std::string(piece), complete);
  };
  splitter.Feed("abcdefghij\nxy", collect);
  EXPECT_LE(splitter.pending_bytes(), 4u);
  splitter.Feed("\n\nabcd", collect);
  splitter.Finish(collect);
  const std::vector<std::pair<std::string, bool>> expected = {
      {"abcd", false}, {"efgh", false}, {"ij", true}, {"xy", true}, {"", true}, {"abcd", true}};
  EXPECT_EQ(pieces, expected);
}

}  // namespace
}  // namespace tristage::job_protocol
