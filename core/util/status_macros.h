// Status propagation helpers. Abseil 20220623 (Debian 12) has no ABSL_RETURN_IF_ERROR or
// ABSL_ASSIGN_OR_RETURN, so tristage defines the two it needs.
#ifndef TRISTAGE_CORE_UTIL_STATUS_MACROS_H_
#define TRISTAGE_CORE_UTIL_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Evaluates `expr` (an absl::Status) and returns it from the enclosing function when not OK.
#define TRISTAGE_RETURN_IF_ERROR(expr)                   \
  do {                                                   \
    ::absl::Status tristage_status_ = (expr);            \
    if (!tristage_status_.ok()) return tristage_status_; \
  } while (false)

#define TRISTAGE_STATUS_CONCAT_INNER_(a, b) a##b
#define TRISTAGE_STATUS_CONCAT_(a, b) TRISTAGE_STATUS_CONCAT_INNER_(a, b)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status, otherwise moves the value
// into `lhs`, which may be a declaration (`auto x`) or an existing variable.
#define TRISTAGE_ASSIGN_OR_RETURN(lhs, rexpr) \
  TRISTAGE_ASSIGN_OR_RETURN_IMPL_(TRISTAGE_STATUS_CONCAT_(tristage_statusor_, __LINE__), lhs, rexpr)

// NOLINTBEGIN(bugprone-macro-parentheses): `lhs` may be a declaration, which parentheses break.
#define TRISTAGE_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                    \
  if (!statusor.ok()) return statusor.status();               \
  lhs = std::move(statusor).value()
// NOLINTEND(bugprone-macro-parentheses)

#endif  // TRISTAGE_CORE_UTIL_STATUS_MACROS_H_
