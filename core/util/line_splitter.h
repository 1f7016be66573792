// LineSplitter: cuts a byte stream (a child's pipe) into lines without ever holding more than
// `max_line_bytes` of it, whatever the stream sends.
//
// A line longer than the limit is delivered in pieces of `max_line_bytes` flagged `complete =
// false`, then its last piece (possibly empty) with `complete = true`: the caller decides whether
// a cut line is kept in pieces (a human log) or refused (a protocol line). A trailing '\r' of a
// complete line is removed. Lines may contain any byte but '\n', NUL and invalid UTF-8 included.
// Thread safety: none; one owner.
#ifndef TRISTAGE_CORE_UTIL_LINE_SPLITTER_H_
#define TRISTAGE_CORE_UTIL_LINE_SPLITTER_H_

#include <cstddef>
#include <functional>
#include <string>

#include "absl/strings/string_view.h"

namespace tristage {

class LineSplitter {
 public:
  // piece: the line or a piece of it (without '\n'); complete: it ends the line.
  using OnPiece = std::function<void(absl::string_view piece, bool complete)>;

  // max_line_bytes >= 1.
  explicit LineSplitter(size_t max_line_bytes) : max_(max_line_bytes < 1 ? 1 : max_line_bytes) {}

  // Calls `on_piece` for every line (or piece) that `data` completes.
  void Feed(absl::string_view data, const OnPiece& on_piece);
  // End of the stream: delivers an unterminated last line (complete = true), if any.
  void Finish(const OnPiece& on_piece);

  // Bytes held for the current unterminated line (always <= max_line_bytes).
  size_t pending_bytes() const { return pending_.size(); }

 private:
  const size_t max_;
  std::string pending_;
  bool in_cut_line_ = false;  // a piece of the current line was already delivered
};

}  // namespace tristage

#endif  // TRISTAGE_CORE_UTIL_LINE_SPLITTER_H_
