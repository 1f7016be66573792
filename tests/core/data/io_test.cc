// Data formats, file errors and checksums; the formats' contents are in csv_test and json_test.
#include "core/data/io.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "core/data/table.h"
#include "gtest/gtest.h"
#include "tests/core/data/data_test_util.h"

namespace tristage::data {
namespace {

class DataFormatTest : public ::testing::Test {};

TEST_F(DataFormatTest, ParseDataFormatAcceptsEveryNameInAnyCase) {
  EXPECT_EQ(*ParseDataFormat("auto"), DataFormat::kAuto);
  EXPECT_EQ(*ParseDataFormat("csv"), DataFormat::kCsv);
  EXPECT_EQ(*ParseDataFormat("TSV"), DataFormat::kTsv);
  EXPECT_EQ(*ParseDataFormat("Json"), DataFormat::kJson);
  EXPECT_EQ(*ParseDataFormat("jsonl"), DataFormat::kJsonl);
}

TEST_F(DataFormatTest, ParseDataFormatListsTheNamesOnError) {
  const absl::StatusOr<DataFormat> format = ParseDataFormat("jsn");
  EXPECT_EQ(format.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(format.status().message(),
            "unknown data format 'jsn'; expected one of: auto, csv, tsv, json, jsonl (did you mean "
            "'json'?)");
  EXPECT_EQ(ParseDataFormat("parquet").status().message(),
            "unknown data format 'parquet'; expected one of: auto, csv, tsv, json, jsonl");
}

TEST_F(DataFormatTest, DataFormatNameIsTheParsedName) {
  for (const DataFormat format : {DataFormat::kAuto, DataFormat::kCsv, DataFormat::kTsv,
                                  DataFormat::kJson, DataFormat::kJsonl}) {
    EXPECT_EQ(*ParseDataFormat(DataFormatName(format)), format);
  }
  EXPECT_STREQ(DataFormatName(DataFormat::kJsonl), "jsonl");
}

TEST_F(DataFormatTest, InferDataFormatReadsTheExtensionInAnyCase) {
  EXPECT_EQ(*InferDataFormat("data.csv"), DataFormat::kCsv);
  EXPECT_EQ(*InferDataFormat("/tmp/x.y/DATA.TSV"), DataFormat::kTsv);
  EXPECT_EQ(*InferDataFormat("a/b.json"), DataFormat::kJson);
  EXPECT_EQ(*InferDataFormat("b.JsonL"), DataFormat::kJsonl);
  EXPECT_EQ(*InferDataFormat("c.ndjson"), DataFormat::kJsonl);
}

TEST_F(DataFormatTest, InferDataFormatNamesThePathWhenTheExtensionSaysNothing) {
  for (const char* path : {"data.txt", "data", "dir.csv/data", "data.csv.gz"}) {
    const absl::StatusOr<DataFormat> format = InferDataFormat(path);
    EXPECT_EQ(format.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(format.status().message(),
              std::string("cannot tell the data format of '") + path +
                  "' from its extension (expected .csv, .tsv, .json, .jsonl or .ndjson)");
  }
}

class ReadTableTest : public TempDirTest {};

TEST_F(ReadTableTest, MissingFileIsNotFoundNamingThePath) {
  const absl::StatusOr<Table> table = ReadTable(PathOf("absent.csv"));
  EXPECT_EQ(table.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(table.status().message(), "no such file '" + PathOf("absent.csv") + "'");
}

TEST_F(ReadTableTest, DirectoryIsRejectedNamingIt) {
  std::filesystem::create_directory(PathOf("dir.csv"));
  const absl::StatusOr<Table> table = ReadTable(PathOf("dir.csv"));
  EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(table.status().message(),
            "cannot read '" + PathOf("dir.csv") + "': it is a directory, not a file");
}

TEST_F(ReadTableTest, UnreadableFileIsPermissionDeniedNamingIt) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads every file";
  const std::string path = WriteFile("secret.csv", "a\n1\n");
  ASSERT_EQ(chmod(path.c_str(), 0), 0);
  const absl::StatusOr<Table> table = ReadTable(path);
  EXPECT_EQ(table.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(table.status().message(), "cannot read '" + path + "': Permission denied");
}

TEST_F(ReadTableTest, ReadFailureNamesTheFileAndTheReason) {
  // Linux refuses to read an unmapped address of a process's memory, even for root.
  const absl::StatusOr<Table> table = ReadTable("/proc/self/mem", DataFormat::kCsv);
  EXPECT_FALSE(table.ok());
  EXPECT_EQ(table.status().message(), "cannot read '/proc/self/mem': Input/output error");
}

TEST_F(ReadTableTest, UnknownExtensionNeedsAnExplicitFormat) {
  const std::string path = WriteFile("data.txt", "a\tb\n1\t2\n");
  EXPECT_EQ(ReadTable(path).status().code(), absl::StatusCode::kInvalidArgument);
  const absl::StatusOr<Table> table = ReadTable(path, DataFormat::kTsv);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(CellsOf(*table, "b"), (Cells{"2"}));
}

TEST_F(ReadTableTest, ExplicitFormatOverridesTheExtension) {
  const std::string path = WriteFile("data.csv", "{\"a\": 1}\n");
  const absl::StatusOr<Table> table = ReadTable(path, DataFormat::kJsonl);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(CellsOf(*table, "a"), (Cells{"1"}));
}

TEST_F(ReadTableTest, WriteIntoAMissingDirectoryNamesThePath) {
  const std::string path = PathOf("no/such/dir/out.csv");
  const absl::Status status = WriteTable(MakeTable({{"a", {"1"}}}), path);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "cannot write '" + path + "': No such file or directory");
}

TEST_F(ReadTableTest, WriteOverADirectoryNamesIt) {
  std::filesystem::create_directory(PathOf("dir.csv"));
  const absl::Status status = WriteTable(MakeTable({{"a", {"1"}}}), PathOf("dir.csv"));
  EXPECT_EQ(status.message(), "cannot write '" + PathOf("dir.csv") + "': Is a directory");
  EXPECT_TRUE(std::filesystem::is_directory(PathOf("dir.csv")));
}

TEST_F(ReadTableTest, WriteWithAnUnknownExtensionNamesThePath) {
  const absl::Status status = WriteTable(MakeTable({{"a", {"1"}}}), PathOf("out.xlsx"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(PathOf("out.xlsx")));
}

TEST_F(ReadTableTest, WriteReplacesAnExistingFile) {
  const std::string path = WriteFile("out.csv", "old,longer,content\n1,2,3\n4,5,6\n");
  ASSERT_TRUE(WriteTable(MakeTable({{"a", {"1"}}}), path).ok());
  EXPECT_EQ(ReadFile(path), "a\n1\n");
}

class FileChecksumTest : public TempDirTest {};

TEST_F(FileChecksumTest, IsFnv1a64AsSixteenLowercaseHexDigits) {
  // Reference values of 64-bit FNV-1a.
  EXPECT_EQ(*FileChecksum(WriteFile("empty", "")), "cbf29ce484222325");
  EXPECT_EQ(*FileChecksum(WriteFile("a", "a")), "af63dc4c8601ec8c");
  EXPECT_EQ(*FileChecksum(WriteFile("foobar", "foobar")), "85944171f73967e8");
}

TEST_F(FileChecksumTest, CoversEveryByteOfFilesLargerThanOneChunk) {
  // 200 kB of varied bytes spans several read chunks; the reference hashes it in one go.
  std::string contents;
  for (int i = 0; i < 200000; ++i) contents.push_back(static_cast<char>((i * 7919) % 251));
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : contents) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  char expected[17];
  snprintf(expected, sizeof(expected), "%016llx", static_cast<unsigned long long>(hash));
  EXPECT_EQ(*FileChecksum(WriteFile("big", contents)), expected);
  contents[150000] ^= 1;
  EXPECT_NE(*FileChecksum(WriteFile("big", contents)), expected);
}

TEST_F(FileChecksumTest, MissingFileIsNotFound) {
  const absl::StatusOr<std::string> checksum = FileChecksum(PathOf("absent"));
  EXPECT_EQ(checksum.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(checksum.status().message(), "no such file '" + PathOf("absent") + "'");
}

}  // namespace
}  // namespace tristage::data
