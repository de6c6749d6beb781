#include "storage/version_writer.h"

namespace annals::storage {

void VersionWriter::Record(ChangeEntry::Kind kind, const std::string& id, int64_t previous_revision) {
  auto* entry = change_.add_changes();
  entry->set_kind(kind);
  entry->set_id(id);
  entry->set_previous_revision(previous_revision);
}

void VersionWriter::WriteEntityVersion(EntityRecord rec, const EntityRecord* previous) {
  rec.set_revision(rev_);
  rec.set_recorded_at_micros(recorded_at_);
  sink_.Put(Cf::kEntities, key::Version(rec.id(), rev_), SerializeDeterministic(rec));
  if (previous != nullptr) CloseNames(*previous);
  const std::string open = U64Value(kOpen);
  for (const auto& term : EntityTerms(rec)) sink_.Put(Cf::kNames, key::Name(term, rec.id(), rev_), open);
}

void VersionWriter::Entity(const EntityRecord& entity, const EntityRecord* previous) {
  WriteEntityVersion(entity, previous);
  Record(ChangeEntry::ENTITY_UPSERTED, entity.id(), previous ? previous->revision() : 0);
}

void VersionWriter::Merge(const EntityRecord& previous, const std::string& into) {
  EntityRecord rec = previous;
  rec.set_merged_into(into);
  // Name terms are rewritten though unchanged, so that every open term points at the
  // current version (what storage/verify.cc checks of every entity).
  WriteEntityVersion(rec, &previous);
  sink_.Put(Cf::kMeta, key::Redirect(rec.id(), rev_), into);
  Record(into.empty() ? ChangeEntry::ENTITY_UNMERGED : ChangeEntry::ENTITY_MERGED, rec.id(), previous.revision());
}

void VersionWriter::CloseNames(const EntityRecord& previous) {
  const std::string closed = U64Value(rev_);
  for (const auto& term : EntityTerms(previous))
    sink_.Put(Cf::kNames, key::Name(term, previous.id(), previous.revision()), closed);
}

void VersionWriter::EntityTombstone(const EntityRecord& previous) {
  EntityRecord rec = TombstoneOf<EntityRecord>(previous.id());
  rec.set_revision(rev_);
  rec.set_recorded_at_micros(recorded_at_);
  sink_.Put(Cf::kEntities, key::Version(rec.id(), rev_), SerializeDeterministic(rec));
  CloseNames(previous);
  Record(ChangeEntry::ENTITY_DELETED, rec.id(), previous.revision());
}

void VersionWriter::DocumentTombstone(const DocumentRecord& previous) {
  DocumentRecord rec = TombstoneOf<DocumentRecord>(previous.id());
  rec.set_revision(rev_);
  rec.set_recorded_at_micros(recorded_at_);
  sink_.Put(Cf::kDocuments, key::Version(rec.id(), rev_), SerializeDeterministic(rec));
  Record(ChangeEntry::DOCUMENT_DELETED, rec.id(), previous.revision());
}

void VersionWriter::Document(const DocumentRecord& document, const DocumentRecord* previous) {
  DocumentRecord rec = document;
  rec.set_revision(rev_);
  rec.set_recorded_at_micros(recorded_at_);
  sink_.Put(Cf::kDocuments, key::Version(rec.id(), rev_), SerializeDeterministic(rec));
  Record(ChangeEntry::DOCUMENT_PUT, rec.id(), previous ? previous->revision() : 0);
}

void VersionWriter::CloseIndexEntries(const RelationRecord& previous) {
  auto bounds = BoundsOf(previous.valid());
  if (!bounds.ok()) return;  // never stored: validated when written
  ForEachIndexEntry(previous, *bounds, previous.revision(), rev_,
                    [&](Cf family, const std::string& k, const std::string& v) { sink_.Put(family, k, v); });
}

void VersionWriter::Relation(const RelationRecord& relation, const TimeBounds& bounds,
                             const RelationRecord* previous) {
  RelationRecord rec = relation;
  rec.set_retracted(false);
  rec.clear_retraction_reason();
  rec.set_revision(rev_);
  rec.set_recorded_at_micros(recorded_at_);
  sink_.Put(Cf::kRelations, key::Version(rec.id(), rev_), SerializeDeterministic(rec));
  if (previous != nullptr && !previous->retracted()) CloseIndexEntries(*previous);
  ForEachIndexEntry(rec, bounds, rev_, kOpen,
                    [&](Cf family, const std::string& k, const std::string& v) { sink_.Put(family, k, v); });
  Record(ChangeEntry::RELATION_PUT, rec.id(), previous ? previous->revision() : 0);
}

void VersionWriter::Retraction(const RelationRecord& previous, const std::string& reason) {
  RelationRecord rec = previous;
  rec.set_retracted(true);
  rec.set_retraction_reason(reason);
  rec.set_revision(rev_);
  rec.set_recorded_at_micros(recorded_at_);
  sink_.Put(Cf::kRelations, key::Version(rec.id(), rev_), SerializeDeterministic(rec));
  CloseIndexEntries(previous);
  Record(ChangeEntry::RELATION_RETRACTED, rec.id(), previous.revision());
}

}  // namespace annals::storage
