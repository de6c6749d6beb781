// The server-side time budget of unary calls (annalsd --default-deadline-seconds and
// --max-deadline-seconds).
//
// When a unary call arrives, its budget is
//   - the caller's deadline, when it is set and at most `max_deadline` away;
//   - `max_deadline` from arrival, when the caller's deadline is further away;
//   - `default_deadline` from arrival (or `max_deadline` when that is 0), when the caller
//     set no deadline.
// (0 turns either off.) When a budget shorter than the caller's deadline runs out, the
// call is ended at once with DEADLINE_EXCEEDED, as the caller's own deadline would, and a
// handler that finishes afterwards has its reply replaced by that status. Handlers see the
// call as cancelled; work they do not check for that (a commit in progress) completes, so
// a write that got DEADLINE_EXCEEDED may have been applied: retry it with its request_id.
// Streaming calls (Ingest, Watch, health Watch) have no budget.
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <memory>

#include "absl/time/time.h"

namespace annals::service {

struct CallBudget {
  absl::Duration default_deadline = absl::Seconds(60);
  absl::Duration max_deadline = absl::Seconds(300);
  bool enabled() const { return default_deadline > absl::ZeroDuration() || max_deadline > absl::ZeroDuration(); }
};

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> CallBudgetInterceptorFactory(CallBudget budget);

}  // namespace annals::service
