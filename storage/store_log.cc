// Reading the commit log back, and the state digest that says two stores are the same.
#include <rocksdb/db.h>

#include <climits>
#include <map>

#include "absl/strings/str_cat.h"
#include "storage/index_entries.h"
#include "storage/rocks_options.h"
#include "storage/rocks_status.h"
#include "storage/stable_digest.h"
#include "storage/status_macros.h"
#include "storage/store.h"

namespace annals::storage {

absl::StatusOr<int64_t> Store::LastEntryRecordedMicros() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf(Cf::kLog)));
  it->SeekForPrev(key::Log(LastPosition(), UINT32_MAX));
  RETURN_IF_ERROR(FromRocks(it->status()));
  if (!it->Valid()) return 0;
  const auto k = key::ParseLog(std::string_view(it->key().data(), it->key().size()));
  if (!k || k->position != LastPosition()) return 0;
  LogEntry header;
  if (!header.ParseFromArray(it->value().data(), static_cast<int>(it->value().size())))
    return absl::DataLossError(absl::StrCat("log entry ", LastPosition(), " is unreadable"));
  return header.recorded_at_micros();
}

absl::StatusOr<int64_t> Store::SyncLog() {
  // Read before the sync: everything written up to this position is in the WAL already,
  // and FlushWAL(sync) covers all of it.
  const int64_t position = LastPosition();
  if (auto s = FromRocks(db_->FlushWAL(/*sync=*/true)); !s.ok()) return s;
  return position;
}

absl::Status Store::ReadLog(int64_t from, int64_t to, const std::function<bool(const LogEntry&)>& visit) {
  if (from < 1) from = 1;
  if (from < FirstLogPosition())
    return FieldFailure(absl::StatusCode::kOutOfRange, "from",
                        absl::StrCat("the log starts at position ", FirstLogPosition(),
                                     "; entries before it were trimmed by history retention"));
  if (to < from) return absl::OkStatus();
  const std::string until = key::Log(to + 1);
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper(until);
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(Cf::kLog)));
  // An entry's parts are adjacent (position, then part): gather them, parse the whole.
  std::string bytes;
  int64_t current = 0;
  auto emit = [&]() -> absl::StatusOr<bool> {
    LogEntry entry;
    if (!entry.ParseFromString(bytes))
      return absl::DataLossError(absl::StrCat("log entry ", current, " is unreadable"));
    return visit(entry);
  };
  for (it->Seek(key::Log(from)); it->Valid(); it->Next()) {
    const auto k = key::ParseLog(std::string_view(it->key().data(), it->key().size()));
    if (!k) return absl::DataLossError("a key of the log family is not position(8) | part(4)");
    if (k->position != current) {
      if (current != 0) {
        ASSIGN_OR_RETURN(bool more, emit());
        if (!more) return absl::OkStatus();
      }
      current = k->position;
      bytes.clear();
    }
    bytes.append(it->value().data(), it->value().size());
  }
  RETURN_IF_ERROR(FromRocks(it->status()));
  if (current != 0) RETURN_IF_ERROR(emit().status());
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, std::string>> Store::FamilyDigests(DigestScope scope) {
  // Bookkeeping of the history (positions, trims, settings, the format) stays out of the
  // data digest: it is what reads can see, and all of it.
  auto data_meta = [](std::string_view k) {
    return k == "revision" || k == "next_relation" || k.substr(0, key::kRedirectPrefix.size()) == key::kRedirectPrefix;
  };
  auto local_meta = [](std::string_view k) { return k == "cluster"; };
  const rocksdb::Snapshot* snapshot = db_->GetSnapshot();
  std::map<std::string, std::string> out;
  absl::Status status;
  for (int c = 1; c < static_cast<int>(Cf::kCount) && status.ok(); ++c) {
    const Cf family = static_cast<Cf>(c);
    if (family == Cf::kLog) continue;
    if (scope == DigestScope::kData && family == Cf::kRequests) continue;
    StableDigest h;
    rocksdb::ReadOptions ro = TotalOrderRead();
    ro.snapshot = snapshot;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(family)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string_view k(it->key().data(), it->key().size());
      if (family == Cf::kMeta && scope == DigestScope::kData && !data_meta(k)) continue;
      if (family == Cf::kMeta && local_meta(k)) continue;
      h.AddField(k);
      h.AddField(std::string_view(it->value().data(), it->value().size()));
    }
    status = FromRocks(it->status());
    out[CfName(family)] = h.Hex();
  }
  db_->ReleaseSnapshot(snapshot);
  RETURN_IF_ERROR(status);
  return out;
}

absl::StatusOr<std::string> Store::ClusterName() {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(Cf::kMeta), "cluster", &value);
  if (s.IsNotFound()) return std::string();
  RETURN_IF_ERROR(FromRocks(s));
  return value;
}

absl::Status Store::SetClusterName(const std::string& name) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Put(wo, cf(Cf::kMeta), "cluster", name));
}

absl::StatusOr<std::string> Store::StateDigest(DigestScope scope) {
  ASSIGN_OR_RETURN(auto families, FamilyDigests(scope));
  StableDigest h;
  for (const auto& [name, digest] : families) {
    h.AddField(name);
    h.AddField(digest);
  }
  return h.Hex();
}

}  // namespace annals::storage
