// The one place RocksDB statuses become absl statuses.
#pragma once

#include <rocksdb/status.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace annals::storage {

inline absl::Status FromRocks(const rocksdb::Status& s) {
  if (s.ok()) return absl::OkStatus();
  const std::string what = absl::StrCat("rocksdb: ", s.ToString());
  switch (s.code()) {
    case rocksdb::Status::kNotFound: return absl::NotFoundError(what);
    case rocksdb::Status::kInvalidArgument: return absl::InvalidArgumentError(what);
    case rocksdb::Status::kNotSupported: return absl::UnimplementedError(what);
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTryAgain:
    case rocksdb::Status::kTimedOut: return absl::UnavailableError(what);
    case rocksdb::Status::kAborted: return absl::AbortedError(what);
    case rocksdb::Status::kShutdownInProgress: return absl::UnavailableError(what);
    case rocksdb::Status::kCorruption: return absl::DataLossError(what);
    case rocksdb::Status::kIOError:
    case rocksdb::Status::kIncomplete:
    case rocksdb::Status::kMergeInProgress:
    case rocksdb::Status::kExpired:
    case rocksdb::Status::kCompactionTooLarge:
    case rocksdb::Status::kColumnFamilyDropped:
    case rocksdb::Status::kMaxCode:
    case rocksdb::Status::kOk: break;
  }
  return absl::InternalError(what);
}

}  // namespace annals::storage
