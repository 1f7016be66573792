#include "core/util/line_splitter.h"

namespace tristage {

void LineSplitter::Feed(absl::string_view data, const OnPiece& on_piece) {
  while (!data.empty()) {
    const size_t newline = data.find('\n');
    const absl::string_view chunk = data.substr(0, newline);
    // Take what fits in the pending line; a full pending line goes out as a piece.
    const size_t room = max_ - pending_.size();
    if (chunk.size() > room) {
      pending_.append(chunk.data(), room);
      on_piece(pending_, /*complete=*/false);
      pending_.clear();
      in_cut_line_ = true;
      data.remove_prefix(room);
      continue;
    }
    pending_.append(chunk.data(), chunk.size());
    if (newline == absl::string_view::npos) return;
    absl::string_view line = pending_;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    on_piece(line, /*complete=*/true);
    pending_.clear();
    in_cut_line_ = false;
    data.remove_prefix(newline + 1);
  }
}

void LineSplitter::Finish(const OnPiece& on_piece) {
  if (!pending_.empty() || in_cut_line_) {
    absl::string_view line = pending_;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    on_piece(line, /*complete=*/true);
  }
  pending_.clear();
  in_cut_line_ = false;
}

}  // namespace tristage
