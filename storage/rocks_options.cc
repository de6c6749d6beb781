#include "storage/rocks_options.h"

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/statistics.h>
#include <rocksdb/table.h>

#include "storage/key_codec.h"

namespace annals::storage {

RocksSetup RocksSetupFor(const StoreOptions& options) {
  RocksSetup setup;
  rocksdb::Options& db_options = setup.db;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.IncreaseParallelism(2);
  db_options.max_background_jobs = 2;
  // Tickers (block-cache hits and misses, ...) for Store::Properties and the metrics
  // endpoint; timers stay off, they cost more.
  db_options.statistics = rocksdb::CreateDBStatistics();
  db_options.statistics->set_stats_level(rocksdb::StatsLevel::kExceptTimers);

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.cache_index_and_filter_blocks = true;
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf_options.compression = rocksdb::kLZ4Compression;
  for (int i = 0; i < static_cast<int>(Cf::kCount); ++i)
    setup.families.emplace_back(CfName(static_cast<Cf>(i)), cf_options);
  return setup;
}

}  // namespace annals::storage
