// The one way a record version is written, shared by every writer of the store: the
// committer (Store::Commit and Store::Apply, store_commit.cc) and the bulk loader
// (bulk_load.cc). Each writes its keys into its own KeySink (a WriteBatch, or sorted
// buffers that become table files), so what a revision looks like on disk is decided here
// once: the version key, its index entries or name terms, the closing of the version it
// replaces, and its line in the revision's change record.
//
// Deciding whether an item is written at all (it may be identical to its current version)
// is also here, so all writers agree on "unchanged".
#pragma once

#include <string>
#include <string_view>

#include "storage/index_entries.h"
#include "storage/key_codec.h"
#include "storage/record.pb.h"
#include "storage/valid_time.h"

namespace annals::storage {

// The order in which every writer applies an entry's items, and so the order of the lines
// of a change record: documents, entities, relations, retractions, merges, deletions.
inline int ChangeKindOrder(ChangeEntry::Kind kind) {
  switch (kind) {
    case ChangeEntry::DOCUMENT_PUT: return 0;
    case ChangeEntry::ENTITY_UPSERTED: return 1;
    case ChangeEntry::RELATION_PUT: return 2;
    case ChangeEntry::RELATION_RETRACTED: return 3;
    case ChangeEntry::ENTITY_MERGED:
    case ChangeEntry::ENTITY_UNMERGED: return 4;
    case ChangeEntry::ENTITY_DELETED: return 5;
    case ChangeEntry::DOCUMENT_DELETED: return 6;
    default: return 7;
  }
}

// What a tombstone of `id` holds (EntityRecord or DocumentRecord): the id and `deleted`,
// nothing else (the writer stamps revision and time). storage/verify.cc checks stored ones
// with its own rule, as it derives index keys on its own.
template <typename Record>
Record TombstoneOf(const std::string& id) {
  Record rec;
  rec.set_id(id);
  rec.set_deleted(true);
  return rec;
}

// Where a writer's keys go.
class KeySink {
 public:
  virtual ~KeySink() = default;
  virtual void Put(Cf family, std::string_view key, std::string_view value) = 0;
};

// Writes the versions of one revision. Not thread-safe; one per revision being built.
class VersionWriter {
 public:
  VersionWriter(KeySink& sink, int64_t rev, int64_t recorded_at_micros)
      : sink_(sink), rev_(rev), recorded_at_(recorded_at_micros) {
    change_.set_revision(rev);
    change_.set_recorded_at_micros(recorded_at_micros);
  }

  // True when `next` would write nothing: it equals the current version `previous`.
  template <typename Record>
  static bool Unchanged(const Record* previous, const Record& next) {
    return previous != nullptr && Canonical(*previous) == Canonical(next);
  }

  // A new version of an entity; `previous` is the version current before this revision
  // (null: none). Its name terms replace the previous version's.
  void Entity(const EntityRecord& entity, const EntityRecord* previous);
  void Document(const DocumentRecord& document, const DocumentRecord* previous);
  // A new version of a relation whose bounds are `bounds` (BoundsOf its valid range); the
  // previous version's index entries are closed at this revision.
  void Relation(const RelationRecord& relation, const TimeBounds& bounds, const RelationRecord* previous);
  // Retracts the current version `previous`: a retracted copy, and its index entries closed.
  void Retraction(const RelationRecord& previous, const std::string& reason);
  // Deletes the entity or document whose current version is `previous`: a tombstone
  // version (id and deleted only), and the previous version's name terms closed.
  void EntityTombstone(const EntityRecord& previous);
  // Merges the entity whose current version is `previous` into `into`, or unmerges it
  // (`into` empty): a version with merged_into set or cleared, its name terms carried
  // over, and the meta redirect key that storage/redirects.h is loaded from.
  void Merge(const EntityRecord& previous, const std::string& into);
  void DocumentTombstone(const DocumentRecord& previous);

  // The revision's change record, one line per version written, in writing order.
  const ChangeRecord& change() const { return change_; }
  ChangeRecord& mutable_change() { return change_; }
  int64_t revision() const { return rev_; }

 private:
  void Record(ChangeEntry::Kind kind, const std::string& id, int64_t previous_revision);
  // The version key and name terms of `rec` (stamped here), the previous version's closed.
  void WriteEntityVersion(EntityRecord rec, const EntityRecord* previous);
  // Ends the name terms of an entity version that a new version (or a tombstone) replaces.
  void CloseNames(const EntityRecord& previous);
  void CloseIndexEntries(const RelationRecord& previous);

  KeySink& sink_;
  const int64_t rev_, recorded_at_;
  ChangeRecord change_;
};

}  // namespace annals::storage
