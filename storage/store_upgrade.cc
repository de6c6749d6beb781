// Opening a database of an older format upgrades it, one step at a time.
//
// 1 to 2 (UpgradeFromFormat1Locked): opening a database written before the commit log.
//
// Format 1 kept a change record per revision and every record version, which is all a log
// entry holds but three things: the items a commit found unchanged, the request-id-only
// commits (they took no revision and left no change record), and each request's answer.
// So the upgrade rebuilds one entry per revision still in the change log:
//   position = revision; recorded time, request id from the change record; the items from
//   the versions the change record names (documents, entities, relations, retractions, in
//   the order every writer now applies them); the relation-id counter on the last entry;
//   writer "format-upgrade"; no response (the request records stay as they were, so retries
//   of those requests still answer, here; a replay of the log does not recreate them).
// Each change record gains its position, and its lines are put in that same order (format
// 1's bulk loader wrote them in arrival order), so a replay of the rebuilt log reproduces
// the data of the upgraded database exactly (Store::StateDigest, DigestScope::kData).
// Revisions before the retention horizon have no change record left: the log starts after
// them (meta log_start).
//
// The whole upgrade is one WriteBatch, with meta "format" = 2 in it: a crash leaves the
// database at format 1, and the next open upgrades it again.
//
// 2 to 3 (UpgradeIndexesLocked): the relation index families get the tiered keys and
// covering values of key_codec.h. They are derived data: every entry is rebuilt from the
// relation versions, the way the committer writes them (ForEachIndexEntry), with the
// revision that replaced each version as its rev_removed. The log, the records and the
// change log do not change, so a replica of format 3 applies the same entries as one of
// format 2 and answers the same (a rolling upgrade); state digests differ across formats.
// First meta "format" = 3 and "index_rebuild" are written (synced): from then on a build
// of format 2 refuses the database (it cannot read its indexes), and a build of format 3
// rebuilds again at every open until the rebuild has finished. Then the old entries are
// dropped with one range deletion per family, the new ones written in batches, and
// "index_rebuild" deleted last. A crash, or an unreadable relation, part-way leaves the
// marker: the next open starts the rebuild again from nothing (and an unreadable relation
// stops every open, naming it, rather than serving incomplete indexes).
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "storage/index_entries.h"
#include "storage/rocks_options.h"
#include "storage/rocks_status.h"
#include "storage/status_macros.h"
#include "storage/store.h"
#include "storage/version_writer.h"

namespace annals::storage {
namespace {

template <typename Record>
Record Stripped(Record r) {
  r.clear_revision();
  r.clear_recorded_at_micros();
  return r;
}

}  // namespace

template <typename Record>
absl::Status Store::RewriteDeterministic(Cf family, rocksdb::WriteBatch& wb) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(TotalOrderRead(), cf(family)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    Record rec;
    if (!rec.ParseFromArray(it->value().data(), static_cast<int>(it->value().size())))
      return absl::DataLossError(absl::StrCat("format upgrade: unreadable record in ", CfName(family)));
    const std::string stable = SerializeDeterministic(rec);
    if (stable != std::string_view(it->value().data(), it->value().size())) wb.Put(cf(family), it->key(), stable);
  }
  return FromRocks(it->status());
}

absl::Status Store::UpgradeFromFormat1Locked() {
  rocksdb::WriteBatch wb;
  const int64_t latest = LatestRevision();
  const int64_t first = pruned_through_ + 1;
  int64_t last_written = 0;
  for (int64_t rev = first; rev <= latest; ++rev) {
    ASSIGN_OR_RETURN(auto change, GetChange(rev));
    if (!change) return absl::DataLossError(absl::StrCat("format upgrade: no change record for revision ", rev));
    std::stable_sort(change->mutable_changes()->begin(), change->mutable_changes()->end(),
                     [](const ChangeEntry& a, const ChangeEntry& b) { return ChangeKindOrder(a.kind()) < ChangeKindOrder(b.kind()); });
    LogEntry entry;
    entry.set_format(kLogEntryFormat);
    entry.set_position(rev);
    entry.set_recorded_at_micros(change->recorded_at_micros());
    entry.set_writer("format-upgrade");
    entry.set_request_id(change->request_id());
    entry.set_revision(rev);
    for (const ChangeEntry& c : change->changes()) {
      switch (c.kind()) {
        case ChangeEntry::DOCUMENT_PUT: {
          DocumentRecord d;
          ASSIGN_OR_RETURN(bool found, LoadExact(Cf::kDocuments, c.id(), rev, &d));
          if (!found) return absl::DataLossError(absl::StrCat("format upgrade: document ", c.id(), " @", rev, " missing"));
          *entry.add_documents() = Stripped(d);
          break;
        }
        case ChangeEntry::ENTITY_UPSERTED: {
          EntityRecord e;
          ASSIGN_OR_RETURN(bool found, LoadExact(Cf::kEntities, c.id(), rev, &e));
          if (!found) return absl::DataLossError(absl::StrCat("format upgrade: entity ", c.id(), " @", rev, " missing"));
          *entry.add_entities() = Stripped(e);
          break;
        }
        case ChangeEntry::RELATION_PUT: {
          RelationRecord r;
          ASSIGN_OR_RETURN(bool found, LoadExact(Cf::kRelations, c.id(), rev, &r));
          if (!found) return absl::DataLossError(absl::StrCat("format upgrade: relation ", c.id(), " @", rev, " missing"));
          r.set_retracted(false);
          r.clear_retraction_reason();
          *entry.add_relations() = Stripped(r);
          break;
        }
        case ChangeEntry::RELATION_RETRACTED: {
          RelationRecord r;
          ASSIGN_OR_RETURN(bool found, LoadExact(Cf::kRelations, c.id(), rev, &r));
          if (!found) return absl::DataLossError(absl::StrCat("format upgrade: relation ", c.id(), " @", rev, " missing"));
          RetractionItem* item = entry.add_retractions();
          item->set_id(c.id());
          item->set_reason(r.retraction_reason());
          break;
        }
        default:
          return absl::DataLossError(absl::StrCat("format upgrade: revision ", rev, " has a change of unknown kind"));
      }
    }
    if (rev == latest && next_relation_ > 1) entry.set_next_relation(next_relation_);
    change->set_position(rev);
    wb.Put(cf(Cf::kChanges), key::Change(rev), SerializeDeterministic(*change));
    wb.Put(cf(Cf::kLog), key::Log(rev), SerializeDeterministic(entry));
    last_written = rev;
  }
  // Format 1 serialized records plainly, and plain serialization orders map entries
  // (attributes, qualifiers) by a per-process hash: the same record could have other bytes
  // on another replica. Every version is rewritten in the one stable form format 2 uses
  // (SerializeDeterministic); its content does not change.
  RETURN_IF_ERROR(RewriteDeterministic<EntityRecord>(Cf::kEntities, wb));
  RETURN_IF_ERROR(RewriteDeterministic<DocumentRecord>(Cf::kDocuments, wb));
  RETURN_IF_ERROR(RewriteDeterministic<RelationRecord>(Cf::kRelations, wb));
  wb.Put(cf(Cf::kMeta), "position", U64Value(latest));
  wb.Put(cf(Cf::kMeta), "log_start", U64Value(last_written > 0 ? first : latest + 1));
  wb.Put(cf(Cf::kMeta), "settings", SerializeDeterministic(settings_));
  wb.Put(cf(Cf::kMeta), "format", U64Value(2));  // the index upgrade (below) takes it on to 3
  rocksdb::WriteOptions wo;
  wo.sync = true;
  RETURN_IF_ERROR(FromRocks(db_->Write(wo, &wb)));
  position_.store(latest);
  log_start_.store(last_written > 0 ? first : latest + 1);
  return absl::OkStatus();
}

absl::Status Store::UpgradeIndexesLocked() {
  rocksdb::WriteOptions wo;
  {
    rocksdb::WriteBatch marker;
    marker.Put(cf(Cf::kMeta), "format", U64Value(3));
    marker.Put(cf(Cf::kMeta), "index_rebuild", U64Value(1));
    rocksdb::WriteOptions synced;
    synced.sync = true;
    RETURN_IF_ERROR(FromRocks(db_->Write(synced, &marker)));
  }
  for (Cf family : kRelationIndexFamilies)
    RETURN_IF_ERROR(FromRocks(db_->DeleteRange(wo, cf(family), "", key::PrefixEnd(""))));
  constexpr size_t kBatchBytes = 32 << 20;
  rocksdb::WriteBatch wb;
  // Versions come newest first within an id, so the version seen before is the one that
  // replaced the current one (when it belongs to the same id).
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(TotalOrderRead(), cf(Cf::kRelations)));
  std::string replaced_id;
  int64_t replaced_at = kOpen;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view k(it->key().data(), it->key().size());
    const auto version = key::ParseVersion(k);
    if (!version) return absl::DataLossError("format upgrade: malformed key in relations");
    const int64_t rev_removed = version->id == replaced_id ? replaced_at : kOpen;
    replaced_id.assign(version->id);
    replaced_at = version->rev;
    RelationRecord r;
    if (!r.ParseFromArray(it->value().data(), static_cast<int>(it->value().size())))
      return absl::DataLossError(absl::StrCat("format upgrade: unreadable relation ", replaced_id));
    if (r.retracted()) continue;  // a retraction has no index entries
    auto bounds = BoundsOf(r.valid());
    if (!bounds.ok())
      return absl::DataLossError(absl::StrCat("format upgrade: relation ", replaced_id, " has an invalid valid time"));
    ForEachIndexEntry(r, *bounds, version->rev, rev_removed,
                      [&](Cf family, const std::string& ik, const std::string& iv) { wb.Put(cf(family), ik, iv); });
    if (wb.GetDataSize() >= kBatchBytes) {
      RETURN_IF_ERROR(FromRocks(db_->Write(wo, &wb)));
      wb.Clear();
    }
  }
  RETURN_IF_ERROR(FromRocks(it->status()));
  wb.Delete(cf(Cf::kMeta), "index_rebuild");
  wo.sync = true;
  RETURN_IF_ERROR(FromRocks(db_->Write(wo, &wb)));
  // The range deletions and the old entries go away now rather than at some later
  // compaction, so the first reads after the upgrade do not step over them.
  rocksdb::CompactRangeOptions compact;
  for (Cf family : kRelationIndexFamilies)
    RETURN_IF_ERROR(FromRocks(db_->CompactRange(compact, cf(family), nullptr, nullptr)));
  return absl::OkStatus();
}

}  // namespace annals::storage
