// Shape checks for every request: ids, sizes, dates, enums. Each problem is reported with
// the path of the field that holds it ("relations[3].valid.start.month"), so a client can
// fix the exact item. Referential checks (does the entity exist?) belong to the committer.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "annals/v1/query.pb.h"
#include "annals/v1/types.pb.h"
#include "storage/field_error.h"
#include "storage/store.h"
#include "storage/valid_time.h"

namespace annals::service {

using FieldErrors = std::vector<storage::ItemError>;

inline constexpr size_t kMaxIdBytes = 128;
inline constexpr size_t kMaxNameBytes = 1024;      // labels, aliases, titles, predicates' cousins
inline constexpr size_t kMaxTextBytes = 64 * 1024;  // descriptions, notes, text values
inline constexpr int kMaxRepeated = 256;            // aliases, authors, sources, map entries
inline constexpr int kMaxBatchItems = 10'000;       // items in one write request or Ingest batch
inline constexpr int kMaxPageSize = 1000;

// [a-z0-9][a-z0-9._:-]*, at most 128 bytes.
bool IsValidId(std::string_view id);

// The path of a field ("relations[3].sources[0].document_id"), spelled out only when an
// error names it. Validation runs on every item of every write and nearly all of them are
// valid: building each path up front was a third of validation's time (profiled on a bulk
// import). A path points at its parent, so it lives no longer than the call that made it.
class FieldPath {
 public:
  FieldPath(std::string_view collection, int index) : part_(collection), index_(index) {}  // "relations[3]"
  FieldPath Field(std::string_view name) const { return FieldPath(this, Kind::kField, name, -1); }
  FieldPath Index(int i) const { return FieldPath(this, Kind::kIndex, {}, i); }
  FieldPath Key(std::string_view key) const { return FieldPath(this, Kind::kKey, key, -1); }
  std::string str() const;

 private:
  enum class Kind { kRoot, kField, kIndex, kKey };
  FieldPath(const FieldPath* parent, Kind kind, std::string_view part, int index)
      : parent_(parent), kind_(kind), part_(part), index_(index) {}
  const FieldPath* parent_ = nullptr;
  Kind kind_ = Kind::kRoot;
  std::string_view part_;
  int index_ = -1;
};

// A bad field of the request: INVALID_ARGUMENT "field: description", the field a value.
inline absl::Status BadField(std::string_view field, std::string description) {
  return storage::FieldFailure(absl::StatusCode::kInvalidArgument, std::string(field), std::move(description));
}
// A field whose value is well-formed but out of what the server can answer (a revision
// after the latest, a token whose revision history no longer keeps).
inline absl::Status OutOfRangeField(std::string_view field, std::string description) {
  return storage::FieldFailure(absl::StatusCode::kOutOfRange, std::string(field), std::move(description));
}

void ValidateEntity(const v1::Entity& entity, const FieldPath& path, FieldErrors* errors);
void ValidateDocument(const v1::Document& document, const FieldPath& path, FieldErrors* errors);
void ValidateRelation(const v1::Relation& relation, const FieldPath& path, FieldErrors* errors);

// An id that must be present and well-formed.
absl::Status CheckId(std::string_view field, std::string_view id);
// An id that may be empty (an optional filter), well-formed when it is not.
absl::Status CheckOptionalId(std::string_view field, std::string_view id);
// A predicate, written or asked: 1 to 128 bytes (storage::kMaxPredicateBytes), no
// control characters. One rule for every request.
absl::Status CheckPredicate(std::string_view field, std::string_view predicate);
// An optional request_id: at most 128 printable ASCII bytes.
absl::Status CheckRequestId(std::string_view request_id);
// A page size: 0 means `default_size`; negative or over kMaxPageSize is an error.
absl::StatusOr<int> PageSize(std::string_view field, int32_t requested, int default_size);
// The status filter of a read: known enum values only.
absl::StatusOr<std::vector<int>> StatusFilter(std::string_view field,
                                              const google::protobuf::RepeatedField<int>& statuses);
// A relation view (AIP-157): unset means FULL.
absl::StatusOr<storage::View> ViewOf(std::string_view field, v1::RelationView view);
// A window in days, or nullopt when the request has none.
absl::StatusOr<std::optional<storage::DayWindow>> DayWindowOf(std::string_view field,
                                                              const v1::Window* window);

// INVALID_ARGUMENT carrying every error (storage/field_error.h), its message the first
// ("field: description"); OK when there is none. The client gets all of them in the
// google.rpc.BadRequest detail (service/grpc_status.h).
absl::Status FirstError(const FieldErrors& errors);

}  // namespace annals::service
