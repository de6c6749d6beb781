// The storage layer on a real RocksDB in a temporary directory.
#include "storage/store.h"

#include <gtest/gtest.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>

#include "absl/strings/str_cat.h"
#include "storage/index_summary.h"
#include "storage/rocks_options.h"
#include "tests/support/dates.h"
#include "tests/support/reference_filter.h"

#include <map>
#include <random>
#include <set>
#include <thread>

#include "tests/support/temp_dir.h"

namespace annals::storage {
namespace {

using annals::testing::TempDir;

Date D(int y, int m = 0, int d = 0) { return annals::testing::MakeDate<Date>(y, m, d); }

EntityRecord Entity(const std::string& id, const std::string& label, std::vector<std::string> aliases = {},
                    const std::string& kind = "state") {
  EntityRecord e;
  e.set_id(id);
  e.set_label(label);
  e.set_kind(kind);
  for (auto& a : aliases) e.add_aliases(a);
  return e;
}

DocumentRecord Document(const std::string& id) {
  DocumentRecord d;
  d.set_id(id);
  d.set_title("title of " + id);
  return d;
}

RelationRecord Relation(const std::string& id, const std::string& s, const std::string& p, const std::string& o,
                        std::optional<Date> start = std::nullopt, std::optional<Date> end = std::nullopt) {
  RelationRecord r;
  r.set_id(id);
  r.set_subject(s);
  r.set_predicate(p);
  r.set_object_id(o);
  if (start) *r.mutable_valid()->mutable_start() = *start;
  if (end) *r.mutable_valid()->mutable_end() = *end;
  return r;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen(StoreOptions options = {}) {
    store_.reset();
    auto opened = Store::Open(dir_.Sub("db"), options);
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = std::move(*opened);
  }
  CommitResult MustCommit(WriteSet batch) {
    auto r = store_->Commit(batch);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : CommitResult();
  }
  // Ids of ListRelations, all pages, at `rev`.
  std::vector<std::string> ListIds(const RelationFilter& f, int64_t rev, int page = 1000, View view = View::kFull) {
    std::vector<std::string> ids;
    std::string cursor;
    for (int guard = 0; guard < 10000; ++guard) {
      auto got = store_->FindRelations(f, rev, cursor, page, view);
      EXPECT_TRUE(got.ok()) << got.status();
      if (!got.ok()) break;
      for (const auto& h : got->hits) ids.push_back(h.relation.id());
      if (got->next_cursor.empty()) break;
      cursor = got->next_cursor;
    }
    return ids;
  }
  // Every entity's neighbours at `rev`, as "relation>" (outgoing) and "relation<"
  // (incoming), equal `expected`.
  void ExpectNeighbors(const std::map<std::string, std::set<std::string>>& expected, int64_t rev) {
    for (const auto& [entity, want] : expected) {
      RelationFilter q;
      q.entity_id = entity;
      auto got = store_->FindRelations(q, rev, "", 1000);
      ASSERT_TRUE(got.ok()) << got.status();
      std::set<std::string> ids;
      for (const auto& h : got->hits) ids.insert(h.relation.id() + (h.outgoing ? ">" : "<"));
      EXPECT_EQ(ids, want) << entity;
    }
  }
  // Two states and a person, committed as revision 1.
  void AddBasics() {
    WriteSet w;
    w.entities = {Entity("pakistan", "Pakistan"), Entity("russia", "Russia", {"Russian Federation"}),
                  Entity("zardari", "Asif Ali Zardari", {"Zardari"}, "person")};
    w.documents = {Document("doc-a"), Document("doc-b")};
    MustCommit(w);
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, EveryCommitGetsTheNextRevision) {
  EXPECT_EQ(store_->LatestRevision(), 0);
  AddBasics();
  EXPECT_EQ(store_->LatestRevision(), 1);
  WriteSet w;
  w.relations = {Relation("v1", "zardari", "visited", "russia", D(2011, 5), D(2011, 5))};
  EXPECT_EQ(MustCommit(w).revision, 2);
  w.relations = {Relation("v2", "zardari", "visited", "russia", D(2011, 9), D(2011, 9))};
  EXPECT_EQ(MustCommit(w).revision, 3);
  auto change = store_->GetChange(3);
  ASSERT_TRUE(change.ok() && change->has_value());
  ASSERT_EQ((*change)->changes_size(), 1);
  EXPECT_EQ((*change)->changes(0).id(), "v2");
  EXPECT_EQ((*change)->changes(0).kind(), ChangeEntry::RELATION_PUT);
}

TEST_F(StoreTest, WritingARecordIdenticalToItsCurrentVersionWritesNothing) {
  AddBasics();
  WriteSet w;
  w.entities = {Entity("pakistan", "Pakistan")};
  CommitResult r = MustCommit(w);
  EXPECT_EQ(r.written_count(), 0);
  EXPECT_EQ(r.unchanged_count, 1);
  EXPECT_EQ(r.revision, 1);
  EXPECT_EQ(store_->LatestRevision(), 1);
  w.entities = {Entity("pakistan", "Islamic Republic of Pakistan")};
  EXPECT_EQ(MustCommit(w).revision, 2);
}

TEST_F(StoreTest, AsOfRevisionReadsSeeEachVersion) {
  AddBasics();
  WriteSet w;
  w.entities = {Entity("pakistan", "Islamic Republic of Pakistan")};
  MustCommit(w);
  auto old_version = store_->GetEntity("pakistan", 1);
  auto new_version = store_->GetEntity("pakistan", 2);
  ASSERT_TRUE(old_version.ok() && old_version->has_value());
  ASSERT_TRUE(new_version.ok() && new_version->has_value());
  EXPECT_EQ((*old_version)->label(), "Pakistan");
  EXPECT_EQ((*old_version)->revision(), 1);
  EXPECT_EQ((*new_version)->label(), "Islamic Republic of Pakistan");
  EXPECT_FALSE(store_->GetEntity("pakistan", 0)->has_value());
  EXPECT_EQ(store_->ResolveRevision(3).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(*store_->ResolveRevision(0), 2);
}

// GetEntities seeks many ids on one iterator filtered by record id (VersionPrefix): an id
// that is a prefix of another, or sorts just before it, must not pick up its neighbour.
TEST_F(StoreTest, GetEntitiesAnswersEachIdAsGetEntityDoesAtEveryRevision) {
  AddBasics();  // revision 1: pakistan, russia, ...
  WriteSet w;
  w.entities = {Entity("pak", "Pak"), Entity("pakistan", "Islamic Republic of Pakistan")};
  MustCommit(w);  // revision 2
  const std::vector<std::string> ids = {"pakistan", "pa", "pak", "russia", "pakistan", "pakistan-x", "zz"};
  for (int64_t rev : {1, 2}) {
    auto many = store_->GetEntities(ids, rev);
    ASSERT_TRUE(many.ok()) << many.status();
    ASSERT_EQ(many->size(), ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      auto one = store_->GetEntity(ids[i], rev);
      ASSERT_TRUE(one.ok());
      ASSERT_EQ((*many)[i].has_value(), one->has_value()) << ids[i] << " at " << rev;
      if (one->has_value()) {
        EXPECT_EQ((*many)[i]->label(), (*one)->label()) << ids[i] << " at " << rev;
      }
    }
  }
  // Worked by hand: "pak" exists from revision 2 only; "pakistan" was renamed at 2.
  EXPECT_FALSE((*store_->GetEntities({"pak"}, 1))[0].has_value());
  EXPECT_EQ((*store_->GetEntities({"pakistan"}, 1))[0]->label(), "Pakistan");
  EXPECT_EQ((*store_->GetEntities({"pakistan"}, 2))[0]->label(), "Islamic Republic of Pakistan");
  EXPECT_FALSE((*store_->GetEntities({"pa"}, 2))[0].has_value());
}

TEST_F(StoreTest, ANewVersionOfARelationReplacesItFromItsRevisionOn) {
  AddBasics();
  RelationRecord visit = Relation("putin-visit", "zardari", "visited", "pakistan", D(2012, 9), D(2012, 9));
  visit.set_status(CLAIM_PLANNED);
  WriteSet w;
  w.relations = {visit};
  MustCommit(w);  // 2
  visit.set_status(CLAIM_POSTPONED);
  *visit.mutable_valid()->mutable_start() = D(2012, 10);
  *visit.mutable_valid()->mutable_end() = D(2012, 10);
  w.relations = {visit};
  MustCommit(w);  // 3
  RelationFilter planned;
  planned.statuses = {CLAIM_PLANNED};
  RelationFilter postponed;
  postponed.statuses = {CLAIM_POSTPONED};
  EXPECT_EQ(ListIds(planned, 2), std::vector<std::string>{"putin-visit"});
  EXPECT_TRUE(ListIds(planned, 3).empty());
  EXPECT_EQ(ListIds(postponed, 3), std::vector<std::string>{"putin-visit"});
  EXPECT_TRUE(ListIds(RelationFilter(), 3).empty()) << "planned and postponed claims are not asserted";
  EXPECT_EQ((*store_->GetRelation("putin-visit", 2))->status(), CLAIM_PLANNED);
}

TEST_F(StoreTest, ARetractedRelationDisappearsFromReadsAtAndAfterItsRetraction) {
  AddBasics();
  WriteSet w;
  w.relations = {Relation("v1", "zardari", "visited", "russia", D(2011, 5), D(2011, 5))};
  MustCommit(w);  // 2
  WriteSet retract;
  retract.retractions = {{"v1", "duplicate claim"}};
  EXPECT_EQ(MustCommit(retract).revision, 3);
  RelationFilter by_subject;
  by_subject.entity_id = "zardari";
  by_subject.incoming = false;
  EXPECT_EQ(ListIds(by_subject, 2), std::vector<std::string>{"v1"});
  EXPECT_TRUE(ListIds(by_subject, 3).empty());
  auto got = store_->GetRelation("v1", 3);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_TRUE((*got)->retracted());
  EXPECT_EQ((*got)->retraction_reason(), "duplicate claim");
  // Twice is refused; a missing id is NOT_FOUND.
  EXPECT_EQ(store_->Commit(retract).status().code(), absl::StatusCode::kFailedPrecondition);
  retract.retractions = {{"nope", ""}};
  EXPECT_EQ(store_->Commit(retract).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->LatestRevision(), 3);
}

TEST_F(StoreTest, ABatchWithABadItemWritesNothingAndNamesEveryBadItem) {
  AddBasics();
  WriteSet w;
  w.entities = {Entity("karzai", "Hamid Karzai")};
  w.relations = {Relation("ok", "zardari", "met", "karzai"),
                 Relation("bad1", "nobody", "met", "russia"),
                 Relation("bad2", "zardari", "met", "nowhere")};
  RelationRecord bad_source = Relation("bad3", "zardari", "met", "russia");
  auto* src = bad_source.add_sources();
  src->set_document_id("doc-missing");
  src->set_begin(0);
  src->set_end(5);
  w.relations.push_back(bad_source);
  auto r = store_->Commit(w);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "relations[1].subject: entity 'nobody' does not exist");
  // Every bad item travels in the status as a value (storage/field_error.h).
  const std::vector<ItemError> errors = ItemErrorsOf(r.status());
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].field, "relations[1].subject");
  EXPECT_EQ(errors[0].description, "entity 'nobody' does not exist");
  EXPECT_EQ(errors[1].field, "relations[2].object_id");
  EXPECT_EQ(errors[2].field, "relations[3].sources[0].document_id");
  EXPECT_EQ(store_->LatestRevision(), 1);
  EXPECT_FALSE(store_->GetEntity("karzai", 1)->has_value());
  EXPECT_FALSE(store_->GetRelation("ok", 1)->has_value());
  // The same batch without the bad items commits, entities of the batch included.
  w.relations.resize(1);
  EXPECT_EQ(MustCommit(w).revision, 2);
}

TEST_F(StoreTest, DuplicateIdsInOneBatchAreRejected) {
  AddBasics();
  WriteSet w;
  w.entities = {Entity("a", "A"), Entity("a", "A again")};
  auto r = store_->Commit(w);
  EXPECT_EQ(r.status().message(), "entities[1].id: 'a' appears twice in the request");
}

TEST_F(StoreTest, ARequestIdReplaysItsFirstResultAndRefusesAnotherPayload) {
  AddBasics();
  WriteSet w;
  w.request_id = "req-1";
  w.fingerprint = "payload-A";
  w.relations = {Relation("", "zardari", "visited", "russia", D(2011, 5), D(2011, 5))};
  CommitResult first = MustCommit(w);
  ASSERT_EQ(first.relation_ids.size(), 1u);
  CommitResult again = MustCommit(w);
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(again.revision, first.revision);
  EXPECT_EQ(again.relation_ids, first.relation_ids);
  EXPECT_EQ(store_->LatestRevision(), first.revision) << "a replay writes nothing";
  w.fingerprint = "payload-B";
  EXPECT_EQ(store_->Commit(w).status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(StoreTest, RequestIdsAreForgottenAfterTheirTimeToLive) {
  StoreOptions short_memory;
  short_memory.request_id_ttl = absl::Milliseconds(1);
  Reopen(short_memory);
  AddBasics();
  WriteSet w;
  w.request_id = "req-ttl";
  w.fingerprint = "A";
  w.entities = {Entity("x", "X")};
  MustCommit(w);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  w.fingerprint = "B";
  w.entities = {Entity("x", "X2")};
  CommitResult r = MustCommit(w);
  EXPECT_FALSE(r.replayed);
  EXPECT_EQ(r.entities_written, 1);
}

TEST_F(StoreTest, ServerAssignedRelationIdsSkipIdsClientsTookAndSurviveReopen) {
  AddBasics();
  WriteSet w;
  w.relations = {Relation("r1", "zardari", "met", "russia")};  // a client takes "r1"
  MustCommit(w);
  w.relations = {Relation("", "zardari", "met", "pakistan"), Relation("", "zardari", "met", "russia")};
  CommitResult r = MustCommit(w);
  EXPECT_EQ(r.relation_ids, (std::vector<std::string>{"r2", "r3"}));
  Reopen();
  EXPECT_EQ(store_->LatestRevision(), 3);
  w.relations = {Relation("", "zardari", "met", "pakistan")};
  EXPECT_EQ(MustCommit(w).relation_ids, std::vector<std::string>{"r4"});
  EXPECT_TRUE((*store_->GetRelation("r1", 4)).has_value());
}

TEST_F(StoreTest, SearchFoldsCaseAndAccentsAndReturnsEachEntityOnce) {
  WriteSet w;
  w.entities = {Entity("abdullah-gul", "Abdullah Gül", {"Gul", "President Gül"}, "person"),
                Entity("gulf", "Gulf States"), Entity("putin", "Vladimir Putin", {}, "person")};
  MustCommit(w);
  auto ids = [&](const std::string& q, const std::string& kind = "") {
    std::vector<std::string> out;
    std::string cursor;
    for (;;) {
      auto page = store_->SearchEntities(q, kind, store_->LatestRevision(), cursor, 1);  // one per page: exercises cursors
      EXPECT_TRUE(page.ok()) << page.status();
      for (const auto& e : page->entities) out.push_back(e.id());
      if (page->next_cursor.empty()) break;
      cursor = page->next_cursor;
    }
    return out;
  };
  EXPECT_EQ(ids("GÜL"), (std::vector<std::string>{"abdullah-gul", "gulf"}));
  EXPECT_EQ(ids("gul", "person"), std::vector<std::string>{"abdullah-gul"});
  EXPECT_EQ(ids("abdullah g"), std::vector<std::string>{"abdullah-gul"});
  EXPECT_EQ(ids("putin"), std::vector<std::string>{"putin"});
  EXPECT_EQ(ids("").size(), 3u);
  EXPECT_TRUE(ids("zzz").empty());
  // A renamed entity is found by its new name only, at the new revision.
  w.entities = {Entity("putin", "V. V. Putin")};
  MustCommit(w);
  EXPECT_TRUE(ids("vladimir").empty());
  auto at1 = store_->SearchEntities("vladimir", "", 1, "", 10);
  ASSERT_TRUE(at1.ok());
  EXPECT_EQ(at1->entities.size(), 1u);
}

TEST_F(StoreTest, NeighborsFollowBothDirectionsAndStopAtTheLimit) {
  AddBasics();
  WriteSet w;
  w.relations = {Relation("a", "zardari", "visited", "russia", D(2011, 5), D(2011, 5)),
                 Relation("b", "russia", "supports", "pakistan", D(2011)),
                 Relation("c", "pakistan", "trades_with", "russia", D(2008), D(2008))};
  MustCommit(w);
  RelationFilter q;
  q.entity_id = "russia";
  auto all = store_->FindRelations(q, 2, "", 10);
  ASSERT_TRUE(all.ok());
  std::set<std::string> ids;
  for (const auto& h : all->hits) ids.insert(h.relation.id() + (h.outgoing ? ">" : "<"));
  EXPECT_EQ(ids, (std::set<std::string>{"a<", "b>", "c<"}));
  EXPECT_TRUE(all->next_cursor.empty());
  q.window = DayWindow{DayNumber(2011, 1, 1), DayNumber(2011, 12, 31), Certainty::kPossibly};
  auto in_2011 = store_->FindRelations(q, 2, "", 10);
  EXPECT_EQ(in_2011->hits.size(), 2u);
  auto limited = store_->FindRelations(q, 2, "", 1);
  EXPECT_EQ(limited->hits.size(), 1u);
  EXPECT_FALSE(limited->next_cursor.empty());
  q.incoming = false;
  q.window.reset();
  EXPECT_EQ(store_->FindRelations(q, 2, "", 10)->hits.size(), 1u);
}

// --- Indexes agree with records after every kind of write -------------------------------
//
// A random history of creates, updates that move index keys (subject, object, predicate,
// dates, status, sources), retractions and revivals; after it, every ListRelations and
// Neighbors query at every revision must equal a brute-force filter of the versions the
// test itself recorded.

struct ModelVersion {
  int64_t rev;
  RelationRecord record;
  bool retracted;
};

TEST_F(StoreTest, IndexesAgreeWithRecordsAfterEveryKindOfWrite) {
  const std::vector<std::string> people = {"e0", "e1", "e2", "e3", "e4"};
  const std::vector<std::string> predicates = {"met", "visited", "signed"};
  const std::vector<std::string> docs = {"d0", "d1", "d2"};
  WriteSet setup;
  for (const auto& id : people) setup.entities.push_back(Entity(id, "Entity " + id));
  for (const auto& id : docs) setup.documents.push_back(Document(id));
  MustCommit(setup);

  std::mt19937 rng(42);
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  std::map<std::string, std::vector<ModelVersion>> model;
  auto random_relation = [&](const std::string& id) {
    RelationRecord r = Relation(id, people[pick(5)], predicates[pick(3)], people[pick(5)]);
    const int year = 2005 + pick(8);
    switch (pick(6)) {
      case 0: *r.mutable_valid()->mutable_start() = D(year); break;
      case 1:
        *r.mutable_valid()->mutable_start() = D(year, 1 + pick(12));
        *r.mutable_valid()->mutable_end() = D(year + pick(3));
        break;
      case 2: r.mutable_valid()->set_start_unknown(true); *r.mutable_valid()->mutable_end() = D(year); break;
      case 3: break;  // always
      case 4: {  // one day (duration tier 0), or a few days (tier 1)
        const Date day = D(year, 1 + pick(12), 1 + pick(28));
        *r.mutable_valid()->mutable_start() = day;
        Date end = day;
        end.set_day(day.day() + pick(2) * pick(3));
        *r.mutable_valid()->mutable_end() = end;
        break;
      }
      default:  // one month, as a point event (tier 1)
        *r.mutable_valid()->mutable_start() = *r.mutable_valid()->mutable_end() = D(year, 1 + pick(12));
        break;
    }
    if (pick(6) == 0) {  // a literal value instead of an entity at the far end
      r.clear_object_id();
      r.mutable_value()->set_number(pick(1000));
    }
    r.set_status(static_cast<ClaimStatus>(pick(3)));
    for (int i = pick(3); i > 0; --i) {
      auto* s = r.add_sources();
      s->set_document_id(docs[pick(3)]);
      s->set_begin(0);
      s->set_end(10);
    }
    return r;
  };
  for (int step = 0; step < 150; ++step) {
    WriteSet w;
    const std::string id = "rel" + std::to_string(pick(25));
    auto& history = model[id];
    const bool live = !history.empty() && !history.back().retracted;
    if (live && pick(4) == 0) {
      w.retractions = {{id, "test"}};
    } else {
      w.relations = {random_relation(id)};
    }
    CommitResult r = MustCommit(w);
    if (r.written_count() == 0) continue;
    if (!w.retractions.empty())
      history.push_back({r.revision, history.back().record, true});
    else
      history.push_back({r.revision, w.relations[0], false});
  }

  std::vector<RelationFilter> filters;
  filters.push_back({});
  for (const auto& p : people) {
    RelationFilter f;
    f.entity_id = p;
    f.incoming = false;
    filters.push_back(f);
    f.predicates = {"met"};
    filters.push_back(f);
    RelationFilter g;
    g.entity_id = p;
    g.outgoing = false;
    filters.push_back(g);
  }
  for (const auto& p : predicates) {
    RelationFilter f;
    f.predicates = {p};
    f.statuses = {0, 1, 2};
    filters.push_back(f);
  }
  for (const auto& d : docs) {
    RelationFilter f;
    f.document_id = d;
    filters.push_back(f);
    f.entity_id = people[0];  // anchored, checked against each record's sources
    filters.push_back(f);
  }
  for (size_t i = 0; i + 1 < people.size(); ++i) {  // pairs, in both directions or one
    RelationFilter f;
    f.entity_id = people[i];
    f.other_id = people[i + 1];
    filters.push_back(f);
    f.outgoing = false;
    f.predicates = {"met", "visited"};
    filters.push_back(f);
  }
  {
    RelationFilter f;  // an entity paired with itself: each of its self-relations once
    f.entity_id = f.other_id = people[2];
    filters.push_back(f);
  }
  {
    RelationFilter f;  // several predicates: one scan each, a cursor across them
    f.predicates = {predicates.back(), predicates.front()};
    filters.push_back(f);
  }
  const size_t plain = filters.size();
  // Windows of a day, a month, a year and a half, and open on one side: each reaches
  // every duration tier differently (key_codec.h).
  const std::vector<std::pair<int64_t, int64_t>> windows = {
      {DayNumber(2008, 1, 1), DayNumber(2009, 6, 30)},
      {DayNumber(2009, 3, 1), DayNumber(2009, 3, 31)},
      {DayNumber(2010, 7, 15), DayNumber(2010, 7, 15)},
      {DayNumber(2011, 1, 1), kPlusInfinity},
      {kMinusInfinity, DayNumber(2006, 12, 31)},
  };
  for (size_t i = 0; i < plain; ++i)
    for (const auto& [w_lo, w_hi] : windows)
      for (auto mode : {Certainty::kPossibly, Certainty::kCertainly}) {
        RelationFilter f = filters[i];
        f.window = DayWindow{w_lo, w_hi, mode};
        filters.push_back(f);
      }

  const int64_t latest = store_->LatestRevision();
  for (int64_t rev = 1; rev <= latest; rev += 3) {
    std::vector<RelationRecord> visible;
    for (const auto& [id, history] : model) {
      const ModelVersion* current = nullptr;
      for (const auto& v : history)
        if (v.rev <= rev) current = &v;
      if (current && !current->retracted) visible.push_back(current->record);
    }
    for (const auto& f : filters) {
      std::multiset<std::string> want;
      for (const auto& r : visible)
        if (annals::testing::ReferenceMatches(r, f)) want.insert(r.id());
      auto got_ids = ListIds(f, rev, 4, rev % 2 ? View::kBasic : View::kFull);
      std::multiset<std::string> got(got_ids.begin(), got_ids.end());
      ASSERT_EQ(got, want) << "rev " << rev << " entity=" << f.entity_id << (f.incoming ? "" : " out only")
                           << (f.outgoing ? "" : " in only") << " predicates=" << f.predicates.size()
                           << " document=" << f.document_id << " window=" << f.window.has_value();
    }
    // Neighbors: every person, with and without windows, all predicates or two named ones,
    // one direction or both, in pages of 3 and of 1000, in both views. Each hit must be the
    // model's version (cut to BASIC in that view), and pages must neither repeat nor skip.
    std::map<std::string, const RelationRecord*> by_id;
    for (const auto& r : visible) by_id[r.id()] = &r;
    auto content = [](RelationRecord r) {
      r.clear_revision();
      r.clear_recorded_at_micros();
      return r.SerializeAsString();
    };
    std::vector<std::optional<DayWindow>> neighbor_windows = {std::nullopt};
    for (const auto& [w_lo, w_hi] : windows) neighbor_windows.push_back(DayWindow{w_lo, w_hi, Certainty::kPossibly});
    for (const auto& p : people)
      for (const auto& window : neighbor_windows)
        for (int shape = 0; shape < 3; ++shape)
          for (int page_size : {3, 1000})
            for (View view : {View::kBasic, View::kFull}) {
              RelationFilter q;
              q.entity_id = p;
              q.statuses = {0, 1, 2};
              q.window = window;
              if (shape == 1) q.predicates = {"visited", "met"};
              if (shape == 2) q.incoming = false;
              RelationFilter reference;
              reference.statuses = q.statuses;
              reference.window = window;
              std::multiset<std::string> want, got;
              for (const auto& r : visible) {
                if (!annals::testing::ReferenceMatches(r, reference)) continue;
                if (shape == 1 && r.predicate() != "visited" && r.predicate() != "met") continue;
                if (r.subject() == p) want.insert(r.id() + ">");
                if (r.object_id() == p && q.incoming) want.insert(r.id() + "<");
              }
              std::string cursor;
              for (int pages = 0;; ++pages) {
                ASSERT_LT(pages, 1000);
                auto page = store_->FindRelations(q, rev, cursor, page_size, view);
                ASSERT_TRUE(page.ok()) << page.status();
                ASSERT_LE(static_cast<int>(page->hits.size()), page_size);
                for (const auto& h : page->hits) {
                  got.insert(h.relation.id() + (h.outgoing ? ">" : "<"));
                  ASSERT_TRUE(by_id.count(h.relation.id())) << h.relation.id();
                  RelationRecord expected = *by_id[h.relation.id()];
                  if (view == View::kBasic) ToBasic(&expected);
                  ASSERT_EQ(content(h.relation), content(expected)) << h.relation.ShortDebugString();
                }
                if (page->next_cursor.empty()) break;
                cursor = page->next_cursor;
              }
              ASSERT_EQ(got, want) << "neighbors of " << p << " at rev " << rev << " shape " << shape
                                   << " window " << window.has_value() << " page " << page_size;
            }
  }
}

// GetLabels answers from a cache of newest versions (label_cache.h): at every revision it
// must give what GetEntity gives there, whatever was cached before, in any order of reads
// and relabels.
TEST_F(StoreTest, LabelsAreRightAtEveryRevisionWhateverWasCached) {
  AddBasics();
  std::mt19937 rng(7);
  const std::vector<std::string> ids = {"pakistan", "russia", "zardari", "nobody"};
  for (int step = 0; step < 60; ++step) {
    if (rng() % 3 == 0) {  // a relabel of one entity (or of two in one commit)
      WriteSet w;
      const size_t first = rng() % 3;
      w.entities.push_back(Entity(ids[first], absl::StrCat("Label ", step), {}, step % 2 ? "state" : "person"));
      if (rng() % 2) w.entities.push_back(Entity(ids[(first + 1) % 3], absl::StrCat("Other ", step)));
      MustCommit(w);
    }
    const int64_t latest = store_->LatestRevision();
    const int64_t rev = rng() % 2 ? latest : 1 + static_cast<int64_t>(rng() % latest);
    auto labels = store_->GetLabels(ids, rev);
    ASSERT_TRUE(labels.ok()) << labels.status();
    for (size_t i = 0; i < ids.size(); ++i) {
      auto entity = store_->GetEntity(ids[i], rev);
      ASSERT_TRUE(entity.ok());
      ASSERT_EQ((*labels)[i].has_value(), entity->has_value()) << ids[i] << " @" << rev;
      if (!*entity) continue;
      EXPECT_EQ((*labels)[i]->label, (*entity)->label()) << ids[i] << " @" << rev << " step " << step;
      EXPECT_EQ((*labels)[i]->kind, (*entity)->kind()) << ids[i] << " @" << rev;
      EXPECT_EQ((*labels)[i]->revision, (*entity)->revision()) << ids[i] << " @" << rev;
    }
  }
}

// Window scans read each duration tier from w_lo minus the tier's reach (key_codec.h).
// At the exact edge of every tier: a relation lasting exactly the tier's longest span and
// ending on the window's first day is found; one that ends the day before is not.
TEST_F(StoreTest, WindowScansFindRelationsAtTheExactReachOfEveryTier) {
  AddBasics();
  auto date_of = [](int64_t day) {
    const CivilDay c = CivilOf(day);
    return D(c.year, c.month, c.day);
  };
  const int64_t w_lo = DayNumber(2012, 6, 15), w_hi = DayNumber(2012, 6, 20);
  WriteSet w;
  std::set<std::string> inside;
  for (int tier = 0; tier < kTierCount - 1; ++tier) {
    const int64_t reach = kTierReach[tier];
    const std::string in_id = absl::StrCat("edge-in-", tier), out_id = absl::StrCat("edge-out-", tier);
    w.relations.push_back(Relation(in_id, "zardari", "visited", "russia", date_of(w_lo - reach), date_of(w_lo)));
    w.relations.push_back(Relation(out_id, "zardari", "visited", "russia", date_of(w_lo - reach - 1), date_of(w_lo - 1)));
    inside.insert(in_id);
  }
  // And one starting on the window's last day, and one the day after.
  w.relations.push_back(Relation("edge-last-day", "zardari", "visited", "russia", date_of(w_hi), date_of(w_hi)));
  w.relations.push_back(Relation("edge-after", "zardari", "visited", "russia", date_of(w_hi + 1), date_of(w_hi + 1)));
  inside.insert("edge-last-day");
  const int64_t rev = MustCommit(w).revision;
  for (int tier = 0; tier < kTierCount - 1; ++tier) {
    auto got = store_->GetRelation(absl::StrCat("edge-in-", tier), rev);
    ASSERT_TRUE(got.ok() && *got);
    EXPECT_EQ(TierOf(*BoundsOf((*got)->valid())), tier) << "the case must sit in the tier it tests";
  }
  RelationFilter q;
  q.entity_id = "zardari";
  q.window = DayWindow{w_lo, w_hi, Certainty::kPossibly};
  for (View view : {View::kBasic, View::kFull}) {
    auto page = store_->FindRelations(q, rev, "", 1000, view);
    ASSERT_TRUE(page.ok()) << page.status();
    std::set<std::string> got;
    for (const auto& h : page->hits) got.insert(h.relation.id());
    EXPECT_EQ(got, inside);
  }
  RelationFilter f;
  f.predicates = {"visited"};
  f.window = q.window;
  auto by_predicate = ListIds(f, rev, 2, View::kBasic);
  EXPECT_EQ(std::set<std::string>(by_predicate.begin(), by_predicate.end()), inside);
  RelationFilter all_time;
  all_time.window = q.window;
  auto by_time = ListIds(all_time, rev, 3);
  EXPECT_EQ(std::set<std::string>(by_time.begin(), by_time.end()), inside);
}

// The out/in families filter table files on the entity id (rocks_options.cc). Three
// rounds of writes, each closed by a reopen (which flushes it to its own table file),
// give files that hold some entities and not others, with ids that are prefixes of one
// another ("s0" and "s01"). Every scan must still see exactly its entity's edges, and a
// scan of an entity written in one round only must skip the other rounds' files.
TEST_F(StoreTest, EdgeScansSkipTableFilesWithoutTheEntityAndMissNothing) {
  AddBasics();
  std::map<std::string, std::set<std::string>> expected;  // entity -> "relation>" / "relation<"
  for (int round = 0; round < 3; ++round) {
    WriteSet w;
    for (const std::string subject : {absl::StrCat("s", round), absl::StrCat("s", round, "1")}) {
      w.entities.push_back(Entity(subject, "subject " + subject));
      for (int i = 0; i < 3; ++i) {
        const std::string id = absl::StrCat(subject, "-r", i);
        w.relations.push_back(Relation(id, subject, absl::StrCat("p", i), "russia", D(2010 + i, 3), D(2010 + i, 3)));
        expected[subject].insert(id + ">");
        expected["russia"].insert(id + "<");
      }
      const std::string back = subject + "-back";
      w.relations.push_back(Relation(back, "russia", "answers", subject, D(2012), D(2012)));
      expected["russia"].insert(back + ">");
      expected[subject].insert(back + "<");
    }
    MustCommit(w);
    Reopen();
  }
  const int64_t rev = store_->LatestRevision();
  const uint64_t skips_before = store_->Properties().prefix_filter_skips;
  ExpectNeighbors(expected, rev);
  // s0 is in round 0's files only: its out and in scans skip rounds 1 and 2 (four files).
  EXPECT_GE(store_->Properties().prefix_filter_skips - skips_before, 4u);
  // Paging inside one entity's edges, one relation per page.
  RelationFilter f;
  f.entity_id = "russia";
  f.outgoing = false;
  EXPECT_EQ(ListIds(f, rev, 1).size(), 18u);
  f = RelationFilter();
  f.entity_id = "s1";
  f.incoming = false;
  EXPECT_EQ(ListIds(f, rev, 1), (std::vector<std::string>{"s1-r0", "s1-r1", "s1-r2"}));
}

// A database whose out/in tables were written before those families had a prefix
// extractor: RocksDB keeps each table's extractor name and must not filter such tables
// with the new one. Round 0 is flushed by a plain RocksDB open with the old options (no
// extractor, whole-key filters), round 1 by a Store; both rounds must be found.
TEST_F(StoreTest, EdgeTablesWrittenWithoutThePrefixExtractorAreStillRead) {
  AddBasics();
  std::map<std::string, std::set<std::string>> expected;
  auto write_round = [&](int round) {
    WriteSet w;
    const std::string subject = absl::StrCat("old", round);
    w.entities.push_back(Entity(subject, "subject " + subject));
    for (int i = 0; i < 2; ++i) {
      const std::string id = absl::StrCat(subject, "-r", i);
      w.relations.push_back(Relation(id, subject, "p", "russia", D(2011, 1 + i), D(2011, 1 + i)));
      expected[subject].insert(id + ">");
      expected["russia"].insert(id + "<");
    }
    MustCommit(w);
  };
  write_round(0);
  store_.reset();  // the round stays in the WAL: closing does not flush
  {
    RocksSetup setup = RocksSetupFor(StoreOptions());
    for (auto& family : setup.families) {
      if (family.name != CfName(Cf::kOut) && family.name != CfName(Cf::kIn)) continue;
      rocksdb::BlockBasedTableOptions table;
      table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
      family.options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
      family.options.prefix_extractor.reset();
      family.options.memtable_prefix_bloom_size_ratio = 0;
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    rocksdb::Status opened = rocksdb::DB::Open(setup.db, dir_.Sub("db"), setup.families, &handles, &raw);
    ASSERT_TRUE(opened.ok()) << opened.ToString();  // recovery flushed round 0 with the old options
    rocksdb::TablePropertiesCollection tables;
    ASSERT_TRUE(raw->GetPropertiesOfAllTables(handles[static_cast<int>(Cf::kOut)], &tables).ok());
    ASSERT_FALSE(tables.empty());
    for (const auto& [file, properties] : tables) EXPECT_EQ(properties->prefix_extractor_name, "nullptr") << file;
    for (auto* h : handles) ASSERT_TRUE(raw->DestroyColumnFamilyHandle(h).ok());
    delete raw;
  }
  Reopen();
  write_round(1);
  Reopen();  // round 1 flushed with the prefix extractor
  const int64_t rev = store_->LatestRevision();
  ExpectNeighbors(expected, rev);
}

TEST_F(StoreTest, EverythingSurvivesReopen) {
  AddBasics();
  WriteSet w;
  w.relations = {Relation("v1", "zardari", "visited", "russia", D(2011, 5), D(2011, 5))};
  MustCommit(w);
  Reopen();
  EXPECT_EQ(store_->LatestRevision(), 2);
  auto got = store_->GetRelation("v1", 2);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->subject(), "zardari");
  RelationFilter f;
  f.entity_id = "russia";
  f.outgoing = false;
  EXPECT_EQ(ListIds(f, 2), std::vector<std::string>{"v1"});
  w.relations = {Relation("v2", "zardari", "visited", "russia")};
  EXPECT_EQ(MustCommit(w).revision, 3);
}

}  // namespace
}  // namespace annals::storage
