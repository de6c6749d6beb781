// Errors as values. A problem with a field of what a storage call was given travels inside
// the absl::Status that reports it, as a list of ItemErrors (a payload), instead of as
// "field: text" in the message for callers to parse back.
//
// Paths are relative to the storage call's input: "start" of a TimeRange, "relations[2].subject"
// of a WriteSet, "" for the argument itself (a cursor, a revision, an entity id). Storage
// never names a request field; the service places these paths under the request's own
// (UnderField, RenameField below) and sends them as google.rpc.BadRequest
// (service/grpc_status.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace annals::storage {

struct ItemError {
  std::string field;  // relative path; "" = the input itself
  std::string description;
};

// A status of `code` carrying `errors` (at least one). Its message is the first error,
// "field: description" ("description" alone when the field is ""), for logs and people.
absl::Status FieldFailure(absl::StatusCode code, std::vector<ItemError> errors);
absl::Status FieldFailure(absl::StatusCode code, std::string field, std::string description);

// The errors a status carries; empty when it carries none (OK, or made some other way).
std::vector<ItemError> ItemErrorsOf(const absl::Status& status);
// Every error a failed status reports: the ones it carries, or else one about the input
// itself (field "") with its message. Empty for OK. For callers that must never drop one.
std::vector<ItemError> ReportedErrors(const absl::Status& status);

// "valid" + "start" = "valid.start"; "relations" + "[2]" = "relations[2]"; either side "" = the other.
std::string JoinField(std::string_view parent, std::string_view child);

// `status` with every carried field placed under `parent`, and its message remade. A
// status carrying none (OK, an I/O error) is returned as it is.
absl::Status UnderField(std::string_view parent, const absl::Status& status);

// `status` with each carried field that is `from`, or starts with `from` followed by "."
// or "[", renamed to start with `to` instead ("starts[2]" -> "start_ids[2]").
absl::Status RenameField(const absl::Status& status, std::string_view from, std::string_view to);

}  // namespace annals::storage
