// Store::Commit: the single committer. One WriteSet in, one revision out, one WriteBatch.
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <set>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "storage/index_entries.h"
#include "storage/rocks_status.h"
#include "storage/status_macros.h"
#include "storage/store.h"

namespace annals::storage {
namespace {

constexpr size_t kMaxReportedErrors = 100;
// Entries in each existence cache of the committer (about 64 bytes each) before it starts over.
constexpr size_t kKnownIdsCap = 1 << 20;

}  // namespace

// Builds one commit's WriteBatch while checking the batch against the store.
class Store::CommitBuilder {
 public:
  CommitBuilder(Store* store, int64_t rev, int64_t now) : store_(store), rev_(rev), now_(now) {}

  void Fail(std::string field, std::string description) {
    if (errors_.size() < kMaxReportedErrors) errors_.push_back({std::move(field), std::move(description)});
  }
  const std::vector<ItemError>& errors() const { return errors_; }

  absl::Status AddDocuments(const std::vector<DocumentRecord>& documents);
  absl::Status AddEntities(const std::vector<EntityRecord>& entities);
  absl::Status AddRelations(const std::vector<RelationRecord>& relations);
  absl::Status AddRetractions(const std::vector<Retraction>& retractions);

  rocksdb::WriteBatch& batch() { return batch_; }
  CommitResult& result() { return result_; }
  ChangeRecord& change() { return change_; }
  bool relation_counter_moved() const { return relation_counter_moved_; }

 private:
  absl::StatusOr<bool> EntityExists(const std::string& id) {
    if (batch_entities_.contains(id)) return true;
    return Known<EntityRecord>(Cf::kEntities, id, &store_->known_entities_);
  }
  absl::StatusOr<bool> DocumentExists(const std::string& id) {
    if (batch_documents_.contains(id)) return true;
    return Known<DocumentRecord>(Cf::kDocuments, id, &store_->known_documents_);
  }
  // Whether `id` was committed before this revision. A relation names two entities, so
  // without the cache every relation cost two more seeks (16% of an ICEWS load, profiled).
  template <typename Record>
  absl::StatusOr<bool> Known(Cf family, const std::string& id, absl::flat_hash_set<std::string>* known) {
    if (known->contains(id)) return true;
    Record ignored;
    ASSIGN_OR_RETURN(bool found, store_->LoadVersion(family, id, rev_ - 1, &ignored));
    if (found) {
      if (known->size() >= kKnownIdsCap) known->clear();
      known->insert(id);
    }
    return found;
  }
  void Put(Cf family, const std::string& k, const std::string& v) {
    batch_.Put(store_->cf(family), k, v);
  }
  void Record(ChangeEntry::Kind kind, const std::string& id, int64_t previous) {
    auto* entry = change_.add_changes();
    entry->set_kind(kind);
    entry->set_id(id);
    entry->set_previous_revision(previous);
  }
  // Marks a relation version's index entries as replaced at this revision.
  void CloseIndexEntries(const RelationRecord& previous) {
    auto bounds = BoundsOf(previous.valid());
    if (!bounds.ok()) return;  // never stored: validated when written
    IndexValue closed{rev_, *bounds, previous.status()};
    const std::string value = EncodeIndexValue(closed);
    ForEachIndexKey(previous, *bounds, previous.revision(),
                    [&](Cf family, const std::string& k) { Put(family, k, value); });
  }
  absl::StatusOr<std::string> AssignRelationId();

  Store* store_;
  const int64_t rev_, now_;
  rocksdb::WriteBatch batch_;
  CommitResult result_;
  ChangeRecord change_;
  std::vector<ItemError> errors_;
  absl::flat_hash_set<std::string> batch_entities_, batch_documents_, batch_relations_;
  bool relation_counter_moved_ = false;
};

absl::Status Store::CommitBuilder::AddDocuments(const std::vector<DocumentRecord>& documents) {
  for (size_t i = 0; i < documents.size(); ++i) {
    const DocumentRecord& doc = documents[i];
    result_.document_ids.push_back(doc.id());
    if (!batch_documents_.insert(doc.id()).second) {
      Fail(absl::StrCat("documents[", i, "].id"), absl::StrCat("'", doc.id(), "' appears twice in the request"));
      continue;
    }
    DocumentRecord previous;
    ASSIGN_OR_RETURN(bool had, store_->LoadVersion(Cf::kDocuments, doc.id(), rev_ - 1, &previous));
    if (had && Canonical(previous) == Canonical(doc)) {
      ++result_.unchanged_count;
      continue;
    }
    DocumentRecord rec = doc;
    rec.set_revision(rev_);
    rec.set_recorded_at_micros(now_);
    Put(Cf::kDocuments, key::Version(doc.id(), rev_), rec.SerializeAsString());
    Record(ChangeEntry::DOCUMENT_PUT, doc.id(), had ? previous.revision() : 0);
    ++result_.documents_written;
  }
  return absl::OkStatus();
}

absl::Status Store::CommitBuilder::AddEntities(const std::vector<EntityRecord>& entities) {
  const std::string open = U64Value(kOpen), closed = U64Value(rev_);
  for (size_t i = 0; i < entities.size(); ++i) {
    const EntityRecord& entity = entities[i];
    result_.entity_ids.push_back(entity.id());
    if (!batch_entities_.insert(entity.id()).second) {
      Fail(absl::StrCat("entities[", i, "].id"), absl::StrCat("'", entity.id(), "' appears twice in the request"));
      continue;
    }
    EntityRecord previous;
    ASSIGN_OR_RETURN(bool had, store_->LoadVersion(Cf::kEntities, entity.id(), rev_ - 1, &previous));
    if (had && Canonical(previous) == Canonical(entity)) {
      ++result_.unchanged_count;
      continue;
    }
    EntityRecord rec = entity;
    rec.set_revision(rev_);
    rec.set_recorded_at_micros(now_);
    Put(Cf::kEntities, key::Version(entity.id(), rev_), rec.SerializeAsString());
    if (had)
      for (const auto& term : EntityTerms(previous))
        Put(Cf::kNames, key::Name(term, entity.id(), previous.revision()), closed);
    for (const auto& term : EntityTerms(rec))
      Put(Cf::kNames, key::Name(term, entity.id(), rev_), open);
    Record(ChangeEntry::ENTITY_UPSERTED, entity.id(), had ? previous.revision() : 0);
    ++result_.entities_written;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Store::CommitBuilder::AssignRelationId() {
  // Server ids are "r" + a counter; a client may have taken one already, so skip those.
  for (;;) {
    std::string id = absl::StrCat("r", store_->next_relation_++);
    relation_counter_moved_ = true;
    if (batch_relations_.contains(id)) continue;
    RelationRecord ignored;
    ASSIGN_OR_RETURN(bool taken, store_->LoadVersion(Cf::kRelations, id, rev_ - 1, &ignored));
    if (!taken) return id;
  }
}

absl::Status Store::CommitBuilder::AddRelations(const std::vector<RelationRecord>& relations) {
  for (size_t i = 0; i < relations.size(); ++i) {
    const std::string item = absl::StrCat("relations[", i, "]");
    RelationRecord rec = relations[i];
    if (rec.id().empty()) {
      ASSIGN_OR_RETURN(std::string id, AssignRelationId());
      rec.set_id(std::move(id));
    }
    result_.relation_ids.push_back(rec.id());
    if (!batch_relations_.insert(rec.id()).second) {
      Fail(item + ".id", absl::StrCat("'", rec.id(), "' appears twice in the request"));
      continue;
    }
    ASSIGN_OR_RETURN(bool subject_exists, EntityExists(rec.subject()));
    if (!subject_exists)
      Fail(item + ".subject", absl::StrCat("entity '", rec.subject(), "' does not exist"));
    if (rec.object_case() == RelationRecord::kObjectId) {
      ASSIGN_OR_RETURN(bool object_exists, EntityExists(rec.object_id()));
      if (!object_exists)
        Fail(item + ".object_id", absl::StrCat("entity '", rec.object_id(), "' does not exist"));
    }
    for (int s = 0; s < rec.sources_size(); ++s) {
      ASSIGN_OR_RETURN(bool doc_exists, DocumentExists(rec.sources(s).document_id()));
      if (!doc_exists)
        Fail(absl::StrCat(item, ".sources[", s, "].document_id"),
             absl::StrCat("document '", rec.sources(s).document_id(), "' does not exist"));
    }
    auto bounds = BoundsOf(rec.valid());
    if (!bounds.ok()) {
      const std::string msg(bounds.status().message());
      const size_t colon = msg.find(": ");
      Fail(absl::StrCat(item, ".valid.", msg.substr(0, colon)), msg.substr(colon + 2));
      continue;
    }
    RelationRecord previous;
    ASSIGN_OR_RETURN(bool had, store_->LoadVersion(Cf::kRelations, rec.id(), rev_ - 1, &previous));
    rec.set_retracted(false);
    rec.clear_retraction_reason();
    if (had && Canonical(previous) == Canonical(rec)) {
      ++result_.unchanged_count;
      continue;
    }
    rec.set_revision(rev_);
    rec.set_recorded_at_micros(now_);
    Put(Cf::kRelations, key::Version(rec.id(), rev_), rec.SerializeAsString());
    if (had && !previous.retracted()) CloseIndexEntries(previous);
    const std::string value = EncodeIndexValue({kOpen, *bounds, rec.status()});
    ForEachIndexKey(rec, *bounds, rev_, [&](Cf family, const std::string& k) { Put(family, k, value); });
    Record(ChangeEntry::RELATION_PUT, rec.id(), had ? previous.revision() : 0);
    ++result_.relations_written;
  }
  return absl::OkStatus();
}

absl::Status Store::CommitBuilder::AddRetractions(const std::vector<Retraction>& retractions) {
  for (const Retraction& r : retractions) {
    RelationRecord previous;
    ASSIGN_OR_RETURN(bool had, store_->LoadVersion(Cf::kRelations, r.id, rev_ - 1, &previous));
    if (!had) return absl::NotFoundError(absl::StrCat("id: relation '", r.id, "' does not exist"));
    if (previous.retracted())
      return absl::FailedPreconditionError(absl::StrCat(
          "id: relation '", r.id, "' was already retracted at revision ", previous.revision()));
    if (!batch_relations_.insert(r.id).second)
      return absl::InvalidArgumentError(absl::StrCat("id: '", r.id, "' appears twice in the request"));
    RelationRecord rec = previous;
    rec.set_retracted(true);
    rec.set_retraction_reason(r.reason);
    rec.set_revision(rev_);
    rec.set_recorded_at_micros(now_);
    Put(Cf::kRelations, key::Version(r.id, rev_), rec.SerializeAsString());
    CloseIndexEntries(previous);
    Record(ChangeEntry::RELATION_RETRACTED, r.id, previous.revision());
    result_.relation_ids.push_back(r.id);
    ++result_.relations_written;
  }
  return absl::OkStatus();
}

absl::StatusOr<CommitResult> Store::Commit(const WriteSet& batch, std::vector<ItemError>* errors) {
  std::lock_guard<std::mutex> lock(commit_mu_);
  const int64_t now = std::max(absl::ToUnixMicros(absl::Now()), last_recorded_micros_);
  const int64_t latest = LatestRevision();

  // A request_id seen before: the same payload replays its first result, another one is refused.
  if (!batch.request_id.empty()) {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(Cf::kRequests), batch.request_id, &value);
    if (!s.IsNotFound()) {
      RETURN_IF_ERROR(FromRocks(s));
      RequestRecord seen;
      if (!seen.ParseFromString(value)) return absl::DataLossError("unreadable request record");
      const bool expired = now - seen.recorded_at_micros() > absl::ToInt64Microseconds(options_.request_id_ttl);
      if (!expired) {
        if (seen.fingerprint() != batch.fingerprint)
          return absl::AlreadyExistsError(absl::StrCat(
              "request_id: '", batch.request_id, "' was used at revision ", seen.revision(),
              " for a different request"));
        CommitResult replay;
        replay.replayed = true;
        replay.revision = seen.revision();
        replay.recorded_at_micros = seen.recorded_at_micros();
        replay.entity_ids.assign(seen.entity_ids().begin(), seen.entity_ids().end());
        replay.document_ids.assign(seen.document_ids().begin(), seen.document_ids().end());
        replay.relation_ids.assign(seen.relation_ids().begin(), seen.relation_ids().end());
        replay.entities_written = seen.entities_written();
        replay.documents_written = seen.documents_written();
        replay.relations_written = seen.relations_written();
        replay.unchanged_count = seen.unchanged_count();
        return replay;
      }
    }
  }

  const int64_t rev = latest + 1;
  const int64_t next_relation_before = next_relation_;
  CommitBuilder builder(this, rev, now);
  absl::Status built = builder.AddDocuments(batch.documents);
  if (built.ok()) built = builder.AddEntities(batch.entities);
  if (built.ok()) built = builder.AddRelations(batch.relations);
  if (built.ok()) built = builder.AddRetractions(batch.retractions);
  if (built.ok() && !builder.errors().empty()) {
    const ItemError& first = builder.errors().front();
    built = absl::InvalidArgumentError(absl::StrCat(first.field, ": ", first.description));
    if (errors) *errors = builder.errors();
  }
  if (!built.ok()) {
    next_relation_ = next_relation_before;  // ids handed out by a failed batch are reused
    return built;
  }

  CommitResult& result = builder.result();
  rocksdb::WriteBatch& wb = builder.batch();
  const bool wrote = result.written_count() > 0;
  result.revision = wrote ? rev : latest;
  result.recorded_at_micros = now;
  // Retention: drop change-log records behind the horizon, a thousand revisions at a time
  // so the range tombstones stay few.
  const int64_t horizon = options_.retain_revisions > 0 ? std::max<int64_t>(0, rev - options_.retain_revisions) : 0;
  const bool prune = wrote && horizon >= pruned_through_ + 1000;
  if (prune) {
    wb.DeleteRange(cf(Cf::kChanges), key::Change(0), key::Change(horizon + 1));
    wb.Put(cf(Cf::kMeta), "pruned_through", U64Value(horizon));
  }
  if (wrote) {
    ChangeRecord& change = builder.change();
    change.set_revision(rev);
    change.set_recorded_at_micros(now);
    change.set_request_id(batch.request_id);
    wb.Put(cf(Cf::kChanges), key::Change(rev), change.SerializeAsString());
    wb.Put(cf(Cf::kMeta), "revision", U64Value(rev));
  }
  if (builder.relation_counter_moved())
    wb.Put(cf(Cf::kMeta), "next_relation", U64Value(next_relation_));
  if (!batch.request_id.empty()) {
    RequestRecord seen;
    seen.set_fingerprint(batch.fingerprint);
    seen.set_revision(result.revision);
    seen.set_recorded_at_micros(now);
    for (const auto& id : result.entity_ids) seen.add_entity_ids(id);
    for (const auto& id : result.document_ids) seen.add_document_ids(id);
    for (const auto& id : result.relation_ids) seen.add_relation_ids(id);
    seen.set_entities_written(result.entities_written);
    seen.set_documents_written(result.documents_written);
    seen.set_relations_written(result.relations_written);
    seen.set_unchanged_count(result.unchanged_count);
    wb.Put(cf(Cf::kRequests), batch.request_id, seen.SerializeAsString());
  }
  if (wb.Count() > 0) {
    rocksdb::WriteOptions wo;
    wo.sync = options_.sync;
    if (auto s = FromRocks(db_->Write(wo, &wb)); !s.ok()) {
      next_relation_ = next_relation_before;
      return s;
    }
  }
  if (wrote) {
    last_recorded_micros_ = now;
    if (prune) pruned_through_ = horizon;
    latest_revision_.store(rev, std::memory_order_release);
    if (commit_listener_) commit_listener_(rev);
  }
  return std::move(result);
}

}  // namespace annals::storage
