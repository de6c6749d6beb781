// storage::BulkLoader: a bulk load writes what Store::Commit would write, as one revision.
//
// The same random data set goes into two stores: through BulkLoader into one, through
// Store::Commit (one WriteSet) into the other, both on top of the same online history.
// Then every ListRelations / Neighbors / SearchEntities / GetRelation answer at every
// revision must agree between the two, and with a brute-force filter of the records (the
// index agreement approach of store_test.cc), and reads at revisions before the load must
// not see it.
#include "storage/bulk_load.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include "storage/store.h"
#include "tests/support/dates.h"
#include "tests/support/reference_filter.h"
#include "tests/support/temp_dir.h"

namespace annals::storage {
namespace {

using annals::testing::TempDir;

Date D(int y, int m = 0, int d = 0) { return annals::testing::MakeDate<Date>(y, m, d); }

EntityRecord Entity(const std::string& id, const std::string& label) {
  EntityRecord e;
  e.set_id(id);
  e.set_label(label);
  e.set_kind("person");
  return e;
}

std::unique_ptr<Store> MustOpen(const std::string& path) {
  auto s = Store::Open(path, {});
  EXPECT_TRUE(s.ok()) << s.status();
  return std::move(*s);
}

std::vector<std::string> Ids(const std::vector<RelationRecord>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) out.push_back(r.id());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> AllIds(Store& store, const RelationFilter& f, int64_t rev) {
  std::vector<RelationRecord> all;
  std::string cursor;
  do {
    auto page = store.FindRelations(f, rev, cursor, 7);  // small pages: cursors too
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) break;
    for (auto& hit : page->hits) all.push_back(std::move(hit.relation));
    cursor = page->next_cursor;
  } while (!cursor.empty());
  return Ids(all);
}

class BulkLoadTest : public ::testing::Test {
 protected:
  // Online history shared by both stores: entities e0..e4, document d0, two relations,
  // then e1 renamed (so the bulk load replaces a changed entity's names).
  void History(Store& store) {
    WriteSet a;
    for (int i = 0; i < 5; ++i) a.entities.push_back(Entity("e" + std::to_string(i), "Person " + std::to_string(i)));
    DocumentRecord d;
    d.set_id("d0");
    d.set_title("a report");
    a.documents.push_back(d);
    ASSERT_TRUE(store.Commit(a).ok());
    WriteSet b;
    for (int i = 0; i < 2; ++i) {
      RelationRecord r;
      r.set_subject("e0");
      r.set_predicate("met");
      r.set_object_id("e" + std::to_string(i + 1));
      *r.mutable_valid()->mutable_start() = D(2010 + i);
      b.relations.push_back(r);
    }
    ASSERT_TRUE(store.Commit(b).ok());
  }

  // The data set: new entities, one changed entity, one unchanged, relations with and
  // without ids, sources, literal objects, statuses and vague dates.
  WriteSet Data() {
    std::mt19937 rng(7);
    auto pick = [&](int n) { return static_cast<int>(rng() % n); };
    WriteSet w;
    for (int i = 5; i < 30; ++i) w.entities.push_back(Entity("e" + std::to_string(i), "Bulk Person " + std::to_string(i)));
    w.entities.push_back(Entity("e1", "Renamed Person"));  // changed
    w.entities.push_back(Entity("e2", "Person 2"));        // unchanged
    w.entities.back().set_kind("person");
    DocumentRecord d1;
    d1.set_id("d1");
    d1.set_title("bulk source");
    w.documents.push_back(d1);
    const std::vector<std::string> predicates = {"met", "visited", "signed", "criticized"};
    for (int i = 0; i < 400; ++i) {
      RelationRecord r;
      if (i % 3 == 0) r.set_id("bulk-" + std::to_string(i));
      r.set_subject("e" + std::to_string(pick(30)));
      r.set_predicate(predicates[pick(4)]);
      if (i % 17 == 0) {
        r.mutable_value()->set_number(i);
      } else {
        r.set_object_id("e" + std::to_string(pick(30)));
      }
      const int year = 2005 + pick(10);
      switch (pick(4)) {
        case 0: *r.mutable_valid()->mutable_start() = D(year); break;
        case 1:
          *r.mutable_valid()->mutable_start() = D(year, 1 + pick(12), 1 + pick(28));
          *r.mutable_valid()->mutable_end() = r.valid().start();
          break;
        case 2: r.mutable_valid()->set_start_unknown(true); *r.mutable_valid()->mutable_end() = D(year); break;
        default: break;
      }
      r.set_status(static_cast<ClaimStatus>(pick(3)));
      if (pick(4) == 0) {
        auto* s = r.add_sources();
        s->set_document_id(pick(2) ? "d0" : "d1");
        s->set_begin(0);
        s->set_end(5);
      }
      w.relations.push_back(r);
    }
    return w;
  }

  TempDir dir_;
};

TEST_F(BulkLoadTest, WritesWhatCommitWritesAsOneRevision) {
  auto bulk = MustOpen(dir_.Sub("bulk"));
  auto online = MustOpen(dir_.Sub("online"));
  History(*bulk);
  History(*online);
  const int64_t before = bulk->LatestRevision();
  ASSERT_EQ(before, 2);
  const WriteSet data = Data();

  int64_t listened = 0;
  bulk->SetCommitListener([&](int64_t rev) { listened = rev; });
  BulkLoadStats stats;
  {
    BulkLoadOptions options;
    options.spill_bytes = 16 << 10;  // several SST files per family, overlapping
    BulkLoader loader(*bulk, options);
    EXPECT_EQ(loader.revision(), before + 1);
    for (const auto& d : data.documents) ASSERT_TRUE(loader.AddDocument(d).ok());
    for (const auto& e : data.entities) ASSERT_TRUE(loader.AddEntity(e).ok());
    for (const auto& r : data.relations) ASSERT_TRUE(loader.AddRelation(r).ok());
    EXPECT_EQ(bulk->LatestRevision(), before);  // nothing visible before Finish
    auto finished = loader.Finish();
    ASSERT_TRUE(finished.ok()) << finished.status();
    stats = *finished;
  }
  auto committed = online->Commit(data);
  ASSERT_TRUE(committed.ok()) << committed.status();

  EXPECT_EQ(stats.revision, before + 1);
  EXPECT_EQ(bulk->LatestRevision(), before + 1);
  EXPECT_EQ(listened, before + 1);
  EXPECT_GT(stats.sst_files, static_cast<int>(Cf::kCount) - 4);
  EXPECT_EQ(stats.relations_written, committed->relations_written);
  EXPECT_EQ(stats.entities_written, committed->entities_written);
  EXPECT_EQ(stats.documents_written, committed->documents_written);
  EXPECT_EQ(stats.unchanged_count, committed->unchanged_count);

  // Reopen the bulk store: the load is durable and the counters came back.
  bulk.reset();
  bulk = MustOpen(dir_.Sub("bulk"));
  ASSERT_EQ(bulk->LatestRevision(), before + 1);

  // The same change-log record (ids and kinds).
  auto bc = bulk->GetChange(before + 1);
  auto oc = online->GetChange(before + 1);
  ASSERT_TRUE(bc.ok() && *bc && oc.ok() && *oc);
  ASSERT_EQ((*bc)->changes_size(), (*oc)->changes_size());
  for (int i = 0; i < (*bc)->changes_size(); ++i) {
    EXPECT_EQ((*bc)->changes(i).id(), (*oc)->changes(i).id());
    EXPECT_EQ((*bc)->changes(i).kind(), (*oc)->changes(i).kind());
    EXPECT_EQ((*bc)->changes(i).previous_revision(), (*oc)->changes(i).previous_revision());
  }

  // Every relation version, by brute force over GetRelation of every id.
  std::vector<RelationRecord> records;  // current at before + 1 in the bulk store
  for (const auto& id : (*oc)->changes()) {
    if (id.kind() != ChangeEntry::RELATION_PUT) continue;
    auto b = bulk->GetRelation(id.id(), before + 1);
    auto o = online->GetRelation(id.id(), before + 1);
    ASSERT_TRUE(b.ok() && o.ok() && b->has_value() && o->has_value()) << id.id();
    RelationRecord bb = **b, oo = **o;
    bb.clear_recorded_at_micros();
    oo.clear_recorded_at_micros();
    EXPECT_EQ(bb.SerializeAsString(), oo.SerializeAsString()) << id.id();
    records.push_back(**b);
    EXPECT_FALSE(bulk->GetRelation(id.id(), before)->has_value()) << "visible before the load: " << id.id();
  }
  for (const std::string id : {"r1", "r2"}) {  // the online history's two relations
    auto r = online->GetRelation(id, before);
    ASSERT_TRUE(r.ok() && r->has_value());
    records.push_back(**r);
  }

  // Index agreement: filters over every index, at the load's revision and before it.
  std::vector<RelationFilter> filters;
  filters.push_back({});
  for (int i = 0; i < 30; i += 3) {
    RelationFilter f;
    f.entity_id = "e" + std::to_string(i);
    f.incoming = false;
    filters.push_back(f);
    f.predicates = {"met"};
    filters.push_back(f);
    RelationFilter g;
    g.entity_id = "e" + std::to_string(i);
    g.outgoing = false;
    filters.push_back(g);
  }
  for (const std::string p : {"met", "visited", "signed", "criticized"}) {
    RelationFilter f;
    f.predicates = {p};
    filters.push_back(f);
    TimeRange t;
    *t.mutable_start() = D(2008);
    *t.mutable_end() = D(2009);
    const TimeBounds b = *BoundsOf(t);
    f.window = DayWindow{b.s_lo, b.e_hi};
    filters.push_back(f);
  }
  for (const std::string doc : {"d0", "d1"}) {
    RelationFilter f;
    f.document_id = doc;
    filters.push_back(f);
  }
  for (int y = 2005; y < 2016; y += 2) {
    RelationFilter f;
    TimeRange t;
    *t.mutable_start() = D(y);
    *t.mutable_end() = D(y + 1);
    auto b = *BoundsOf(t);
    f.window = DayWindow{b.s_lo, b.e_hi};
    filters.push_back(f);
    f.predicates = {"visited"};
    filters.push_back(f);
  }
  for (const auto& f : filters) {
    std::vector<RelationRecord> expected;
    for (const auto& r : records)
      if (annals::testing::ReferenceMatches(r, f)) expected.push_back(r);
    EXPECT_EQ(AllIds(*bulk, f, before + 1), Ids(expected)) << "entity=" << f.entity_id << " out=" << f.outgoing
                                                           << " in=" << f.incoming << " doc=" << f.document_id;
    EXPECT_EQ(AllIds(*bulk, f, before + 1), AllIds(*online, f, before + 1));
    EXPECT_EQ(AllIds(*bulk, f, before), AllIds(*online, f, before));
  }

  // Neighbours of every entity, and name search (the changed entity's old name is gone).
  for (int i = 0; i < 30; ++i) {
    RelationFilter q;
    q.entity_id = "e" + std::to_string(i);
    for (int64_t rev : {before, before + 1}) {
      auto b = bulk->FindRelations(q, rev, "", 1000);
      auto o = online->FindRelations(q, rev, "", 1000);
      ASSERT_TRUE(b.ok() && o.ok());
      ASSERT_EQ(b->hits.size(), o->hits.size()) << q.entity_id << " at " << rev;
      for (size_t k = 0; k < b->hits.size(); ++k) {
        EXPECT_EQ(b->hits[k].relation.id(), o->hits[k].relation.id());
        EXPECT_EQ(b->hits[k].outgoing, o->hits[k].outgoing);
      }
    }
  }
  for (const std::string query : {"", "person", "renamed", "bulk", "person 1"}) {
    for (int64_t rev : {before, before + 1}) {
      auto b = bulk->SearchEntities(query, "", rev, "", 1000);
      auto o = online->SearchEntities(query, "", rev, "", 1000);
      ASSERT_TRUE(b.ok() && o.ok());
      ASSERT_EQ(b->entities.size(), o->entities.size()) << "'" << query << "' at " << rev;
      for (size_t k = 0; k < b->entities.size(); ++k) EXPECT_EQ(b->entities[k].id(), o->entities[k].id());
    }
  }
  EXPECT_EQ((*bulk->GetEntity("e1", before + 1))->label(), "Renamed Person");
  EXPECT_EQ((*bulk->GetEntity("e1", before))->label(), "Person 1");

  // The online committer goes on after the load: the next revision and the next assigned id.
  WriteSet next;
  RelationRecord r;
  r.set_subject("e3");
  r.set_predicate("met");
  r.set_object_id("e4");
  next.relations.push_back(r);
  auto after_bulk = bulk->Commit(next);
  auto after_online = online->Commit(next);
  ASSERT_TRUE(after_bulk.ok() && after_online.ok());
  EXPECT_EQ(after_bulk->revision, before + 2);
  EXPECT_EQ(after_bulk->relation_ids, after_online->relation_ids);
}

TEST_F(BulkLoadTest, RefusesExistingRelationsAndMissingEntitiesAndWritesNothing) {
  auto store = MustOpen(dir_.Sub("db"));
  History(*store);
  {
    BulkLoader loader(*store);
    RelationRecord r;
    r.set_id("r1");  // exists since revision 2
    r.set_subject("e0");
    r.set_predicate("met");
    r.set_object_id("e1");
    EXPECT_EQ(loader.AddRelation(r).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_FALSE(loader.Finish().ok());  // the error is sticky
  }
  {
    BulkLoader loader(*store);
    RelationRecord r;
    r.set_subject("e0");
    r.set_predicate("met");
    r.set_object_id("nobody");
    ASSERT_TRUE(loader.AddRelation(r).ok());
    EXPECT_EQ(loader.Finish().status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(store->LatestRevision(), 2);
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("db") + "/bulk-3-tmp"));
  // The commit lock was released: online commits go on.
  WriteSet w;
  w.entities.push_back(Entity("e9", "Later"));
  auto c = store->Commit(w);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->revision, 3);
  EXPECT_FALSE(store->GetRelation("r3", 3)->has_value());
}

// Repeats are found on the sorted keys: within one spill, across spills, and between an
// explicit id of the counter's form and an assigned one. Each is refused, naming the id,
// and writes nothing.
TEST_F(BulkLoadTest, RefusesARelationGivenTwiceInOneSpillOrAcrossSpills) {
  auto store = MustOpen(dir_.Sub("db"));
  History(*store);
  auto relation = [](const std::string& id, int year) {
    RelationRecord r;
    r.set_id(id);
    r.set_subject("e0");
    r.set_predicate("met");
    r.set_object_id("e1");
    *r.mutable_valid()->mutable_start() = D(year);
    return r;
  };
  for (size_t spill_bytes : {size_t{64} << 20, size_t{2} << 10}) {
    SCOPED_TRACE(spill_bytes);
    BulkLoadOptions options;
    options.spill_bytes = spill_bytes;  // one spill for everything, or dozens
    BulkLoader loader(*store, options);
    ASSERT_TRUE(loader.AddRelation(relation("twice", 2001)).ok());
    for (int i = 0; i < 300; ++i) ASSERT_TRUE(loader.AddRelation(relation("x" + std::to_string(i), 2002)).ok());
    (void)loader.AddRelation(relation("twice", 2003));  // may already fail, from a spill
    auto finished = loader.Finish();
    EXPECT_EQ(finished.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(finished.status().message().find("relation 'twice' appears twice in the load"), std::string::npos)
        << finished.status();
  }
  {
    // "r3" given explicitly first: the counter skips it. Given after the counter made it: a repeat.
    BulkLoader loader(*store);
    ASSERT_TRUE(loader.AddRelation(relation("r3", 2001)).ok());
    RelationRecord unnamed = relation("", 2001);
    auto assigned = loader.AddRelation(unnamed);
    ASSERT_TRUE(assigned.ok());
    EXPECT_EQ(*assigned, "r4") << "r1 and r2 exist, r3 is taken by the load";
    ASSERT_TRUE(loader.AddRelation(relation("r4", 2001)).ok());
    EXPECT_NE(loader.Finish().status().message().find("relation 'r4' appears twice"), std::string::npos);
  }
  EXPECT_EQ(store->LatestRevision(), 2);
  EXPECT_FALSE(store->GetRelation("twice", 2)->has_value());
}

// The entities named by relations are gathered from the sorted keys of every spill: one
// named only in an early spill is still checked.
TEST_F(BulkLoadTest, RefusesAMissingEntityNamedOnlyInAnEarlySpill) {
  auto store = MustOpen(dir_.Sub("db"));
  History(*store);
  BulkLoadOptions options;
  options.spill_bytes = 2 << 10;
  BulkLoader loader(*store, options);
  for (int i = 0; i < 300; ++i) {
    RelationRecord r;
    r.set_subject(i == 0 ? "e0" : "e1");
    r.set_predicate("met");
    r.set_object_id(i == 0 ? "ghost" : "e2");
    ASSERT_TRUE(loader.AddRelation(r).ok());
  }
  const auto finished = loader.Finish();
  EXPECT_EQ(finished.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(finished.status().message().find("entity 'ghost' does not exist"), std::string::npos) << finished.status();
  EXPECT_EQ(store->LatestRevision(), 2);
}

// Keys that share long prefixes, and ids that are prefixes of other ids, sort as RocksDB
// orders them (the loader sorts on 16-byte digits): every entity's neighbours and every
// predicate's relations come back as a brute-force filter of the load finds them.
TEST_F(BulkLoadTest, SortsKeysSharingLongPrefixes) {
  auto store = MustOpen(dir_.Sub("db"));
  const std::string stem(40, 'p');
  const std::vector<std::string> ids = {stem, stem + "a", stem + "a-b", stem + "a-b-c", stem + "b", "p", "pp", "q"};
  const std::vector<std::string> predicates = {"x", std::string(30, 'y'), std::string(30, 'y') + "z"};
  std::mt19937 rng(11);
  std::vector<RelationRecord> load;
  {
    BulkLoader loader(*store);  // one spill: long runs of keys that tie on their first digits
    for (const auto& id : ids) ASSERT_TRUE(loader.AddEntity(Entity(id, "Entity " + id)).ok());
    for (int i = 0; i < 500; ++i) {
      RelationRecord r;
      r.set_subject(ids[rng() % ids.size()]);
      r.set_predicate(predicates[rng() % predicates.size()]);
      r.set_object_id(ids[rng() % ids.size()]);
      *r.mutable_valid()->mutable_start() = D(1990 + static_cast<int>(rng() % 30));
      auto id = loader.AddRelation(r);
      ASSERT_TRUE(id.ok()) << id.status();
      r.set_id(*id);
      load.push_back(r);
    }
    auto finished = loader.Finish();
    ASSERT_TRUE(finished.ok()) << finished.status();
  }
  const int64_t rev = store->LatestRevision();
  for (const auto& entity : ids) {
    RelationFilter q;
    q.entity_id = entity;
    auto page = store->FindRelations(q, rev, "", 1000);
    ASSERT_TRUE(page.ok()) << page.status();
    std::vector<std::string> got, want;
    for (const auto& hit : page->hits) got.push_back(hit.relation.id() + (hit.outgoing ? ">" : "<"));
    for (const auto& r : load) {
      if (r.subject() == entity) want.push_back(r.id() + ">");
      if (r.object_id() == entity) want.push_back(r.id() + "<");
    }
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    EXPECT_EQ(got, want) << entity;
  }
  for (const auto& predicate : predicates) {
    RelationFilter f;
    f.predicates = {predicate};
    std::vector<RelationRecord> want;
    for (const auto& r : load)
      if (r.predicate() == predicate) want.push_back(r);
    EXPECT_EQ(AllIds(*store, f, rev), Ids(want)) << predicate;
  }
}

}  // namespace
}  // namespace annals::storage
