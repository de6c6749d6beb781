// Store::Open and the small read helpers every other part of the store uses.
#include <algorithm>

#include <rocksdb/db.h>

#include "absl/strings/str_cat.h"
#include "storage/index_entries.h"
#include "storage/rocks_options.h"
#include "storage/rocks_status.h"
#include "storage/status_macros.h"
#include "storage/store.h"

namespace annals::storage {

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path,
                                                   const StoreOptions& options) {
  RocksSetup setup = RocksSetupFor(options);

  std::unique_ptr<Store> store(new Store());
  store->options_ = options;
  rocksdb::DB* db = nullptr;
  if (auto s = FromRocks(rocksdb::DB::Open(setup.db, path, setup.families, &store->handles_, &db));
      !s.ok())
    return s;
  store->db_.reset(db);

  // Format version: written on creation, checked on every open, upgraded when older.
  std::string value;
  uint64_t format = kFormatVersion;
  rocksdb::Status got = db->Get(rocksdb::ReadOptions(), store->cf(Cf::kMeta), "format", &value);
  if (got.IsNotFound()) {
    // A new database, or one of format 1 written before meta "format" was synced? Format 1
    // always wrote "format" at creation, so a database with a revision but no format key
    // cannot be ours: only an empty one is new.
    rocksdb::WriteOptions wo;
    wo.sync = true;
    RETURN_IF_ERROR(FromRocks(db->Put(wo, store->cf(Cf::kMeta), "format", U64Value(kFormatVersion))));
    RETURN_IF_ERROR(FromRocks(db->Put(wo, store->cf(Cf::kMeta), "settings",
                                      SerializeDeterministic(DefaultSettings()))));
  } else if (!got.ok()) {
    return FromRocks(got);
  } else if (value.size() != 8) {
    return absl::FailedPreconditionError(absl::StrCat(path, " holds Annals data with an unreadable format version"));
  } else if (key::ReadU64(value) >= 1 && key::ReadU64(value) < kFormatVersion) {
    format = key::ReadU64(value);
  } else if (key::ReadU64(value) != kFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " holds Annals data of format ", key::ReadU64(value), ", newer than this build's format ",
        kFormatVersion, ": open it with a newer annalsd (formats only upgrade, never downgrade)"));
  }

  for (const char* name : {"revision", "next_relation", "pruned_through", "position", "log_start"}) {
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), store->cf(Cf::kMeta), name, &value);
    if (s.IsNotFound()) continue;
    RETURN_IF_ERROR(FromRocks(s));
    const auto v = static_cast<int64_t>(key::ReadU64(value));
    const std::string_view n(name);
    if (n == "revision")
      store->latest_revision_.store(v);
    else if (n == "next_relation")
      store->next_relation_ = v;
    else if (n == "pruned_through")
      store->pruned_through_ = v;
    else if (n == "position")
      store->position_.store(v);
    else
      store->log_start_ = v;
  }
  store->settings_ = DefaultSettings();
  if (rocksdb::Status s = db->Get(rocksdb::ReadOptions(), store->cf(Cf::kMeta), "settings", &value); s.ok()) {
    if (!store->settings_.ParseFromString(value)) return absl::DataLossError("unreadable meta settings");
  } else if (!s.IsNotFound()) {
    return FromRocks(s);
  }
  // An index rebuild that did not finish (store_upgrade.cc) is started again.
  bool rebuild_indexes = format < kFormatVersion;
  if (rocksdb::Status s = db->Get(rocksdb::ReadOptions(), store->cf(Cf::kMeta), "index_rebuild", &value); s.ok())
    rebuild_indexes = true;
  else if (!s.IsNotFound())
    return FromRocks(s);
  if (rebuild_indexes) {  // store_upgrade.cc, one format at a time
    std::lock_guard<std::mutex> lock(store->commit_mu_);
    if (format == 1) RETURN_IF_ERROR(store->UpgradeFromFormat1Locked());
    RETURN_IF_ERROR(store->UpgradeIndexesLocked());
  }
  RETURN_IF_ERROR(store->LoadRedirects());
  // Recorded time goes on from the last entry's (or, before the log, the last revision's).
  if (store->LastPosition() > 0) {
    ASSIGN_OR_RETURN(store->last_recorded_micros_, store->LastEntryRecordedMicros());
  }
  if (auto change = store->GetChange(store->LatestRevision()); change.ok() && *change)
    store->last_recorded_micros_ = std::max(store->last_recorded_micros_, (*change)->recorded_at_micros());

  // The settings this process proposes, recorded in the log when they differ.
  Settings wanted = store->CurrentSettings();
  if (options.retain_revisions) wanted.set_retain_revisions(*options.retain_revisions);
  if (options.request_id_ttl) wanted.set_request_id_ttl_micros(absl::ToInt64Microseconds(*options.request_id_ttl));
  if (SerializeDeterministic(wanted) != SerializeDeterministic(store->CurrentSettings())) {
    auto updated = store->UpdateSettings(wanted);
    if (!updated.ok()) return updated.status();
  }
  return store;
}

Settings DefaultSettings() {
  Settings s;
  s.set_retain_revisions(0);
  s.set_request_id_ttl_micros(absl::ToInt64Microseconds(absl::Hours(24 * 7)));
  return s;
}

Settings Store::CurrentSettings() const {
  std::lock_guard<std::mutex> lock(settings_mu_);
  return settings_;
}

int64_t Store::FirstLogPosition() const { return log_start_.load(std::memory_order_acquire); }

Store::~Store() {
  if (!db_) return;
  db_->FlushWAL(true).PermitUncheckedError();
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  db_->Close().PermitUncheckedError();
}

absl::StatusOr<int64_t> Store::ResolveRevision(int64_t as_of) const {
  const int64_t latest = LatestRevision();
  // Errors are about the argument itself (field ""): the service names the request field.
  if (as_of < 0) return FieldFailure(absl::StatusCode::kInvalidArgument, "", "must not be negative");
  if (as_of == 0) return latest;
  if (as_of > latest)
    return FieldFailure(absl::StatusCode::kOutOfRange, "",
                        absl::StrCat(as_of, " is after the latest revision ", latest));
  if (as_of < OldestRevision())
    return FieldFailure(absl::StatusCode::kOutOfRange, "",
                        absl::StrCat(as_of, " is older than the oldest revision kept, ", OldestRevision(),
                                     " (history retention)"));
  return as_of;
}

int64_t Store::OldestRevision() const {
  const int64_t retain = CurrentSettings().retain_revisions();
  if (retain <= 0) return 0;
  return std::max<int64_t>(0, LatestRevision() - retain);
}

absl::Status Store::CheckChangesAvailable(int64_t from_revision) const {
  if (from_revision < 0) return FieldFailure(absl::StatusCode::kInvalidArgument, "", "must not be negative");
  if (from_revision < OldestRevision())
    return FieldFailure(absl::StatusCode::kOutOfRange, "",
                        absl::StrCat("changes after revision ", from_revision,
                                     " are no longer kept; the oldest revision available is ", OldestRevision()));
  return absl::OkStatus();
}

void Store::SetCommitListener(std::function<void(int64_t)> listener) {
  std::lock_guard<std::mutex> lock(commit_mu_);
  commit_listener_ = std::move(listener);
}

absl::StatusOr<bool> Store::LoadVersion(Cf family, std::string_view id, int64_t rev,
                                        google::protobuf::Message* out) {
  rocksdb::ReadOptions ro;
  ro.prefix_same_as_start = true;  // one id only: the VersionPrefix filters skip other tables
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(family)));
  return SeekVersion(it.get(), family, id, rev, out);
}

absl::StatusOr<bool> Store::SeekVersion(rocksdb::Iterator* it, Cf family, std::string_view id, int64_t rev,
                                        google::protobuf::Message* out) {
  // Keys are id 00 ~rev, newest first: the first key at or after (id, rev) is the newest
  // version written at or before rev, if it still belongs to id.
  const std::string target = key::Version(id, rev);
  it->Seek(target);
  if (!it->Valid() || it->key().size() != target.size() ||
      std::string_view(it->key().data(), target.size() - 8) != std::string_view(target.data(), target.size() - 8)) {
    RETURN_IF_ERROR(FromRocks(it->status()));
    return false;
  }
  if (!out->ParseFromArray(it->value().data(), static_cast<int>(it->value().size())))
    return absl::DataLossError(absl::StrCat("unreadable record in ", CfName(family)));
  return true;
}

absl::StatusOr<std::vector<std::optional<EntityRecord>>> Store::GetEntities(const std::vector<std::string>& ids,
                                                                            int64_t rev) {
  // One iterator for all of them: creating an iterator costs about as much as a seek.
  rocksdb::ReadOptions ro;
  ro.prefix_same_as_start = true;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(Cf::kEntities)));
  std::vector<std::optional<EntityRecord>> out(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!redirects_.empty()) {  // through merges: one at a time (store_merges.cc)
      ASSIGN_OR_RETURN(out[i], GetEntity(ids[i], rev));
      continue;
    }
    EntityRecord rec;
    ASSIGN_OR_RETURN(bool found, SeekVersion(it.get(), Cf::kEntities, ids[i], rev, &rec));
    if (found && !rec.deleted()) out[i] = std::move(rec);
  }
  return out;
}

absl::StatusOr<std::vector<std::optional<LabelCache::Label>>> Store::GetLabels(const std::vector<std::string>& ids,
                                                                                 int64_t rev) {
  auto out = labels_.Find(ids, rev);
  if (std::all_of(out.begin(), out.end(), [](const auto& l) { return l.has_value(); })) return out;
  const uint64_t epoch = labels_.Epoch();  // before the iterator: see label_cache.h
  rocksdb::ReadOptions ro;
  ro.prefix_same_as_start = true;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(Cf::kEntities)));
  std::vector<std::pair<std::string, LabelCache::Label>> newest;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (out[i]) continue;
    // The newest version first: when the read is at or after it, it is the answer and
    // may be cached; otherwise the version current at `rev` is read (and not cached).
    EntityRecord rec;
    ASSIGN_OR_RETURN(bool found, SeekVersion(it.get(), Cf::kEntities, ids[i], INT64_MAX, &rec));
    if (!found) continue;
    if (rec.revision() <= rev) {
      if (rec.deleted()) continue;  // no entity, no label (and nothing cached)
      out[i] = LabelCache::Label{rec.label(), rec.kind(), rec.revision()};
      newest.emplace_back(ids[i], *out[i]);
      continue;
    }
    ASSIGN_OR_RETURN(found, SeekVersion(it.get(), Cf::kEntities, ids[i], rev, &rec));
    if (found && !rec.deleted()) out[i] = LabelCache::Label{rec.label(), rec.kind(), rec.revision()};
  }
  labels_.Fill(newest, epoch);
  return out;
}

absl::Status Store::LoadExactMany(Cf family, const std::vector<std::string>& keys,
                                  const std::vector<google::protobuf::Message*>& out) {
  if (keys.empty()) return absl::OkStatus();
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  // One MultiGet: RocksDB batches the filter, index and block lookups of all the keys.
  db_->MultiGet(rocksdb::ReadOptions(), cf(family), keys.size(), slices.data(), values.data(), statuses.data());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound())
      return absl::DataLossError(absl::StrCat("index points at missing record ",
                                              std::string(key::ParseVersion(keys[i])->id), " in ", CfName(family)));
    RETURN_IF_ERROR(FromRocks(statuses[i]));
    if (!out[i]->ParseFromArray(values[i].data(), static_cast<int>(values[i].size())))
      return absl::DataLossError(absl::StrCat("unreadable record in ", CfName(family)));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> Store::LoadExact(Cf family, std::string_view id, int64_t rev,
                                      google::protobuf::Message* out) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(family), key::Version(id, rev), &value);
  if (s.IsNotFound()) return false;
  RETURN_IF_ERROR(FromRocks(s));
  if (!out->ParseFromString(value))
    return absl::DataLossError(absl::StrCat("unreadable record in ", CfName(family)));
  return true;
}

absl::StatusOr<std::optional<ChangeRecord>> Store::GetChange(int64_t rev) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(Cf::kChanges), key::Change(rev), &value);
  if (s.IsNotFound()) return std::optional<ChangeRecord>();
  RETURN_IF_ERROR(FromRocks(s));
  ChangeRecord change;
  if (!change.ParseFromString(value)) return absl::DataLossError("unreadable change record");
  return std::optional<ChangeRecord>(std::move(change));
}

}  // namespace annals::storage
