// How a store's RocksDB is opened: database options and one descriptor per column family.
// Store::Open uses it, and so does bench/rocksdb_ceiling, so the storage ceiling is measured
// with exactly the options the store runs with.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <vector>

#include "storage/store.h"

namespace annals::storage {

struct RocksSetup {
  rocksdb::Options db;
  std::vector<rocksdb::ColumnFamilyDescriptor> families;  // in Cf order
};

RocksSetup RocksSetupFor(const StoreOptions& options);

}  // namespace annals::storage
