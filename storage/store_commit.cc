// The single committer, and the commit log's apply (docs/commit-log.md).
//
// Every write becomes a LogEntry first. Store::Commit stamps a validated WriteSet into an
// entry (position, recorded time, relation ids), builds the entry's WriteBatch against the
// store at its head, and writes that batch, the entry itself and the request record in one
// RocksDB write. Store::Apply takes an entry written elsewhere (a replay, a follower) and
// builds the same batch the same way: BuildEntry reads nothing but the entry and the store,
// so the two paths cannot drift apart.
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <map>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "storage/index_entries.h"
#include "storage/rocks_status.h"
#include "storage/status_macros.h"
#include "storage/store.h"
#include "storage/version_writer.h"

namespace annals::storage {
namespace {

constexpr size_t kMaxReportedErrors = 100;
// Entries in each existence cache of the committer (about 64 bytes each) before it starts over.
constexpr size_t kKnownIdsCap = 1 << 20;

class WriteBatchSink : public KeySink {
 public:
  WriteBatchSink(rocksdb::WriteBatch& batch, const std::vector<rocksdb::ColumnFamilyHandle*>& handles)
      : batch_(batch), handles_(handles) {}
  void Put(Cf family, std::string_view k, std::string_view v) override {
    batch_.Put(handles_[static_cast<int>(family)], rocksdb::Slice(k.data(), k.size()),
               rocksdb::Slice(v.data(), v.size()));
  }

 private:
  rocksdb::WriteBatch& batch_;
  const std::vector<rocksdb::ColumnFamilyHandle*>& handles_;
};

// Whether `relation` names the entity or cites the document `d` deletes.
bool Names(const RelationRecord& relation, const DeletionItem& d) {
  if (d.kind() == DeletionItem::ENTITY)
    return relation.subject() == d.id() ||
           (relation.object_case() == RelationRecord::kObjectId && relation.object_id() == d.id());
  return std::any_of(relation.sources().begin(), relation.sources().end(),
                     [&](const Source& s) { return s.document_id() == d.id(); });
}

// Every relation, whatever its status, that names the entity or cites the document that
// `kind` and `id` delete: what a deletion's check and its cascade both read.
RelationFilter ReferringTo(DeletionItem::Kind kind, const std::string& id) {
  RelationFilter f;
  (kind == DeletionItem::ENTITY ? f.entity_id : f.document_id) = id;
  f.statuses = EveryStatus();
  f.as_written = true;  // what names this very id, not what a merge shows under it
  return f;
}

// Whether `message` or any message inside it holds fields this build does not know.
bool HasUnknownFields(const google::protobuf::Message& message) {
  const google::protobuf::Reflection* reflection = message.GetReflection();
  if (!reflection->GetUnknownFields(message).empty()) return true;
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const auto* field : fields) {
    if (field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(message, field); ++i)
        if (HasUnknownFields(reflection->GetRepeatedMessage(message, field, i))) return true;
    } else if (HasUnknownFields(reflection->GetMessage(message, field))) {
      return true;
    }
  }
  return false;
}

}  // namespace

RequestRecord ResponseOf(const CommitResult& result, const std::string& fingerprint) {
  RequestRecord seen;
  seen.set_fingerprint(fingerprint);
  seen.set_revision(result.revision);
  seen.set_recorded_at_micros(result.recorded_at_micros);
  for (const auto& id : result.entity_ids) seen.add_entity_ids(id);
  for (const auto& id : result.document_ids) seen.add_document_ids(id);
  for (const auto& id : result.relation_ids) seen.add_relation_ids(id);
  seen.set_entities_written(result.entities_written);
  seen.set_documents_written(result.documents_written);
  seen.set_relations_written(result.relations_written);
  seen.set_unchanged_count(result.unchanged_count);
  return seen;
}

CommitResult ResultOf(const RequestRecord& seen) {
  CommitResult result;
  result.revision = seen.revision();
  result.recorded_at_micros = seen.recorded_at_micros();
  result.entity_ids.assign(seen.entity_ids().begin(), seen.entity_ids().end());
  result.document_ids.assign(seen.document_ids().begin(), seen.document_ids().end());
  result.relation_ids.assign(seen.relation_ids().begin(), seen.relation_ids().end());
  result.entities_written = seen.entities_written();
  result.documents_written = seen.documents_written();
  result.relations_written = seen.relations_written();
  result.unchanged_count = seen.unchanged_count();
  return result;
}

// Builds one entry's WriteBatch while checking its items against the store at rev - 1.
// Field paths in errors name the items by their index in the entry, which is their index
// in the request that made it.
class Store::EntryBuilder {
 public:
  EntryBuilder(Store* store, int64_t rev, int64_t recorded_at)
      : store_(store), rev_(rev), sink_(batch_, store->handles_), writer_(sink_, rev, recorded_at) {
    result_.recorded_at_micros = recorded_at;
  }

  void Fail(std::string field, std::string description) {
    if (errors_.size() < kMaxReportedErrors) errors_.push_back({std::move(field), std::move(description)});
  }
  const std::vector<ItemError>& errors() const { return errors_; }

  absl::Status AddDocuments(const google::protobuf::RepeatedPtrField<DocumentRecord>& documents);
  absl::Status AddEntities(const google::protobuf::RepeatedPtrField<EntityRecord>& entities);
  absl::Status AddRelations(const google::protobuf::RepeatedPtrField<RelationRecord>& relations);
  absl::Status AddRetractions(const google::protobuf::RepeatedPtrField<RetractionItem>& retractions);
  absl::Status AddMerges(const google::protobuf::RepeatedPtrField<MergeItem>& merges);
  // Last: a deletion is checked against what the entry's other items leave current.
  absl::Status AddDeletions(const google::protobuf::RepeatedPtrField<DeletionItem>& deletions);

  rocksdb::WriteBatch& batch() { return batch_; }
  CommitResult& result() { return result_; }
  ChangeRecord& change() { return writer_.mutable_change(); }

 private:
  absl::StatusOr<bool> EntityExists(const std::string& id) {
    if (batch_entities_.contains(id)) return true;
    return Known<EntityRecord>(Cf::kEntities, id, &store_->known_entities_);
  }
  absl::StatusOr<bool> DocumentExists(const std::string& id) {
    if (batch_documents_.contains(id)) return true;
    return Known<DocumentRecord>(Cf::kDocuments, id, &store_->known_documents_);
  }
  // Whether `id` was committed before this revision and not deleted since. A relation
  // names two entities, so without the cache every relation cost two more seeks (16% of an
  // ICEWS load, profiled). The cache only remembers what the store says, so it changes no
  // answer (a deletion takes its id out: WriteEntryLocked).
  template <typename Record>
  absl::StatusOr<bool> Known(Cf family, const std::string& id, absl::flat_hash_set<std::string>* known) {
    if (known->contains(id)) return true;
    Record current;
    ASSIGN_OR_RETURN(bool found, store_->LoadVersion(family, id, rev_ - 1, &current));
    found = found && !current.deleted();
    if (found) {
      if (known->size() >= kKnownIdsCap) known->clear();
      known->insert(id);
    }
    return found;
  }

  Store* store_;
  const int64_t rev_;
  rocksdb::WriteBatch batch_;
  WriteBatchSink sink_;
  VersionWriter writer_;
  CommitResult result_;
  std::vector<ItemError> errors_;
  absl::flat_hash_set<std::string> batch_entities_, batch_documents_, batch_relations_;
  // The relations this entry puts (their new versions) and retracts, for the deletions' checks.
  absl::flat_hash_map<std::string, const RelationRecord*> batch_puts_;
  absl::flat_hash_set<std::string> batch_retracted_;
};

absl::Status Store::EntryBuilder::AddDocuments(const google::protobuf::RepeatedPtrField<DocumentRecord>& documents) {
  for (int i = 0; i < documents.size(); ++i) {
    const DocumentRecord& doc = documents[i];
    result_.document_ids.push_back(doc.id());
    if (!batch_documents_.insert(doc.id()).second) {
      Fail(absl::StrCat("documents[", i, "].id"), absl::StrCat("'", doc.id(), "' appears twice in the request"));
      continue;
    }
    DocumentRecord previous;
    ASSIGN_OR_RETURN(bool had, store_->LoadVersion(Cf::kDocuments, doc.id(), rev_ - 1, &previous));
    if (VersionWriter::Unchanged(had ? &previous : nullptr, doc)) {
      ++result_.unchanged_count;
      continue;
    }
    writer_.Document(doc, had ? &previous : nullptr);
    ++result_.documents_written;
  }
  return absl::OkStatus();
}

absl::Status Store::EntryBuilder::AddEntities(const google::protobuf::RepeatedPtrField<EntityRecord>& entities) {
  for (int i = 0; i < entities.size(); ++i) {
    const EntityRecord& entity = entities[i];
    result_.entity_ids.push_back(entity.id());
    if (!batch_entities_.insert(entity.id()).second) {
      Fail(absl::StrCat("entities[", i, "].id"), absl::StrCat("'", entity.id(), "' appears twice in the request"));
      continue;
    }
    if (!entity.merged_into().empty() || !entity.redirected_from().empty() || entity.merged_ids_size() > 0) {
      Fail(absl::StrCat("entities[", i, "].merged_into"), "is written by MergeEntities only");
      continue;
    }
    EntityRecord previous;
    ASSIGN_OR_RETURN(bool had, store_->LoadVersion(Cf::kEntities, entity.id(), rev_ - 1, &previous));
    if (had && !previous.merged_into().empty())
      return FieldFailure(absl::StatusCode::kFailedPrecondition, absl::StrCat("entities[", i, "].id"),
                          absl::StrCat("entity '", entity.id(), "' is merged into '",
                                       store_->redirects_.Resolve(entity.id(), rev_ - 1),
                                       "': write the survivor, or unmerge it first"));
    if (VersionWriter::Unchanged(had ? &previous : nullptr, entity)) {
      ++result_.unchanged_count;
      continue;
    }
    writer_.Entity(entity, had ? &previous : nullptr);
    ++result_.entities_written;
  }
  return absl::OkStatus();
}

absl::Status Store::EntryBuilder::AddRelations(const google::protobuf::RepeatedPtrField<RelationRecord>& relations) {
  for (int i = 0; i < relations.size(); ++i) {
    const std::string item = absl::StrCat("relations[", i, "]");
    RelationRecord rec = relations[i];
    if (rec.id().empty()) return absl::InternalError(absl::StrCat(item, ": no id (the writer assigns them)"));
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
      for (const ItemError& e : ReportedErrors(bounds.status())) Fail(JoinField(item + ".valid", e.field), e.description);
      continue;
    }
    RelationRecord previous;
    ASSIGN_OR_RETURN(bool had, store_->LoadVersion(Cf::kRelations, rec.id(), rev_ - 1, &previous));
    rec.set_retracted(false);
    rec.clear_retraction_reason();
    if (VersionWriter::Unchanged(had ? &previous : nullptr, rec)) {
      ++result_.unchanged_count;
      continue;
    }
    writer_.Relation(rec, *bounds, had ? &previous : nullptr);
    batch_puts_[rec.id()] = &relations[i];
    ++result_.relations_written;
  }
  return absl::OkStatus();
}

absl::Status Store::EntryBuilder::AddRetractions(const google::protobuf::RepeatedPtrField<RetractionItem>& retractions) {
  for (int i = 0; i < retractions.size(); ++i) {
    const RetractionItem& r = retractions[i];
    RelationRecord previous;
    ASSIGN_OR_RETURN(bool had, store_->LoadVersion(Cf::kRelations, r.id(), rev_ - 1, &previous));
    const std::string field = absl::StrCat("retractions[", i, "].id");
    if (!had) return FieldFailure(absl::StatusCode::kNotFound, field, absl::StrCat("relation '", r.id(), "' does not exist"));
    if (previous.retracted())
      return FieldFailure(absl::StatusCode::kFailedPrecondition, field,
                          absl::StrCat("relation '", r.id(), "' was already retracted at revision ", previous.revision()));
    if (!batch_relations_.insert(r.id()).second)
      return FieldFailure(absl::StatusCode::kInvalidArgument, field, absl::StrCat("'", r.id(), "' appears twice in the request"));
    writer_.Retraction(previous, r.reason());
    batch_retracted_.insert(r.id());
    result_.relation_ids.push_back(r.id());
    ++result_.relations_written;
  }
  return absl::OkStatus();
}

absl::Status Store::EntryBuilder::AddDeletions(const google::protobuf::RepeatedPtrField<DeletionItem>& deletions) {
  absl::flat_hash_set<std::string> deleted_entities, deleted_documents;
  for (int i = 0; i < deletions.size(); ++i) {
    const DeletionItem& d = deletions[i];
    const std::string field = absl::StrCat("deletions[", i, "].id");
    const bool entity = d.kind() == DeletionItem::ENTITY;
    if (!entity && d.kind() != DeletionItem::DOCUMENT)
      return FieldFailure(absl::StatusCode::kInvalidArgument, absl::StrCat("deletions[", i, "].kind"),
                          "must be ENTITY or DOCUMENT");
    const char* what = entity ? "entity" : "document";
    if (!(entity ? deleted_entities : deleted_documents).insert(d.id()).second ||
        (entity ? batch_entities_ : batch_documents_).contains(d.id()))
      return FieldFailure(absl::StatusCode::kInvalidArgument, field,
                          absl::StrCat("'", d.id(), "' appears twice in the request"));
    // The version current before this entry: there must be one, and not a tombstone.
    EntityRecord entity_record;
    DocumentRecord document_record;
    google::protobuf::Message* current = entity ? static_cast<google::protobuf::Message*>(&entity_record)
                                                : static_cast<google::protobuf::Message*>(&document_record);
    ASSIGN_OR_RETURN(bool had, store_->LoadVersion(entity ? Cf::kEntities : Cf::kDocuments, d.id(), rev_ - 1, current));
    if (!had || entity_record.deleted() || document_record.deleted())
      return FieldFailure(absl::StatusCode::kNotFound, field, absl::StrCat(what, " '", d.id(), "' does not exist"));
    // Merges point at entities: neither end of one may go while it stands.
    if (entity && !entity_record.merged_into().empty())
      return FieldFailure(absl::StatusCode::kFailedPrecondition, field,
                          absl::StrCat("entity '", d.id(), "' is merged into '", entity_record.merged_into(),
                                       "'; unmerge it first"));
    if (entity) {
      const std::vector<std::string> members = store_->redirects_.Members(d.id(), rev_ - 1);
      if (!members.empty())
        return FieldFailure(absl::StatusCode::kFailedPrecondition, field,
                            absl::StrCat("entity '", d.id(), "' is the survivor of ", members.size(),
                                         " merged entit", members.size() == 1 ? "y" : "ies", " (first: '",
                                         members.front(), "'); unmerge them first"));
    }
    // Every relation current before this entry that names it must leave it in this entry:
    // retracted, or put again without it.
    const RelationFilter referring = ReferringTo(d.kind(), d.id());
    int64_t still = 0;
    std::string first, cursor;
    absl::flat_hash_set<std::string> counted;
    do {
      ASSIGN_OR_RETURN(RelationPage page, store_->FindRelations(referring, rev_ - 1, cursor, 1000, View::kBasic));
      for (const RelationHit& hit : page.hits) {
        const std::string& id = hit.relation.id();
        if (batch_retracted_.contains(id)) continue;
        auto put = batch_puts_.find(id);
        if (put != batch_puts_.end() && !Names(*put->second, d)) continue;
        if (!counted.insert(id).second) continue;  // a self-relation is found from both ends
        if (still++ == 0) first = id;
      }
      cursor = std::move(page.next_cursor);
    } while (!cursor.empty());
    if (still > 0)
      return FieldFailure(absl::StatusCode::kFailedPrecondition, field,
                          absl::StrCat(what, " '", d.id(), "' is ", entity ? "named" : "cited", " by ", still,
                                       " current relation", still == 1 ? "" : "s", " (first: '", first,
                                       "'); retract them first, or delete with cascade"));
    if (entity) {
      writer_.EntityTombstone(entity_record);
      result_.entity_ids.push_back(d.id());
      ++result_.entities_written;
    } else {
      writer_.DocumentTombstone(document_record);
      result_.document_ids.push_back(d.id());
      ++result_.documents_written;
    }
  }
  // Nor may a relation this entry puts name what it deletes.
  for (const auto& [id, rec] : batch_puts_) {
    for (const DeletionItem& d : deletions)
      if (Names(*rec, d))
        return FieldFailure(absl::StatusCode::kInvalidArgument, "deletions",
                            absl::StrCat("relation '", id, "' of the same request names '", d.id(), "', which it deletes"));
  }
  batch_puts_.clear();  // pointers into the entry, which outlives this builder's checks
  return absl::OkStatus();
}

absl::Status Store::EntryBuilder::AddMerges(const google::protobuf::RepeatedPtrField<MergeItem>& merges) {
  // Where each entity of this entry points after the items so far ("" : not merged), so
  // that later items are checked against earlier ones.
  absl::flat_hash_map<std::string, std::string> now;
  std::map<std::string, EntityRecord> current;  // a std::map: pointers into it stay valid
  const auto load = [&](const std::string& id, const std::string& field) -> absl::StatusOr<EntityRecord*> {
    auto it = current.find(id);
    if (it != current.end()) return &it->second;
    EntityRecord rec;
    ASSIGN_OR_RETURN(bool had, store_->LoadVersion(Cf::kEntities, id, rev_ - 1, &rec));
    if (!had || rec.deleted())
      return FieldFailure(absl::StatusCode::kNotFound, field, absl::StrCat("entity '", id, "' does not exist"));
    now[id] = rec.merged_into();
    return &(current[id] = std::move(rec));
  };
  // The longest chain ending at each entity this entry merged something into, or merges.
  absl::flat_hash_map<std::string, int> depth;
  const auto depth_of = [&](const std::string& id) {
    auto it = depth.find(id);
    return it != depth.end() ? it->second : store_->redirects_.Depth(id, rev_ - 1);
  };
  // The survivor `id` stands for now (the end of its chain).
  const auto resolve = [&](const std::string& id) {
    std::string at = id;
    for (int step = 0; step < Redirects::kMaxChain; ++step) {
      auto it = now.find(at);
      const std::string next = it != now.end() ? it->second : store_->redirects_.TargetAt(at, rev_ - 1);
      if (next.empty()) break;
      at = next;
    }
    return at;
  };
  for (int i = 0; i < merges.size(); ++i) {
    const MergeItem& m = merges[i];
    const std::string id_field = absl::StrCat("merges[", i, "].id");
    const std::string into_field = absl::StrCat("merges[", i, "].into");
    if (m.id().empty()) return FieldFailure(absl::StatusCode::kInvalidArgument, id_field, "is required");
    if (!batch_entities_.insert(m.id()).second)
      return FieldFailure(absl::StatusCode::kInvalidArgument, id_field,
                          absl::StrCat("'", m.id(), "' appears twice in the request"));
    ASSIGN_OR_RETURN(EntityRecord* previous, load(m.id(), id_field));
    const std::string was = now[m.id()];
    if (m.into().empty()) {  // an unmerge
      if (was.empty())
        return FieldFailure(absl::StatusCode::kFailedPrecondition, id_field,
                            absl::StrCat("entity '", m.id(), "' is not merged"));
    } else {
      if (m.into() == m.id())
        return FieldFailure(absl::StatusCode::kInvalidArgument, into_field,
                            absl::StrCat("entity '", m.id(), "' cannot be merged into itself"));
      if (!was.empty())
        return FieldFailure(absl::StatusCode::kFailedPrecondition, id_field,
                            absl::StrCat("entity '", m.id(), "' is already merged into '", resolve(m.id()),
                                         "'; unmerge it first"));
      ASSIGN_OR_RETURN(EntityRecord* into, load(m.into(), into_field));
      if (!into->merged_into().empty() || !now[m.into()].empty())
        return FieldFailure(absl::StatusCode::kFailedPrecondition, into_field,
                            absl::StrCat("entity '", m.into(), "' is itself merged into '", resolve(m.into()),
                                         "'; merge into that one"));
      // Unreachable while no merged entity can be a target, kept as the rule it enforces.
      if (resolve(m.into()) == m.id())
        return FieldFailure(absl::StatusCode::kFailedPrecondition, into_field, "the merge would make a cycle");
      // Reads follow a chain at most Redirects::kMaxChain steps.
      const int chain = depth_of(m.id()) + 1;
      if (chain >= Redirects::kMaxChain)
        return FieldFailure(absl::StatusCode::kFailedPrecondition, id_field,
                            absl::StrCat("merging '", m.id(), "' would make a chain of ", chain,
                                         " merges; at most ", Redirects::kMaxChain - 1, " are followed"));
      depth[m.id()] = depth_of(m.id());
      depth[m.into()] = std::max(depth_of(m.into()), chain);
    }
    writer_.Merge(*previous, m.into());
    previous->set_merged_into(m.into());
    previous->set_revision(rev_);
    now[m.id()] = m.into();
    result_.entity_ids.push_back(m.id());
    ++result_.entities_written;
  }
  return absl::OkStatus();
}

int64_t Store::NextRecordedTimeLocked() const {
  // Recorded time never goes backwards and never repeats, whatever the clock does.
  const int64_t now = options_.clock ? options_.clock() : absl::ToUnixMicros(absl::Now());
  return std::max(now, last_recorded_micros_ + 1);
}

absl::StatusOr<std::string> Store::AssignRelationIdLocked(const absl::flat_hash_set<std::string>& taken, int64_t rev) {
  // Server ids are "r" + a counter; a client may have taken one already, so skip those.
  for (;;) {
    std::string id = absl::StrCat("r", next_relation_++);
    if (taken.contains(id)) continue;
    RelationRecord ignored;
    ASSIGN_OR_RETURN(bool exists, LoadVersion(Cf::kRelations, id, rev - 1, &ignored));
    if (!exists) return id;
  }
}

absl::StatusOr<Store::BuiltEntry> Store::BuildEntryLocked(const LogEntry& entry) {
  const int64_t rev = LatestRevision() + 1;
  auto builder = std::make_unique<EntryBuilder>(this, rev, entry.recorded_at_micros());
  RETURN_IF_ERROR(builder->AddDocuments(entry.documents()));
  RETURN_IF_ERROR(builder->AddEntities(entry.entities()));
  RETURN_IF_ERROR(builder->AddRelations(entry.relations()));
  RETURN_IF_ERROR(builder->AddRetractions(entry.retractions()));
  RETURN_IF_ERROR(builder->AddMerges(entry.merges()));
  RETURN_IF_ERROR(builder->AddDeletions(entry.deletions()));
  if (!builder->errors().empty()) return FieldFailure(absl::StatusCode::kInvalidArgument, builder->errors());
  BuiltEntry built;
  built.wrote = builder->result().written_count() > 0;
  built.result = std::move(builder->result());
  built.result.revision = built.wrote ? rev : LatestRevision();
  built.builder = std::move(builder);
  return built;
}

LogEntry Store::NewEntryLocked(int64_t recorded_at) const {
  LogEntry entry;
  entry.set_format(kLogEntryFormat);
  entry.set_position(LastPosition() + 1);
  entry.set_recorded_at_micros(recorded_at);
  entry.set_writer(options_.writer);
  return entry;
}

absl::Status Store::WriteEntryLocked(const LogEntry& entry, BuiltEntry& built) {
  EntryBuilder& b = *built.builder;
  rocksdb::WriteBatch& wb = b.batch();
  const int64_t rev = built.wrote ? LatestRevision() + 1 : 0;  // entry.revision(), as stamped or checked

  int64_t horizon = 0, new_log_start = 0;
  bool prune = false;
  if (built.wrote) {
    ChangeRecord& change = b.change();
    change.set_request_id(entry.request_id());
    change.set_position(entry.position());
    wb.Put(cf(Cf::kChanges), key::Change(rev), SerializeDeterministic(change));
    wb.Put(cf(Cf::kMeta), "revision", U64Value(rev));
    // Retention: drop change-log records (and the log entries up to them) behind the
    // horizon, a thousand revisions at a time so the range tombstones stay few.
    horizon = settings_.retain_revisions() > 0 ? std::max<int64_t>(0, rev - settings_.retain_revisions()) : 0;
    prune = !entry.bulk() && horizon >= pruned_through_ + 1000;
    if (prune) RETURN_IF_ERROR(PruneLocked(wb, horizon, &new_log_start));
  }
  if (entry.next_relation() > 0) wb.Put(cf(Cf::kMeta), "next_relation", U64Value(entry.next_relation()));
  if (entry.has_settings()) wb.Put(cf(Cf::kMeta), "settings", SerializeDeterministic(entry.settings()));
  // An entry rebuilt from a database older than the log has no response (its request
  // records were kept as they were): nothing to remember for it.
  if (!entry.request_id().empty() && entry.has_response())
    wb.Put(cf(Cf::kRequests), entry.request_id(), SerializeDeterministic(entry.response()));
  wb.Put(cf(Cf::kLog), key::Log(entry.position()), SerializeDeterministic(entry));
  wb.Put(cf(Cf::kMeta), "position", U64Value(entry.position()));

  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  RETURN_IF_ERROR(FromRocks(db_->Write(wo, &wb)));
  if (entry.entities_size() > 0 || entry.deletions_size() > 0 || entry.merges_size() > 0) {  // before the revision is published (label_cache.h)
    std::vector<std::string> ids;
    for (const auto& e : entry.entities()) ids.push_back(e.id());
    for (const auto& m : entry.merges()) ids.push_back(m.id());
    for (const auto& d : entry.deletions())
      if (d.kind() == DeletionItem::ENTITY) ids.push_back(d.id());
    labels_.Invalidate(ids);
  }
  for (const auto& m : entry.merges())  // written; readers at `rev` see it once it is published
    redirects_.Record(m.id(), rev, m.into());
  for (const auto& d : entry.deletions())  // no longer there: the next check reads the store
    (d.kind() == DeletionItem::ENTITY ? known_entities_ : known_documents_).erase(d.id());

  // Published only now.
  position_.store(entry.position(), std::memory_order_release);
  last_recorded_micros_ = entry.recorded_at_micros();
  if (entry.next_relation() > 0) next_relation_ = entry.next_relation();
  if (entry.has_settings()) {
    std::lock_guard<std::mutex> lock(settings_mu_);
    settings_ = entry.settings();
  }
  if (prune) pruned_through_ = horizon;
  if (new_log_start > 0) log_start_.store(new_log_start, std::memory_order_release);
  if (built.wrote) {
    latest_revision_.store(rev, std::memory_order_release);
    if (commit_listener_) commit_listener_(rev);
  }
  return absl::OkStatus();
}

absl::Status Store::PruneLocked(rocksdb::WriteBatch& wb, int64_t horizon, int64_t* new_log_start) {
  wb.DeleteRange(cf(Cf::kChanges), key::Change(0), key::Change(horizon + 1));
  wb.Put(cf(Cf::kMeta), "pruned_through", U64Value(horizon));
  // The log entries before the first revision still kept go with them: what they wrote
  // is no longer readable as history, so no replay could start there anyway.
  ASSIGN_OR_RETURN(auto first_kept, GetChange(horizon + 1));
  if (first_kept && first_kept->position() > log_start_.load()) {
    wb.DeleteRange(cf(Cf::kLog), key::Log(0), key::Log(first_kept->position()));
    wb.Put(cf(Cf::kMeta), "log_start", U64Value(first_kept->position()));
    *new_log_start = first_kept->position();  // published once the batch is written
  }
  return absl::OkStatus();
}

absl::StatusOr<Store::Prepared> Store::PrepareLocked(const WriteSet& batch) {
  const int64_t now = NextRecordedTimeLocked();
  Prepared out;

  // A request_id seen before: the same payload replays its first result, another one is refused.
  if (!batch.request_id.empty()) {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(Cf::kRequests), batch.request_id, &value);
    if (!s.IsNotFound()) {
      RETURN_IF_ERROR(FromRocks(s));
      RequestRecord seen;
      if (!seen.ParseFromString(value)) return absl::DataLossError("unreadable request record");
      // Expiry is judged by recorded time against the database's TTL, never by a local
      // clock alone: the same question gets the same answer on every replica.
      const bool expired = now - seen.recorded_at_micros() > settings_.request_id_ttl_micros();
      if (!expired) {
        if (seen.fingerprint() != batch.fingerprint)
          return FieldFailure(absl::StatusCode::kAlreadyExists, "request_id",
                              absl::StrCat("'", batch.request_id, "' was used at revision ", seen.revision(),
                                           " for a different request"));
        out.result = ResultOf(seen);
        out.result.replayed = true;
        return out;
      }
    }
  }

  // The entry: the batch as validated, stamped with position, time and relation ids.
  LogEntry entry = NewEntryLocked(now);
  entry.set_request_id(batch.request_id);
  entry.set_fingerprint(batch.fingerprint);
  for (const auto& d : batch.documents) *entry.add_documents() = d;
  for (const auto& e : batch.entities) *entry.add_entities() = e;
  const int64_t next_relation_before = next_relation_;
  {
    absl::flat_hash_set<std::string> taken;
    for (const auto& r : batch.relations)
      if (!r.id().empty()) taken.insert(r.id());
    for (const auto& r : batch.relations) {
      RelationRecord* rec = entry.add_relations();
      *rec = r;
      if (rec->id().empty()) {
        auto id = AssignRelationIdLocked(taken, LatestRevision() + 1);
        if (!id.ok()) {
          next_relation_ = next_relation_before;
          return id.status();
        }
        rec->set_id(*id);
        taken.insert(*id);
      }
    }
  }
  if (next_relation_ != next_relation_before) entry.set_next_relation(next_relation_);
  next_relation_ = next_relation_before;  // moved for real when the entry is written
  for (const auto& r : batch.retractions) {
    RetractionItem* item = entry.add_retractions();
    item->set_id(r.id);
    item->set_reason(r.reason);
  }
  if (!batch.deletions.empty()) {
    if (!batch.entities.empty() || !batch.documents.empty() || !batch.relations.empty() || !batch.retractions.empty())
      return FieldFailure(absl::StatusCode::kInvalidArgument, "deletions", "a deletion comes in a request of its own");
    RETURN_IF_ERROR(AddDeletionsLocked(batch.deletions, &entry));
  }
  if (!batch.merges.empty()) {
    if (!batch.entities.empty() || !batch.documents.empty() || !batch.relations.empty() ||
        !batch.retractions.empty() || !batch.deletions.empty())
      return FieldFailure(absl::StatusCode::kInvalidArgument, "merges", "a merge comes in a request of its own");
    for (const Merge& m : batch.merges) {
      MergeItem* item = entry.add_merges();
      item->set_id(m.id);
      item->set_into(m.into);
    }
  }

  ASSIGN_OR_RETURN(BuiltEntry built, BuildEntryLocked(entry));
  // Nothing to write and no request id to remember: no entry.
  if (!built.wrote && batch.request_id.empty()) {
    out.result = std::move(built.result);
    return out;
  }
  entry.set_revision(built.wrote ? LatestRevision() + 1 : 0);
  if (!entry.request_id().empty()) *entry.mutable_response() = ResponseOf(built.result, entry.fingerprint());
  out.result = built.result;
  out.entry = std::move(entry);
  out.built = std::move(built);
  return out;
}

absl::Status Store::AddDeletionsLocked(const std::vector<Deletion>& deletions, LogEntry* entry) {
  const int64_t head = LatestRevision();
  // What the cascades do to each relation: retracted (an entity it names is deleted, or
  // every document it cites), or put again with fewer sources. Retraction wins over a put.
  std::map<std::string, std::string> retract;       // relation id -> reason (id order: deterministic)
  std::map<std::string, RelationRecord> reput;      // relation id -> new version
  for (const Deletion& d : deletions) {
    DeletionItem* item = entry->add_deletions();
    item->set_kind(d.kind);
    item->set_id(d.id);
    if (!d.cascade) continue;  // AddDeletions refuses it if anything still refers to it
    const RelationFilter referring = ReferringTo(d.kind, d.id);
    // An entity's cascade only retracts: the index entries name the relations. A document's
    // rewrites their sources, so it reads the records.
    const View view = d.kind == DeletionItem::ENTITY ? View::kBasic : View::kFull;
    std::string cursor;
    do {
      ASSIGN_OR_RETURN(RelationPage page, FindRelations(referring, head, cursor, 1000, view));
      for (RelationHit& hit : page.hits) {
        RelationRecord& r = hit.relation;
        const std::string id = r.id();
        if (retract.contains(id)) continue;
        if (d.kind == DeletionItem::ENTITY) {
          retract[id] = absl::StrCat("entity '", d.id, "' deleted");
          reput.erase(id);
          continue;
        }
        RelationRecord next = reput.contains(id) ? reput[id] : r;
        next.clear_revision();  // stamped when written
        next.clear_recorded_at_micros();
        auto* sources = next.mutable_sources();
        sources->erase(std::remove_if(sources->begin(), sources->end(),
                                      [&](const Source& s) { return s.document_id() == d.id; }),
                       sources->end());
        if (sources->empty()) {
          retract[id] = absl::StrCat("document '", d.id, "' deleted: it was the only source");
          reput.erase(id);
        } else {
          reput[id] = std::move(next);
        }
      }
      cursor = std::move(page.next_cursor);
    } while (!cursor.empty());
  }
  for (auto& [id, rec] : reput) *entry->add_relations() = std::move(rec);
  for (const auto& [id, reason] : retract) {
    RetractionItem* item = entry->add_retractions();
    item->set_id(id);
    item->set_reason(reason);
  }
  return absl::OkStatus();
}

absl::StatusOr<CommitResult> Store::Commit(const WriteSet& batch) {
  std::lock_guard<std::mutex> lock(commit_mu_);
  ASSIGN_OR_RETURN(Prepared prepared, PrepareLocked(batch));
  if (!prepared.entry) return std::move(prepared.result);
  RETURN_IF_ERROR(WriteEntryLocked(*prepared.entry, *prepared.built));
  return std::move(prepared.result);
}

absl::StatusOr<PreparedCommit> Store::Prepare(const WriteSet& batch) {
  std::lock_guard<std::mutex> lock(commit_mu_);
  ASSIGN_OR_RETURN(Prepared prepared, PrepareLocked(batch));
  PreparedCommit out;
  out.entry = std::move(prepared.entry);
  out.result = std::move(prepared.result);
  return out;
}

absl::StatusOr<int64_t> Store::UpdateSettings(const Settings& settings) {
  std::lock_guard<std::mutex> lock(commit_mu_);
  if (settings.retain_revisions() < 0)
    return FieldFailure(absl::StatusCode::kInvalidArgument, "retain_revisions", "must not be negative");
  if (settings.request_id_ttl_micros() <= 0)
    return FieldFailure(absl::StatusCode::kInvalidArgument, "request_id_ttl_micros", "must be positive");
  if (SerializeDeterministic(settings) == SerializeDeterministic(settings_)) return LastPosition();
  LogEntry entry = NewEntryLocked(NextRecordedTimeLocked());
  *entry.mutable_settings() = settings;
  ASSIGN_OR_RETURN(BuiltEntry built, BuildEntryLocked(entry));
  RETURN_IF_ERROR(WriteEntryLocked(entry, built));
  return entry.position();
}

absl::Status Store::Apply(const LogEntry& entry) {
  std::lock_guard<std::mutex> lock(commit_mu_);
  const auto refuse = [&](absl::StatusCode code, std::string why) {
    return absl::Status(code, absl::StrCat("log entry ", entry.position(), " cannot be applied: ", why));
  };
  if (entry.format() == 0 || entry.format() > kLogEntryFormat)
    return refuse(absl::StatusCode::kFailedPrecondition,
                  absl::StrCat("it is in entry format ", entry.format(), "; this build applies formats 1 to ",
                               kLogEntryFormat, " (upgrade annalsd)"));
  if (HasUnknownFields(entry))
    return refuse(absl::StatusCode::kFailedPrecondition,
                  "it carries fields this build does not know (written by a newer annalsd); it is never "
                  "applied in part");
  if (entry.position() != LastPosition() + 1)
    return refuse(absl::StatusCode::kFailedPrecondition,
                  absl::StrCat("the store is at position ", LastPosition(), ", so the next entry is ",
                               LastPosition() + 1));
  // Format 1 stamped max(clock, previous) and could repeat a time; the entries rebuilt from
  // it by the upgrade keep their times, so they may equal the previous one.
  const bool upgraded = entry.writer() == "format-upgrade";
  if (entry.recorded_at_micros() < last_recorded_micros_ ||
      (entry.recorded_at_micros() == last_recorded_micros_ && !upgraded))
    return refuse(absl::StatusCode::kFailedPrecondition, "its recorded time is not after the previous entry's");
  for (const auto& r : entry.relations())
    if (r.id().empty()) return refuse(absl::StatusCode::kFailedPrecondition, "a relation has no id");
  if (entry.has_settings() && entry.settings().request_id_ttl_micros() <= 0)
    return refuse(absl::StatusCode::kFailedPrecondition, "its settings have no request-id TTL");

  auto built = BuildEntryLocked(entry);
  if (!built.ok()) {
    switch (built.status().code()) {
      case absl::StatusCode::kInvalidArgument:
      case absl::StatusCode::kNotFound:
      case absl::StatusCode::kFailedPrecondition:
      case absl::StatusCode::kAlreadyExists:
        // What the store says of the items: this entry does not fit this store.
        return refuse(absl::StatusCode::kFailedPrecondition, std::string(built.status().message()));
      default:
        // I/O and the like: nothing is wrong with the entry; the caller may try again.
        return absl::Status(built.status().code(), absl::StrCat("log entry ", entry.position(), ": ",
                                                                built.status().message()));
    }
  }
  // The writer recorded what the entry does; a replica that does something else has
  // diverged, and must stop rather than go on from a different state.
  const int64_t rev = built->wrote ? LatestRevision() + 1 : 0;
  if (rev != entry.revision())
    return refuse(absl::StatusCode::kDataLoss,
                  absl::StrCat("it wrote revision ", entry.revision(), " where this replica would write ",
                               rev == 0 ? "none" : absl::StrCat(rev)));
  if (entry.has_response() &&
      SerializeDeterministic(ResponseOf(built->result, entry.fingerprint())) !=
          SerializeDeterministic(entry.response()))
    return refuse(absl::StatusCode::kDataLoss,
                  "its answer to the request id differs from the one its writer recorded (the replica has diverged)");
  return WriteEntryLocked(entry, *built);
}

}  // namespace annals::storage
