// The history reads of Store: the change log, and every version of one record.
#include <rocksdb/db.h>

#include "absl/strings/str_cat.h"
#include "storage/rocks_options.h"
#include "storage/rocks_status.h"
#include "storage/status_macros.h"
#include "storage/store.h"

namespace annals::storage {

absl::Status Store::ScanChanges(int64_t after, int64_t up_to,
                                const std::function<bool(const ChangeRecord&)>& visit) {
  if (up_to <= after) return absl::OkStatus();
  const std::string end = key::Change(up_to + 1);
  rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(Cf::kChanges)));
  for (it->Seek(key::Change(after + 1)); it->Valid(); it->Next()) {
    ChangeRecord change;
    if (!change.ParseFromArray(it->value().data(), static_cast<int>(it->value().size())))
      return absl::DataLossError(absl::StrCat("unreadable change record at revision ",
                                              key::ReadU64(std::string_view(it->key().data(), 8))));
    if (!visit(change)) break;
  }
  return FromRocks(it->status());
}

namespace {
template <typename Record> constexpr Cf FamilyOf();
template <> constexpr Cf FamilyOf<EntityRecord>() { return Cf::kEntities; }
template <> constexpr Cf FamilyOf<DocumentRecord>() { return Cf::kDocuments; }
template <> constexpr Cf FamilyOf<RelationRecord>() { return Cf::kRelations; }
}  // namespace

template <typename Record>
absl::StatusOr<HistoryPage<Record>> Store::History(std::string_view id, int64_t after, int limit) {
  // Version keys sort newest first (~rev), so oldest-first is a backward walk from the
  // version just after `after`.
  const std::string prefix = key::VersionPrefix(id);
  rocksdb::ReadOptions ro = TotalOrderRead();  // SeekForPrev may start at the next id
  const std::string lower = prefix;
  rocksdb::Slice lower_bound(lower);
  ro.iterate_lower_bound = &lower_bound;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(FamilyOf<Record>())));
  // The newest key of an older-than-or-equal-to-`after` version is Version(id, after);
  // anything greater sorts before it. Start from the last key <= the end of the prefix
  // and walk backwards (towards newer versions).
  it->SeekForPrev(after > 0 ? key::Version(id, after) : key::PrefixEnd(prefix));
  HistoryPage<Record> page;
  for (; it->Valid(); it->Prev()) {
    const std::string_view k(it->key().data(), it->key().size());
    if (k.substr(0, prefix.size()) != prefix) break;
    if (key::VersionRevision(k) <= after) continue;
    if (static_cast<int>(page.versions.size()) == limit) {
      page.more = true;
      break;
    }
    Record rec;
    if (!rec.ParseFromArray(it->value().data(), static_cast<int>(it->value().size())))
      return absl::DataLossError("unreadable record version");
    page.versions.push_back(std::move(rec));
  }
  RETURN_IF_ERROR(FromRocks(it->status()));
  return page;
}

template absl::StatusOr<HistoryPage<EntityRecord>> Store::History<EntityRecord>(std::string_view, int64_t, int);
template absl::StatusOr<HistoryPage<DocumentRecord>> Store::History<DocumentRecord>(std::string_view, int64_t, int);
template absl::StatusOr<HistoryPage<RelationRecord>> Store::History<RelationRecord>(std::string_view, int64_t, int);

}  // namespace annals::storage
