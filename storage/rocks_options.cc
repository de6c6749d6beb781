#include "storage/rocks_options.h"

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/statistics.h>
#include <rocksdb/table.h>

#include <cstring>

#include "storage/key_codec.h"

namespace annals::storage {
namespace {

// The record id of a version key `id 00 | ~rev(8)`: everything but the last 8 bytes.
// Bloom filters built on it let "the version of X current at R" (a Seek, not a Get) skip
// every table file that holds no version of X. That is most of them for the committer's
// read-before-write of a new relation, and for a reader it is the tables X is absent from.
class VersionPrefix : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "annals.VersionPrefix.1"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), key.size() - 8);
  }
  bool InDomain(const rocksdb::Slice& key) const override { return key.size() >= 9; }
};

// The first field of an `out`/`in` key, `entity_id 00`. Bloom filters built on it let a
// neighbour scan (a Seek inside one entity) skip every table file and memtable that holds
// no edge of that entity: at 10x data that was most of the levels each query visited, and
// the memtable skip list for every entity loaded before the last flush.
class EntityPrefix : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "annals.EntityPrefix.1"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    const void* end = memchr(key.data(), '\0', key.size());
    return rocksdb::Slice(key.data(), static_cast<const char*>(end) - key.data() + 1);
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return memchr(key.data(), '\0', key.size()) != nullptr;
  }
};

}  // namespace

rocksdb::ReadOptions TotalOrderRead() {
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;
  return ro;
}

RocksSetup RocksSetupFor(const StoreOptions& options) {
  RocksSetup setup;
  rocksdb::Options& db_options = setup.db;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.IncreaseParallelism(2);
  db_options.max_background_jobs = 2;
  // A WAL file is deleted only when every family has flushed what it holds. Rarely written
  // families (meta, requests) kept them all alive: after 4.6M relations through Ingest the
  // database held 2.5 GB of WAL next to 0.9 GB of tables, all of it replayed at the next
  // start. Past this size RocksDB flushes the families that pin the oldest WAL file.
  db_options.max_total_wal_size = uint64_t{512} << 20;
  // Tickers (block-cache hits and misses, ...) for Store::Properties and the metrics
  // endpoint; timers stay off, they cost more.
  db_options.statistics = rocksdb::CreateDBStatistics();
  db_options.statistics->set_stats_level(rocksdb::StatsLevel::kExceptTimers);

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  // Index and filter blocks stay with their open table files, outside the block cache.
  // In the cache they competed with data blocks: at 4.6M relations the relation records'
  // whole-file filters (megabytes each) were evicted and read back from the files for
  // almost every neighbour query (22% of annalsd's CPU in pread and checksums). Held by the
  // table readers they cost about 5% of the table bytes (47 MiB for 0.9 GB of tables at
  // 4.6M relations; rocksdb.estimate-table-readers-mem, Store::Properties) and no cache
  // lookup.
  table.cache_index_and_filter_blocks = false;
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf_options.compression = rocksdb::kLZ4Compression;
  // The version families also filter on the record id (VersionPrefix). Their iterators
  // must then say how they seek: LoadVersion stays inside one id (prefix_same_as_start);
  // anything that walks across ids reads with TotalOrderRead().
  rocksdb::ColumnFamilyOptions version_options = cf_options;
  version_options.prefix_extractor = std::make_shared<VersionPrefix>();
  version_options.memtable_prefix_bloom_size_ratio = 0.05;
  // The edge families filter on the entity id (EntityPrefix), and only on it: nothing
  // reads them by whole key. Every scan of them stays inside one entity, except
  // verify's full walks, which read with TotalOrderRead().
  rocksdb::BlockBasedTableOptions edge_table = table;
  edge_table.whole_key_filtering = false;
  rocksdb::ColumnFamilyOptions edge_options = cf_options;
  edge_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(edge_table));
  edge_options.prefix_extractor = std::make_shared<EntityPrefix>();
  edge_options.memtable_prefix_bloom_size_ratio = 0.05;
  for (int i = 0; i < static_cast<int>(Cf::kCount); ++i) {
    const CfInfo& info = InfoOf(static_cast<Cf>(i));
    setup.families.emplace_back(info.name, info.kind == CfKind::kVersions ? version_options
                                           : info.kind == CfKind::kEdges  ? edge_options
                                                                          : cf_options);
  }
  return setup;
}

}  // namespace annals::storage
