// The change feed shared by DiffRevisions and Watch: change-log records become
// v1::Change messages (the record before and after each change), filtered by a Scope,
// and positions in the feed become resume tokens.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "annals/v1/diff.pb.h"
#include "storage/store.h"

namespace annals::service {

// A validated v1::Scope: which relations (a storage::RelationFilter wanting every status;
// entity_id anchors it, `between` makes a pair), and which entity and document changes.
struct ScopeFilter {
  storage::RelationFilter relations;

  bool whole_graph() const { return relations.entity_id.empty() && relations.document_id.empty(); }
  bool Matches(const storage::RelationRecord& r) const { return storage::Matches(relations, r); }
  bool MatchesEntity(const std::string& id) const;
  bool MatchesDocument(const std::string& id) const;
};

// INVALID_ARGUMENT naming "scope.<field>" when the scope is malformed.
absl::StatusOr<ScopeFilter> ScopeOf(const v1::Scope& scope);

// A position in the change feed: the next change to deliver is change `index` of
// revision `revision`.
struct FeedPosition {
  int64_t revision = 1;
  int32_t index = 0;
};

// The token carried by a change: resuming with it continues right after that change.
std::string ResumeTokenAfter(int64_t revision, int32_t index);
// INVALID_ARGUMENT naming "resume_token" when it is not one of ours.
absl::StatusOr<FeedPosition> PositionAfterToken(const std::string& token);

// Emits the in-scope changes of one change-log record, starting at change `from_index`,
// until `emit` returns false; returns the index of the first change not examined
// (changes.size() when all were).
absl::StatusOr<int32_t> ExpandChanges(storage::Store& store, const storage::ChangeRecord& record,
                                      const ScopeFilter& scope, int32_t from_index,
                                      const std::function<bool(v1::Change)>& emit);

}  // namespace annals::service
