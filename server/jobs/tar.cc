#include "server/jobs/tar.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tristage::server::jobs {
namespace {

namespace fs = std::filesystem;
constexpr size_t kBlock = 512;

void Octal(char* field, size_t width, uint64_t value) {
  // width-1 octal digits and a NUL, as ustar wants.
  const std::string digits = absl::StrFormat("%0*o", static_cast<int>(width - 1), value);
  std::memcpy(field, digits.data(), width - 1);
  field[width - 1] = '\0';
}

absl::Status Header(const std::string& name, bool directory, uint64_t size, int64_t mtime,
                    std::string& out) {
  char block[kBlock] = {};
  std::string stored = directory ? name + "/" : name;
  std::string prefix;
  if (stored.size() > 100) {
    // Split at a '/' so that the tail fits 100 bytes and the head 155.
    const size_t cut = stored.rfind('/', stored.size() - 2 > 155 ? 155 : stored.size() - 2);
    if (cut == std::string::npos || stored.size() - cut - 1 > 100 || cut > 155) {
      return absl::InvalidArgumentError(absl::StrCat("tar: name too long: ", name));
    }
    prefix = stored.substr(0, cut);
    stored = stored.substr(cut + 1);
  }
  std::memcpy(block, stored.data(), stored.size());
  Octal(block + 100, 8, directory ? 0755 : 0644);
  Octal(block + 108, 8, 0);
  Octal(block + 116, 8, 0);
  Octal(block + 124, 12, directory ? 0 : size);
  Octal(block + 136, 12, static_cast<uint64_t>(std::max<int64_t>(mtime, 0)));
  std::memset(block + 148, ' ', 8);  // checksum field counts as spaces
  block[156] = directory ? '5' : '0';
  std::memcpy(block + 257, "ustar", 6);
  std::memcpy(block + 263, "00", 2);
  std::memcpy(block + 345, prefix.data(), prefix.size());
  unsigned int sum = 0;
  for (unsigned char c : block) sum += c;
  const std::string checksum = absl::StrFormat("%06o", sum);
  std::memcpy(block + 148, checksum.data(), 6);
  block[154] = '\0';
  block[155] = ' ';
  out.append(block, kBlock);
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteTar(const std::string& directory,
                      const std::function<bool(const std::string& bytes)>& sink) {
  std::error_code ec;
  if (!fs::is_directory(directory, ec)) {
    return absl::NotFoundError(absl::StrCat("tar: no directory ", directory));
  }
  const fs::path base = fs::path(directory).lexically_normal();
  const fs::path parent = (base.has_filename() ? base : base.parent_path()).parent_path();
  std::vector<fs::path> entries = {base};
  for (auto it = fs::recursive_directory_iterator(base, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    entries.push_back(it->path());
  }
  if (ec) return absl::DataLossError(absl::StrCat("tar: listing ", directory, ": ", ec.message()));
  std::sort(entries.begin(), entries.end());
  auto emit = [&sink](const std::string& bytes) {
    return sink(bytes) ? absl::OkStatus() : absl::CancelledError("tar: the reader went away");
  };
  std::string buffer(1 << 20, '\0');
  for (const fs::path& entry : entries) {
    struct stat info;
    if (::lstat(entry.c_str(), &info) != 0) {
      return absl::DataLossError(absl::StrCat("tar: cannot stat ", entry.string()));
    }
    const bool is_dir = S_ISDIR(info.st_mode);
    if (!is_dir && !S_ISREG(info.st_mode)) continue;
    std::string header;
    const std::string name = entry.lexically_relative(parent).string();
    if (absl::Status s = Header(name, is_dir, static_cast<uint64_t>(info.st_size), info.st_mtime,
                                header);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = emit(header); !s.ok()) return s;
    if (is_dir) continue;
    std::ifstream in(entry, std::ios::binary);
    if (!in) return absl::NotFoundError(absl::StrCat("tar: cannot open ", entry.string()));
    uint64_t written = 0;
    while (in) {
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      const size_t got = static_cast<size_t>(in.gcount());
      if (got == 0) break;
      written += got;
      if (absl::Status s = emit(std::string(buffer.data(), got)); !s.ok()) return s;
    }
    if (written != static_cast<uint64_t>(info.st_size)) {
      return absl::DataLossError(absl::StrCat("tar: ", entry.string(), " changed while read"));
    }
    const size_t pad = (kBlock - written % kBlock) % kBlock;
    if (pad > 0) {
      if (absl::Status s = emit(std::string(pad, '\0')); !s.ok()) return s;
    }
  }
  return emit(std::string(2 * kBlock, '\0'));  // end of archive
}

}  // namespace tristage::server::jobs
