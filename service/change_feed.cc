#include "service/change_feed.h"

#include <algorithm>

#include <google/protobuf/util/time_util.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "service/record_convert.h"
#include "service/relation_filter_parse.h"
#include "service/request_validation.h"
#include "storage/key_codec.h"
#include "storage/status_macros.h"

namespace annals::service {

bool ScopeFilter::MatchesEntity(const std::string& id) const {
  if (!relations.predicates.empty() || !relations.document_id.empty()) return false;  // those scopes are about relations
  if (whole_graph()) return true;
  return id == relations.entity_id || id == relations.other_id;
}

bool ScopeFilter::MatchesDocument(const std::string& id) const {
  if (!relations.predicates.empty() || !relations.entity_id.empty()) return false;
  return relations.document_id.empty() || id == relations.document_id;
}

absl::StatusOr<ScopeFilter> ScopeOf(const v1::Scope& scope) {
  ScopeFilter f;
  ASSIGN_OR_RETURN(f.relations, RelationFilterOf(scope, "scope."));
  f.relations.statuses = storage::EveryStatus();  // a change of status is a change to see
  return f;
}

std::string ResumeTokenAfter(int64_t revision, int32_t index) {
  std::string raw = "w1";  // format tag
  storage::key::AppendU64(&raw, static_cast<uint64_t>(revision));
  storage::key::AppendU64(&raw, static_cast<uint64_t>(index));
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<FeedPosition> PositionAfterToken(const std::string& token) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw) || raw.size() != 18 || raw.compare(0, 2, "w1") != 0)
    return BadField("resume_token", "not a token this server gave out");
  const std::string_view view(raw);
  FeedPosition p;
  const uint64_t revision = storage::key::ReadU64(view.substr(2));
  const uint64_t index = storage::key::ReadU64(view.substr(10));
  if (revision < 1 || revision > static_cast<uint64_t>(INT64_MAX) || index >= static_cast<uint64_t>(INT32_MAX))
    return BadField("resume_token", "out of range");
  p.revision = static_cast<int64_t>(revision);
  p.index = static_cast<int32_t>(index) + 1;
  return p;
}

namespace {

// Loads the version of a record written at exactly `rev` (0: none) into `out`.
template <typename Record>
absl::StatusOr<bool> LoadAt(storage::Store& store, const std::string& id, int64_t rev, Record* out);
template <>
absl::StatusOr<bool> LoadAt(storage::Store& store, const std::string& id, int64_t rev, storage::EntityRecord* out) {
  if (rev == 0) return false;
  ASSIGN_OR_RETURN(auto got, store.LoadEntityAsWritten(id, rev));  // a change shows what was written
  if (got) *out = std::move(*got);
  return got.has_value();
}
template <>
absl::StatusOr<bool> LoadAt(storage::Store& store, const std::string& id, int64_t rev, storage::DocumentRecord* out) {
  if (rev == 0) return false;
  ASSIGN_OR_RETURN(auto got, store.GetDocument(id, rev));
  if (got) *out = std::move(*got);
  return got.has_value();
}
template <>
absl::StatusOr<bool> LoadAt(storage::Store& store, const std::string& id, int64_t rev, storage::RelationRecord* out) {
  if (rev == 0) return false;
  ASSIGN_OR_RETURN(auto got, store.GetRelation(id, rev));
  if (got) *out = std::move(*got);
  return got.has_value();
}

// The version written at exactly `rev` whatever it is (a tombstone, which GetEntity and
// GetDocument do not return).
template <typename Record>
absl::StatusOr<Record> VersionAt(storage::Store& store, const std::string& id, int64_t rev) {
  ASSIGN_OR_RETURN(auto page, store.History<Record>(id, rev - 1, 1));
  if (page.versions.empty() || page.versions.front().revision() != rev)
    return absl::DataLossError(absl::StrCat("change log names a missing version of ", id, " at revision ", rev));
  return std::move(page.versions.front());
}

}  // namespace

absl::StatusOr<int32_t> ExpandChanges(storage::Store& store, const storage::ChangeRecord& record,
                                      const ScopeFilter& scope, int32_t from_index,
                                      const std::function<bool(v1::Change)>& emit) {
  using storage::ChangeEntry;
  const int32_t count = record.changes_size();
  for (int32_t i = from_index; i < count; ++i) {
    const ChangeEntry& entry = record.changes(i);
    v1::Change change;
    change.set_revision(record.revision());
    *change.mutable_recorded_at() = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(record.recorded_at_micros());
    change.set_id(entry.id());
    change.set_index(i);
    change.set_request_id(record.request_id());
    change.set_resume_token(ResumeTokenAfter(record.revision(), i));
    bool in_scope = false;
    switch (entry.kind()) {
      case ChangeEntry::ENTITY_UPSERTED: {
        in_scope = scope.MatchesEntity(entry.id());
        if (!in_scope) break;
        storage::EntityRecord before, after;
        ASSIGN_OR_RETURN(bool had, LoadAt(store, entry.id(), entry.previous_revision(), &before));
        ASSIGN_OR_RETURN(bool has, LoadAt(store, entry.id(), record.revision(), &after));
        if (!has) return absl::DataLossError(absl::StrCat("change log names a missing entity version ", entry.id()));
        if (had) *change.mutable_entity_before() = ToApi(before);
        *change.mutable_entity_after() = ToApi(after);
        change.set_kind(had ? v1::ENTITY_CHANGED : v1::ENTITY_CREATED);
        break;
      }
      case ChangeEntry::ENTITY_DELETED: {
        in_scope = scope.MatchesEntity(entry.id());
        if (!in_scope) break;
        storage::EntityRecord before;
        ASSIGN_OR_RETURN(bool had, LoadAt(store, entry.id(), entry.previous_revision(), &before));
        ASSIGN_OR_RETURN(storage::EntityRecord after, VersionAt<storage::EntityRecord>(store, entry.id(), record.revision()));
        if (had) ToApi(before, change.mutable_entity_before());
        ToApi(after, change.mutable_entity_after());
        change.set_kind(v1::ENTITY_DELETED);
        break;
      }
      case ChangeEntry::ENTITY_MERGED:
      case ChangeEntry::ENTITY_UNMERGED: {
        storage::EntityRecord before;
        ASSIGN_OR_RETURN(bool had, LoadAt(store, entry.id(), entry.previous_revision(), &before));
        ASSIGN_OR_RETURN(storage::EntityRecord after, VersionAt<storage::EntityRecord>(store, entry.id(), record.revision()));
        // In the scope of the entity merged, and of the survivor it joins or leaves.
        const bool merged = entry.kind() == ChangeEntry::ENTITY_MERGED;
        const std::string survivor = merged ? store.ResolveEntityId(entry.id(), record.revision())
                                            : store.ResolveEntityId(before.merged_into(), record.revision() - 1);
        in_scope = scope.MatchesEntity(entry.id()) || scope.MatchesEntity(survivor);
        if (!in_scope) break;
        if (had) ToApi(before, change.mutable_entity_before());
        ToApi(after, change.mutable_entity_after());
        change.set_kind(merged ? v1::ENTITY_MERGED : v1::ENTITY_UNMERGED);
        break;
      }
      case ChangeEntry::DOCUMENT_DELETED: {
        in_scope = scope.MatchesDocument(entry.id());
        if (!in_scope) break;
        storage::DocumentRecord before;
        ASSIGN_OR_RETURN(bool had, LoadAt(store, entry.id(), entry.previous_revision(), &before));
        ASSIGN_OR_RETURN(storage::DocumentRecord after,
                         VersionAt<storage::DocumentRecord>(store, entry.id(), record.revision()));
        if (had) ToApi(before, change.mutable_document_before());
        ToApi(after, change.mutable_document_after());
        change.set_kind(v1::DOCUMENT_DELETED);
        break;
      }
      case ChangeEntry::DOCUMENT_PUT: {
        in_scope = scope.MatchesDocument(entry.id());
        if (!in_scope) break;
        storage::DocumentRecord before, after;
        ASSIGN_OR_RETURN(bool had, LoadAt(store, entry.id(), entry.previous_revision(), &before));
        ASSIGN_OR_RETURN(bool has, LoadAt(store, entry.id(), record.revision(), &after));
        if (!has) return absl::DataLossError(absl::StrCat("change log names a missing document version ", entry.id()));
        if (had) *change.mutable_document_before() = ToApi(before);
        *change.mutable_document_after() = ToApi(after);
        change.set_kind(had ? v1::DOCUMENT_CHANGED : v1::DOCUMENT_ADDED);
        break;
      }
      case ChangeEntry::RELATION_PUT:
      case ChangeEntry::RELATION_RETRACTED: {
        storage::RelationRecord before, after;
        ASSIGN_OR_RETURN(bool had, LoadAt(store, entry.id(), entry.previous_revision(), &before));
        ASSIGN_OR_RETURN(bool has, LoadAt(store, entry.id(), record.revision(), &after));
        if (!has) return absl::DataLossError(absl::StrCat("change log names a missing relation version ", entry.id()));
        // Both versions as a read at this revision shows them (merges resolved), against
        // the scope resolved the same way.
        store.ResolveEnds(record.revision(), &after);
        if (had) store.ResolveEnds(record.revision(), &before);
        storage::RelationFilter resolved = scope.relations;
        if (!resolved.entity_id.empty()) resolved.entity_id = store.ResolveEntityId(resolved.entity_id, record.revision());
        if (!resolved.other_id.empty()) resolved.other_id = store.ResolveEntityId(resolved.other_id, record.revision());
        // A relation that moved into or out of the scope is a change of the scope too.
        in_scope = storage::Matches(resolved, after) || (had && storage::Matches(resolved, before));
        if (!in_scope) break;
        if (had) *change.mutable_relation_before() = ToApi(before);
        *change.mutable_relation_after() = ToApi(after);
        if (entry.kind() == ChangeEntry::RELATION_RETRACTED)
          change.set_kind(v1::RELATION_RETRACTED);
        else
          change.set_kind(had && !before.retracted() ? v1::RELATION_CHANGED : v1::RELATION_ADDED);
        break;
      }
      default: return absl::DataLossError("unknown change kind in the change log");
    }
    if (in_scope && !emit(std::move(change))) return i + 1;
  }
  return count;
}

}  // namespace annals::service
