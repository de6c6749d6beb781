// Store::Backup (RocksDB checkpoints) and Store::Properties (figures for metrics).
#include <filesystem>
#include <system_error>

#include <rocksdb/db.h>
#include <rocksdb/statistics.h>
#include <rocksdb/utilities/checkpoint.h>

#include "absl/strings/str_cat.h"
#include "storage/rocks_status.h"
#include "storage/store.h"

namespace annals::storage {

absl::StatusOr<Store::BackupResult> Store::Backup(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path target(dir);
  if (dir.empty() || !target.is_absolute())
    return FieldFailure(absl::StatusCode::kInvalidArgument, "", absl::StrCat("must be an absolute path, got \"", dir, "\""));
  std::error_code ec;
  if (fs::symlink_status(target, ec).type() != fs::file_type::not_found)
    return FieldFailure(absl::StatusCode::kAlreadyExists, "", absl::StrCat(dir, " already exists"));
  const fs::path parent = target.parent_path();
  if (!fs::is_directory(parent, ec))
    return FieldFailure(absl::StatusCode::kFailedPrecondition, "",
                        absl::StrCat("the parent directory ", parent.string(), " does not exist"));

  rocksdb::Checkpoint* raw = nullptr;
  if (auto s = FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw)); !s.ok()) return s;
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);

  BackupResult result;
  {
    // Holding the committer's lock makes the checkpoint end exactly at a commit boundary
    // that we know: every revision up to LatestRevision(), none after. The checkpoint
    // flushes the memtables (log_size_for_flush 0), so the backup needs no WAL replay
    // beyond what was written while it was cut (nothing: commits are held).
    std::lock_guard<std::mutex> lock(commit_mu_);
    result.revision = LatestRevision();
    result.position = LastPosition();
    if (auto s = FromRocks(checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0)); !s.ok()) {
      if (fs::symlink_status(target, ec).type() != fs::file_type::not_found && !ec)
        return FieldFailure(absl::StatusCode::kAlreadyExists, "", absl::StrCat(dir, " already exists"));
      return absl::Status(s.code(), absl::StrCat("backup into ", dir, ": ", s.message()));
    }
  }
  for (const auto& entry : fs::recursive_directory_iterator(target, ec))
    if (entry.is_regular_file(ec)) result.size_bytes += static_cast<int64_t>(entry.file_size(ec));
  return result;
}

Store::Figures Store::Properties() const {
  Figures f;
  auto sum = [&](const std::string& property) {
    uint64_t total = 0;
    for (auto* h : handles_) {
      uint64_t v = 0;
      if (db_->GetIntProperty(h, property, &v)) total += v;
    }
    return total;
  };
  f.live_sst_bytes = sum(rocksdb::DB::Properties::kLiveSstFilesSize);
  f.memtable_bytes = sum(rocksdb::DB::Properties::kCurSizeAllMemTables);
  f.estimated_keys = sum(rocksdb::DB::Properties::kEstimateNumKeys);
  f.table_reader_bytes = sum(rocksdb::DB::Properties::kEstimateTableReadersMem);
  // Every column family shares one block cache (store_open.cc): read it once.
  if (!handles_.empty()) {
    db_->GetIntProperty(handles_[0], rocksdb::DB::Properties::kBlockCacheUsage, &f.block_cache_usage);
    db_->GetIntProperty(handles_[0], rocksdb::DB::Properties::kBlockCacheCapacity, &f.block_cache_capacity);
  }
  if (auto stats = db_->GetDBOptions().statistics) {
    f.has_statistics = true;
    f.block_cache_hits = stats->getTickerCount(rocksdb::BLOCK_CACHE_HIT);
    f.block_cache_misses = stats->getTickerCount(rocksdb::BLOCK_CACHE_MISS);
    f.prefix_filter_skips = stats->getTickerCount(rocksdb::BLOOM_FILTER_PREFIX_USEFUL);
  }
  return f;
}

}  // namespace annals::storage
