// The storage ceiling of issue #8: the keys Store::Commit writes for the same load, written
// straight into RocksDB with WriteBatch — no gRPC, no validation, no read-before-write.
//
//   rocksdb_ceiling --db DIR --data a.tsv,b.tsv [--replicas N] [--batch 1000] [--sync 0]
//
// Same database options and column families as Store::Open (storage/store_open.cc), WAL on,
// sync off (as annalsd ships). Per commit of --batch relations, as store_commit.cc does:
//   relations  id 00 ~rev                          RelationRecord
//   out / in / by_predicate / by_time               IndexValue      (four index keys)
//   changes    rev                                  ChangeRecord (one entry per relation)
//   meta       "revision", "next_relation"
// i.e. five keys per relation plus the change-log entry; entities first, 5,000 per batch
// (entities + their names-index terms). Input is parsed before the clock starts.
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include "bench/icews.h"
#include "storage/index_entries.h"
#include "storage/key_codec.h"
#include "storage/rocks_options.h"
#include "storage/name_folding.h"
#include "storage/record.pb.h"
#include "storage/valid_time.h"

using namespace annals;
using namespace annals::storage;

namespace {
std::string U64(int64_t v) {
  std::string s;
  key::AppendU64(&s, static_cast<uint64_t>(v));
  return s;
}
}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i + 1 < argc; i += 2) flags[std::string(argv[i]).substr(2)] = argv[i + 1];
  if (!flags.count("db") || !flags.count("data")) {
    std::cerr << "usage: rocksdb_ceiling --db DIR --data a.tsv,b.tsv [--replicas N] [--batch 1000]\n";
    return 2;
  }
  const int replicas = flags.count("replicas") ? std::stoi(flags["replicas"]) : 1;
  const int batch = flags.count("batch") ? std::stoi(flags["batch"]) : 1000;
  const bool sync = flags.count("sync") && flags["sync"] == "1";
  bench::Dataset ds = bench::LoadDataset(flags["data"], replicas);

  std::filesystem::remove_all(flags["db"]);
  storage::RocksSetup setup = storage::RocksSetupFor({});  // exactly the store's options
  std::vector<rocksdb::ColumnFamilyHandle*> h;
  rocksdb::DB* db = nullptr;
  if (auto s = rocksdb::DB::Open(setup.db, flags["db"], setup.families, &h, &db); !s.ok()) {
    std::cerr << s.ToString() << "\n";
    return 1;
  }
  auto cf = [&](Cf c) { return h[static_cast<int>(c)]; };

  const auto start = std::chrono::steady_clock::now();
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  int64_t rev = 0, next_relation = 1, keys = 0;
  const int64_t now = 1'700'000'000'000'000;
  auto commit = [&](rocksdb::WriteBatch& wb, ChangeRecord& change) {
    change.set_revision(rev);
    change.set_recorded_at_micros(now);
    wb.Put(cf(Cf::kChanges), key::Change(rev), change.SerializeAsString());
    wb.Put(cf(Cf::kMeta), "revision", U64(rev));
    wb.Put(cf(Cf::kMeta), "next_relation", U64(next_relation));
    keys += wb.Count();
    if (auto s = db->Write(wo, &wb); !s.ok()) {
      std::cerr << s.ToString() << "\n";
      std::exit(1);
    }
  };
  const std::string open = U64(kOpen);
  for (size_t i = 0; i < ds.entities.size(); i += 5000) {
    ++rev;
    rocksdb::WriteBatch wb;
    ChangeRecord change;
    for (size_t j = i; j < std::min(ds.entities.size(), i + 5000); ++j) {
      EntityRecord e;
      e.set_id(ds.entities[j].id);
      e.set_label(ds.entities[j].name);
      e.set_revision(rev);
      e.set_recorded_at_micros(now);
      wb.Put(cf(Cf::kEntities), key::Version(e.id(), rev), e.SerializeAsString());
      std::set<std::string> terms;
      for (auto& t : NameTerms(e.label())) terms.insert(std::move(t));
      for (const auto& t : terms) wb.Put(cf(Cf::kNames), key::Name(t, e.id(), rev), open);
      auto* entry = change.add_changes();
      entry->set_kind(ChangeEntry::ENTITY_UPSERTED);
      entry->set_id(e.id());
    }
    commit(wb, change);
  }
  const auto entities_done = std::chrono::steady_clock::now();
  for (size_t i = 0; i < ds.rows.size(); i += batch) {
    ++rev;
    rocksdb::WriteBatch wb;
    ChangeRecord change;
    for (size_t j = i; j < std::min(ds.rows.size(), i + batch); ++j) {
      const bench::Row& row = ds.rows[j];
      RelationRecord r;
      r.set_id("r" + std::to_string(next_relation++));
      bench::FillRelation(ds, row, CLAIM_ASSERTED, &r);
      r.set_revision(rev);
      r.set_recorded_at_micros(now);
      const TimeBounds b = *BoundsOf(r.valid());
      wb.Put(cf(Cf::kRelations), key::Version(r.id(), rev), r.SerializeAsString());
      // The four index entries, in the store's own byte form (keys and covering values).
      ForEachIndexEntry(r, b, rev, kOpen, [&](Cf family, const std::string& k, const std::string& v) {
        wb.Put(cf(family), k, v);
      });
      auto* entry = change.add_changes();
      entry->set_kind(ChangeEntry::RELATION_PUT);
      entry->set_id(r.id());
    }
    commit(wb, change);
  }
  const auto end = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(end - start).count();
  const double rel_seconds = std::chrono::duration<double>(end - entities_done).count();
  db->FlushWAL(true);
  for (auto* handle : h) db->DestroyColumnFamilyHandle(handle);
  db->Close();
  delete db;
  std::printf("RESULT kind=ceiling relations=%zu entities=%zu keys=%lld seconds=%.3f rate=%.0f relation_rate=%.0f\n",
              ds.rows.size(), ds.entities.size(), static_cast<long long>(keys), seconds, ds.rows.size() / seconds,
              ds.rows.size() / rel_seconds);
  return 0;
}
