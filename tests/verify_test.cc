// storage/verify.h: passes on stores written through the committer (a random history of
// every kind of write, with and without retention), and fails, saying what is wrong, when
// one index entry, record or change record is corrupted directly with RocksDB.
#include "storage/verify.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <functional>
#include <random>

#include "storage/key_codec.h"
#include "storage/store.h"
#include "tests/support/dates.h"
#include "tests/support/temp_dir.h"

namespace annals::storage {
namespace {

using annals::testing::TempDir;

Date D(int y, int m = 0, int d = 0) { return annals::testing::MakeDate<Date>(y, m, d); }

EntityRecord Entity(const std::string& id, const std::string& label, std::vector<std::string> aliases = {}) {
  EntityRecord e;
  e.set_id(id);
  e.set_label(label);
  e.set_kind("state");
  for (auto& a : aliases) e.add_aliases(a);
  return e;
}

class VerifyTest : public ::testing::Test {
 protected:
  std::string Path() const { return dir_.Sub("db"); }

  // A random history: entities renamed, documents rewritten, relations put, re-put with
  // other dates, statuses and sources, retracted and put again. Closes the store.
  void WriteRandomHistory(int steps, StoreOptions options = {}) {
    auto opened = Store::Open(Path(), options);
    ASSERT_TRUE(opened.ok()) << opened.status();
    std::unique_ptr<Store> store = std::move(*opened);
    const std::vector<std::string> people = {"e0", "e1", "e2", "e3", "e4"};
    const std::vector<std::string> predicates = {"met", "visited", "signed"};
    const std::vector<std::string> docs = {"d0", "d1", "d2"};
    WriteSet setup;
    for (const auto& id : people) setup.entities.push_back(Entity(id, "Entity " + id, {"Alias " + id}));
    for (const auto& id : docs) {
      DocumentRecord d;
      d.set_id(id);
      d.set_title("title of " + id);
      setup.documents.push_back(d);
    }
    ASSERT_TRUE(store->Commit(setup).ok());
    std::mt19937 rng(7);
    auto pick = [&](int n) { return static_cast<int>(rng() % n); };
    std::map<std::string, bool> live;
    for (int step = 0; step < steps; ++step) {
      WriteSet w;
      const int what = pick(10);
      if (what == 0) {
        const std::string& id = people[pick(5)];
        w.entities.push_back(Entity(id, "Renamed " + id + " " + std::to_string(step), {"Other " + std::to_string(step)}));
      } else if (what == 1) {
        DocumentRecord d;
        d.set_id(docs[pick(3)]);
        d.set_title("retitled " + std::to_string(step));
        w.documents.push_back(d);
      } else {
        const std::string id = "rel" + std::to_string(pick(20));
        if (live[id] && pick(4) == 0) {
          w.retractions = {{id, "test"}};
        } else {
          RelationRecord r;
          r.set_id(pick(6) == 0 ? "" : id);  // sometimes a server-assigned id
          r.set_subject(people[pick(5)]);
          r.set_predicate(predicates[pick(3)]);
          if (pick(5) == 0)
            r.mutable_value()->set_number(step);
          else
            r.set_object_id(people[pick(5)]);
          const int year = 2005 + pick(8);
          switch (pick(4)) {
            case 0: *r.mutable_valid()->mutable_start() = D(year); break;
            case 1:
              *r.mutable_valid()->mutable_start() = D(year, 1 + pick(12));
              *r.mutable_valid()->mutable_end() = D(year + pick(3));
              break;
            case 2:
              r.mutable_valid()->set_start_unknown(true);
              *r.mutable_valid()->mutable_end() = D(year);
              break;
            default: break;
          }
          r.set_status(static_cast<ClaimStatus>(pick(4)));
          for (int i = pick(3); i > 0; --i) {
            auto* s = r.add_sources();
            s->set_document_id(docs[pick(3)]);
            s->set_end(10);
          }
          w.relations.push_back(r);
          // A batch of two now and then, one of them an entity.
          if (pick(5) == 0) w.entities.push_back(Entity(people[pick(5)], "Batch " + std::to_string(step)));
        }
      }
      auto r = store->Commit(w);
      ASSERT_TRUE(r.ok()) << r.status();
      if (!w.retractions.empty()) live[w.retractions[0].id] = false;
      for (size_t i = 0; i < w.relations.size(); ++i) live[r->relation_ids[i]] = true;
    }
    latest_ = store->LatestRevision();
  }

  VerifyReport MustVerify() {
    auto report = VerifyDatabase(Path());
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : VerifyReport();
  }

  // Opens the database with plain RocksDB (every column family) and runs `edit` on it.
  void Corrupt(const std::function<void(rocksdb::DB*, const std::vector<rocksdb::ColumnFamilyHandle*>&)>& edit) {
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (int i = 0; i < static_cast<int>(Cf::kCount); ++i)
      families.emplace_back(CfName(static_cast<Cf>(i)), rocksdb::ColumnFamilyOptions());
    rocksdb::DB* db = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), Path(), families, &handles, &db).ok());
    edit(db, handles);
    for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    ASSERT_TRUE(db->Close().ok());
    delete db;
  }

  // The first key of a family.
  static std::string FirstKey(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* h, std::string* value = nullptr) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), h));
    it->SeekToFirst();
    EXPECT_TRUE(it->Valid());
    if (!it->Valid()) return "";
    if (value) *value = it->value().ToString();
    return it->key().ToString();
  }

  static std::string AllProblems(const VerifyReport& r) { return r.Summary(); }

  TempDir dir_;
  int64_t latest_ = 0;
};

TEST_F(VerifyTest, AnEmptyStoreVerifies) {
  { ASSERT_TRUE(Store::Open(Path(), {}).ok()); }
  VerifyReport r = MustVerify();
  EXPECT_TRUE(r.ok()) << r.Summary();
  EXPECT_EQ(r.revision, 0);
}

TEST_F(VerifyTest, ARandomHistoryVerifies) {
  WriteRandomHistory(300);
  VerifyReport r = MustVerify();
  EXPECT_TRUE(r.ok()) << r.Summary();
  EXPECT_EQ(r.revision, latest_);
  EXPECT_EQ(r.change_records, latest_);
  EXPECT_GT(r.relation_versions, 100);
  EXPECT_GT(r.index_entries, 4 * 20);
  EXPECT_GT(r.name_entries, 10);
  EXPECT_NE(r.Summary().find("verify: OK"), std::string::npos);
}

TEST_F(VerifyTest, ARandomHistoryWithRetentionVerifiesFromTheHorizon) {
  StoreOptions options;
  options.retain_revisions = 100;  // prunes the change log a thousand revisions at a time
  WriteRandomHistory(1250, options);
  VerifyReport r = MustVerify();
  EXPECT_TRUE(r.ok()) << r.Summary();
  EXPECT_GT(r.pruned_through, 0);
  EXPECT_EQ(r.change_records, latest_ - r.pruned_through);
}

TEST_F(VerifyTest, AForgedIndexEntryFailsNamingIt) {
  WriteRandomHistory(50);
  Corrupt([](rocksdb::DB* db, const auto& h) {
    IndexValue v;
    v.bounds = {DayNumber(2011, 1, 1), DayNumber(2011, 1, 1), kPlusInfinity, kPlusInfinity};
    v.status = 1;
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), h[static_cast<int>(Cf::kOut)],
                        key::Out("e1", "met", v.bounds, "ghost", 3), EncodeIndexValue(v))
                    .ok());
  });
  VerifyReport r = MustVerify();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.problem_count, 1) << r.Summary();
  ASSERT_FALSE(r.problems.empty());
  EXPECT_NE(r.problems[0].find("out[subject \"e1\", predicate \"met\", tier 5, s_lo 2011-1-1, relation \"ghost\" @3]"),
            std::string::npos)
      << r.problems[0];
  EXPECT_NE(r.problems[0].find("does not exist"), std::string::npos) << r.problems[0];
  EXPECT_NE(r.Summary().find("verify: FAILED: 1 problem(s)"), std::string::npos) << r.Summary();
}

TEST_F(VerifyTest, AnIndexEntryMovedToAnotherKeyFailsBothWays) {
  WriteRandomHistory(50);
  Corrupt([](rocksdb::DB* db, const auto& h) {
    // Take a real by_predicate entry and file it under another predicate.
    auto* family = h[static_cast<int>(Cf::kByPredicate)];
    std::string value;
    const std::string k = FirstKey(db, family, &value);
    auto entry = key::ParseRelationIndex(Cf::kByPredicate, k);
    ASSERT_TRUE(entry);
    auto v = DecodeIndexValue(value);
    ASSERT_TRUE(v);
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), family, k).ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), family,
                        key::ByPredicate("zzz-other", v->bounds, entry->rel_id, entry->rev), value)
                    .ok());
  });
  VerifyReport r = MustVerify();
  EXPECT_EQ(r.problem_count, 2) << r.Summary();
  const std::string all = AllProblems(r);
  EXPECT_NE(all.find("missing index entry by_predicate["), std::string::npos) << all;
  EXPECT_NE(all.find("predicate \"zzz-other\""), std::string::npos) << all;
  EXPECT_NE(all.find("does not agree with relation"), std::string::npos) << all;
}

TEST_F(VerifyTest, AWrongRevRemovedOrStatusFails) {
  WriteRandomHistory(50);
  Corrupt([](rocksdb::DB* db, const auto& h) {
    auto* family = h[static_cast<int>(Cf::kByTime)];
    std::string value;
    const std::string k = FirstKey(db, family, &value);
    auto v = DecodeIndexValue(value);
    ASSERT_TRUE(v);
    v->status = (v->status + 1) % 5;
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), family, k, EncodeIndexValue(*v)).ok());
  });
  VerifyReport r = MustVerify();
  EXPECT_EQ(r.problem_count, 1) << r.Summary();
  EXPECT_NE(AllProblems(r).find("disagrees with the record"), std::string::npos) << r.Summary();
}

TEST_F(VerifyTest, ASummaryThatDisagreesWithItsRecordFails) {
  WriteRandomHistory(50);
  Corrupt([](rocksdb::DB* db, const auto& h) {
    // The covering part of a by_time entry names another subject than its record.
    auto* family = h[static_cast<int>(Cf::kByTime)];
    std::string value;
    const std::string k = FirstKey(db, family, &value);
    auto v = DecodeIndexValue(value);
    ASSERT_TRUE(v);
    RelationSummary summary;
    ASSERT_TRUE(summary.ParseFromArray(v->summary.data(), static_cast<int>(v->summary.size())));
    summary.set_subject("someone-else");
    const std::string forged = summary.SerializeAsString();
    v->summary = forged;
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), family, k, EncodeIndexValue(*v)).ok());
  });
  VerifyReport r = MustVerify();
  EXPECT_EQ(r.problem_count, 1) << r.Summary();
  EXPECT_NE(AllProblems(r).find("its summary"), std::string::npos) << r.Summary();
  EXPECT_NE(AllProblems(r).find("someone-else"), std::string::npos) << r.Summary();
}

TEST_F(VerifyTest, AMissingNamesEntryAndAMissingChangeRecordFail) {
  WriteRandomHistory(50);
  Corrupt([&](rocksdb::DB* db, const auto& h) {
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), h[static_cast<int>(Cf::kNames)],
                           FirstKey(db, h[static_cast<int>(Cf::kNames)]))
                    .ok());
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), h[static_cast<int>(Cf::kChanges)], key::Change(latest_ / 2)).ok());
  });
  VerifyReport r = MustVerify();
  const std::string all = AllProblems(r);
  EXPECT_NE(all.find("has no names entry names[term"), std::string::npos) << all;
  EXPECT_NE(all.find("no change record for revision " + std::to_string(latest_ / 2)), std::string::npos) << all;
  EXPECT_NE(all.find("its change record does not list it"), std::string::npos) << all;
}

TEST_F(VerifyTest, AMetaRevisionAheadOfTheDataFails) {
  WriteRandomHistory(20);
  Corrupt([&](rocksdb::DB* db, const auto& h) {
    std::string v;
    key::AppendU64(&v, static_cast<uint64_t>(latest_ + 5));
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), h[static_cast<int>(Cf::kMeta)], "revision", v).ok());
  });
  VerifyReport r = MustVerify();
  const std::string all = AllProblems(r);
  EXPECT_NE(all.find("the log ends at revision " + std::to_string(latest_)), std::string::npos) << all;
  EXPECT_NE(all.find("meta: revision is " + std::to_string(latest_ + 5)), std::string::npos) << all;
}

TEST_F(VerifyTest, TheLogIsCheckedAgainstTheData) {
  WriteRandomHistory(40);
  {
    VerifyReport r = MustVerify();
    EXPECT_TRUE(r.ok()) << r.Summary();
    EXPECT_EQ(r.log_entries, r.position);
    EXPECT_GE(r.position, latest_);
  }
  const int64_t gap = latest_ / 2;
  Corrupt([&](rocksdb::DB* db, const auto& h) {
    rocksdb::ColumnFamilyHandle* log = h[static_cast<int>(Cf::kLog)];
    // One entry gone, and another's item no longer what was stored at its revision.
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), log, key::Log(gap)).ok());
    std::string bytes;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), log, key::Log(3), &bytes).ok());
    LogEntry e;
    ASSERT_TRUE(e.ParseFromString(bytes));
    ASSERT_GT(e.entities_size() + e.relations_size(), 0);
    if (e.entities_size() > 0)
      e.mutable_entities(0)->set_label("not what was written");
    else
      e.mutable_relations(0)->set_predicate("not what was written");
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), log, key::Log(3), e.SerializeAsString()).ok());
  });
  VerifyReport r = MustVerify();
  const std::string all = AllProblems(r);
  EXPECT_NE(all.find("log: entry " + std::to_string(gap + 1) + " where entry " + std::to_string(gap) +
                     " was expected"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("log: entry 3: "), std::string::npos) << all;
  EXPECT_NE(all.find("differs from the entry's item"), std::string::npos) << all;
}

TEST_F(VerifyTest, NotADatabaseIsAnError) {
  auto r = VerifyDatabase(dir_.Sub("nothing-here"));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound) << r.status();
}

}  // namespace
}  // namespace annals::storage
