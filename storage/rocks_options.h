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

// Read options for an iterator that crosses record ids in a version family (entities,
// documents, relations) or entity ids in an edge family (out, in): those families have a
// prefix extractor, and without total_order_seek RocksDB only promises correct results
// inside one prefix.
rocksdb::ReadOptions TotalOrderRead();

}  // namespace annals::storage
