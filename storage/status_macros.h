// RETURN_IF_ERROR / ASSIGN_OR_RETURN: abseil 20220623 ships neither, so they live here once.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define ANNALS_CONCAT_INNER(a, b) a##b
#define ANNALS_CONCAT(a, b) ANNALS_CONCAT_INNER(a, b)

// Returns the status from the enclosing function when `expr` is not OK.
#define RETURN_IF_ERROR(expr)                        \
  do {                                               \
    ::absl::Status annals_status_ = (expr);          \
    if (!annals_status_.ok()) return annals_status_; \
  } while (0)

// Declares/assigns `lhs` from a StatusOr, or returns its error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(ANNALS_CONCAT(annals_statusor_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()
