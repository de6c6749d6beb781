// Deleting entities and documents (issue #21): tombstone versions, the refusal while
// relations still refer to them, the cascades, and every reader that used to assume that
// nothing is ever deleted (the committer's existence cache, the bulk loader's reference
// check, labels, search, document listings, verify, a replica's apply). A real RocksDB in
// a temporary directory; a random history checked against an in-test model.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "storage/bulk_load.h"
#include "storage/store.h"
#include "storage/verify.h"
#include "tests/support/temp_dir.h"

namespace annals::storage {
namespace {

using annals::testing::TempDir;

EntityRecord Entity(const std::string& id, const std::string& label) {
  EntityRecord e;
  e.set_id(id);
  e.set_label(label);
  e.set_kind("state");
  return e;
}

DocumentRecord Document(const std::string& id) {
  DocumentRecord d;
  d.set_id(id);
  d.set_title("title of " + id);
  return d;
}

RelationRecord Relation(const std::string& id, const std::string& s, const std::string& o,
                        std::vector<std::string> docs = {}) {
  RelationRecord r;
  r.set_id(id);
  r.set_subject(s);
  r.set_predicate("met");
  r.set_object_id(o);
  for (const auto& d : docs) {
    Source* src = r.add_sources();
    src->set_document_id(d);
    src->set_begin(0);
    src->set_end(5);
  }
  return r;
}

WriteSet DeleteEntity(const std::string& id, bool cascade = false) {
  WriteSet w;
  w.deletions.push_back({DeletionItem::ENTITY, id, cascade});
  return w;
}

WriteSet DeleteDocument(const std::string& id, bool cascade = false) {
  WriteSet w;
  w.deletions.push_back({DeletionItem::DOCUMENT, id, cascade});
  return w;
}

class DeletionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Store::Open(dir_.Sub("db"), {});
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = std::move(*opened);
  }
  CommitResult MustCommit(const WriteSet& batch) {
    auto r = store_->Commit(batch);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : CommitResult();
  }
  // Ids of the relations naming `entity` at `rev` (both directions, every status).
  std::set<std::string> RelationsOf(const std::string& entity, int64_t rev) {
    RelationFilter f;
    f.entity_id = entity;
    f.statuses = EveryStatus();
    auto page = store_->FindRelations(f, rev, "", 10000, View::kBasic);
    EXPECT_TRUE(page.ok()) << page.status();
    std::set<std::string> ids;
    if (page.ok())
      for (const auto& h : page->hits) ids.insert(h.relation.id());
    return ids;
  }
  // Verifies the closed database (verify opens it itself).
  void ExpectVerifies() {
    store_.reset();
    auto report = VerifyDatabase(dir_.Sub("db"));
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(report->ok()) << report->Summary();
    SetUp();
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(DeletionTest, AnEntityNamedByARelationIsRefusedAndNothingIsWritten) {
  WriteSet setup;
  setup.entities = {Entity("pk", "Pakistan"), Entity("ru", "Russia")};
  setup.relations = {Relation("r1", "pk", "ru")};
  const int64_t rev = MustCommit(setup).revision;
  auto refused = store_->Commit(DeleteEntity("ru"));
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  const auto errors = ReportedErrors(refused.status());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "deletions[0].id");
  EXPECT_NE(errors[0].description.find("'r1'"), std::string::npos) << errors[0].description;
  EXPECT_EQ(store_->LatestRevision(), rev);
  EXPECT_TRUE(store_->GetEntity("ru", rev)->has_value());
  // Once the relation is retracted, the entity may go.
  WriteSet retract;
  retract.retractions = {{"r1", "wrong"}};
  MustCommit(retract);
  EXPECT_GT(MustCommit(DeleteEntity("ru")).revision, rev);
}

TEST_F(DeletionTest, CascadeRetractsEveryRelationNamingTheEntityInTheSameRevision) {
  WriteSet setup;
  setup.entities = {Entity("pk", "Pakistan"), Entity("ru", "Russia"), Entity("cn", "China")};
  setup.relations = {Relation("out", "ru", "pk"), Relation("in", "cn", "ru"), Relation("self", "ru", "ru"),
                     Relation("other", "pk", "cn")};
  RelationRecord literal = Relation("lit", "ru", "");
  literal.clear_object_id();
  literal.mutable_value()->set_number(7);
  setup.relations.push_back(literal);
  const int64_t before = MustCommit(setup).revision;
  const CommitResult deleted = MustCommit(DeleteEntity("ru", /*cascade=*/true));
  ASSERT_EQ(deleted.revision, before + 1);
  EXPECT_EQ(deleted.entity_ids, std::vector<std::string>{"ru"});
  EXPECT_EQ(std::set<std::string>(deleted.relation_ids.begin(), deleted.relation_ids.end()),
            (std::set<std::string>{"out", "in", "self", "lit"}));
  for (const std::string id : {"out", "in", "self", "lit"}) {
    auto r = store_->GetRelation(id, deleted.revision);
    ASSERT_TRUE(r.ok() && r->has_value()) << id;
    EXPECT_TRUE((*r)->retracted()) << id;
    EXPECT_EQ((*r)->retraction_reason(), "entity 'ru' deleted");
  }
  EXPECT_FALSE(store_->GetRelation("other", deleted.revision).value()->retracted());
  // Gone now; there as of before, with its relations.
  EXPECT_FALSE(store_->GetEntity("ru", deleted.revision)->has_value());
  EXPECT_TRUE(store_->GetEntity("ru", before)->has_value());
  EXPECT_EQ(RelationsOf("ru", before), (std::set<std::string>{"out", "in", "self", "lit"}));
  EXPECT_TRUE(RelationsOf("ru", deleted.revision).empty());
  EXPECT_EQ(RelationsOf("pk", deleted.revision), (std::set<std::string>{"other"}));
  // Every reader: batch reads, labels, search.
  auto batch = store_->GetEntities({"pk", "ru"}, deleted.revision);
  EXPECT_TRUE((*batch)[0].has_value());
  EXPECT_FALSE((*batch)[1].has_value());
  EXPECT_FALSE((*store_->GetLabels({"ru"}, deleted.revision))[0].has_value());
  EXPECT_TRUE((*store_->GetLabels({"ru"}, before))[0].has_value());
  EXPECT_TRUE(store_->SearchEntities("russ", "", deleted.revision, "", 10)->entities.empty());
  EXPECT_EQ(store_->SearchEntities("russ", "", before, "", 10)->entities.size(), 1u);
  // The history keeps the tombstone as the last version.
  auto history = store_->History<EntityRecord>("ru", 0, 10);
  ASSERT_EQ(history->versions.size(), 2u);
  EXPECT_TRUE(history->versions[1].deleted());
  EXPECT_EQ(history->versions[1].revision(), deleted.revision);
  EXPECT_TRUE(history->versions[1].label().empty());
  ExpectVerifies();
}

TEST_F(DeletionTest, ADeletedEntityCannotBeNamedEvenWhenTheCommitterRememberedIt) {
  WriteSet setup;
  setup.entities = {Entity("pk", "Pakistan"), Entity("ru", "Russia")};
  MustCommit(setup);
  WriteSet first;  // puts "ru" in the committer's existence cache
  first.relations = {Relation("r1", "pk", "ru")};
  MustCommit(first);
  MustCommit(DeleteEntity("ru", true));
  WriteSet later;
  later.relations = {Relation("r2", "pk", "ru")};
  auto refused = store_->Commit(later);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReportedErrors(refused.status())[0].field, "relations[0].object_id");
  // The bulk loader checks references against tombstones too.
  {
    BulkLoader loader(*store_);
    ASSERT_TRUE(loader.AddRelation(Relation("r3", "pk", "ru")).ok());
    auto loaded = loader.Finish();
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument) << loaded.status();
  }
  // The id may be used again: a new life after the tombstone, and relations may name it.
  const CommitResult again = MustCommit([] {
    WriteSet w;
    w.entities = {Entity("ru", "Russian Federation")};
    w.relations = {Relation("r4", "pk", "ru")};
    return w;
  }());
  EXPECT_EQ(store_->GetEntity("ru", again.revision).value()->label(), "Russian Federation");
  ExpectVerifies();
}

TEST_F(DeletionTest, DocumentCascadeTakesTheSourceOutAndRetractsWhatItAloneSupported) {
  WriteSet setup;
  setup.entities = {Entity("pk", "Pakistan"), Entity("ru", "Russia")};
  setup.documents = {Document("d1"), Document("d2")};
  setup.relations = {Relation("both", "pk", "ru", {"d1", "d2"}), Relation("only", "ru", "pk", {"d1"}),
                     Relation("twice", "ru", "pk", {"d1", "d1"}), Relation("other", "pk", "ru", {"d2"})};
  const int64_t before = MustCommit(setup).revision;
  auto refused = store_->Commit(DeleteDocument("d1"));
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(ReportedErrors(refused.status())[0].description.find("3 current relations"), std::string::npos)
      << refused.status();
  EXPECT_EQ(store_->LatestRevision(), before);

  const CommitResult deleted = MustCommit(DeleteDocument("d1", true));
  EXPECT_EQ(deleted.document_ids, std::vector<std::string>{"d1"});
  auto both = store_->GetRelation("both", deleted.revision).value();
  ASSERT_TRUE(both.has_value());
  EXPECT_FALSE(both->retracted());
  ASSERT_EQ(both->sources_size(), 1);
  EXPECT_EQ(both->sources(0).document_id(), "d2");
  EXPECT_EQ(both->revision(), deleted.revision);
  for (const std::string id : {"only", "twice"}) {
    auto r = store_->GetRelation(id, deleted.revision).value();
    EXPECT_TRUE(r->retracted()) << id;
    EXPECT_EQ(r->retraction_reason(), "document 'd1' deleted: it was the only source");
  }
  EXPECT_EQ(store_->GetRelation("other", deleted.revision).value()->revision(), before);
  EXPECT_FALSE(store_->GetDocument("d1", deleted.revision)->has_value());
  EXPECT_TRUE(store_->GetDocument("d1", before)->has_value());
  auto listed = store_->ListDocuments(deleted.revision, "", 10);
  ASSERT_EQ(listed->first.size(), 1u);
  EXPECT_EQ(listed->first[0].id(), "d2");
  EXPECT_EQ(store_->ListDocuments(before, "", 10)->first.size(), 2u);
  // Citing the deleted document is refused from now on.
  WriteSet cite;
  cite.relations = {Relation("new", "pk", "ru", {"d1"})};
  auto bad = store_->Commit(cite);
  ASSERT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReportedErrors(bad.status())[0].field, "relations[0].sources[0].document_id");
  ExpectVerifies();
}

TEST_F(DeletionTest, BadDeletionsAreRefusedNamingTheFieldAndWriteNothing) {
  WriteSet setup;
  setup.entities = {Entity("pk", "Pakistan")};
  setup.documents = {Document("d1")};
  const int64_t rev = MustCommit(setup).revision;
  auto unknown = store_->Commit(DeleteEntity("nobody"));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ReportedErrors(unknown.status())[0].field, "deletions[0].id");
  auto wrong_kind = store_->Commit(DeleteDocument("pk"));
  EXPECT_EQ(wrong_kind.status().code(), absl::StatusCode::kNotFound);
  WriteSet mixed = DeleteEntity("pk");
  mixed.documents = {Document("d2")};
  auto mixed_result = store_->Commit(mixed);
  EXPECT_EQ(mixed_result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReportedErrors(mixed_result.status())[0].field, "deletions");
  WriteSet twice = DeleteEntity("pk");
  twice.deletions.push_back({DeletionItem::ENTITY, "pk", false});
  EXPECT_EQ(store_->Commit(twice).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->LatestRevision(), rev);
  MustCommit(DeleteEntity("pk"));
  auto again = store_->Commit(DeleteEntity("pk"));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kNotFound) << "a deleted entity cannot be deleted again";
}

TEST_F(DeletionTest, AReplicaApplyingTheLogReachesTheSameState) {
  WriteSet setup;
  setup.entities = {Entity("pk", "Pakistan"), Entity("ru", "Russia")};
  setup.documents = {Document("d1"), Document("d2")};
  setup.relations = {Relation("a", "pk", "ru", {"d1", "d2"}), Relation("b", "ru", "pk", {"d1"})};
  MustCommit(setup);
  MustCommit(DeleteDocument("d1", true));
  MustCommit(DeleteEntity("ru", true));
  auto replica = Store::Open(dir_.Sub("replica"), {});
  ASSERT_TRUE(replica.ok());
  ASSERT_TRUE(store_->ReadLog(1, store_->LastPosition(), [&](const LogEntry& e) {
    auto applied = (*replica)->Apply(e);
    EXPECT_TRUE(applied.ok()) << applied;
    return applied.ok();
  }).ok());
  EXPECT_EQ(*(*replica)->StateDigest(Store::DigestScope::kData), *store_->StateDigest(Store::DigestScope::kData));
}

// A random history of upserts, relation writes, retractions and deletions (with and
// without cascade), checked at every revision against a model kept here: which entities
// and documents exist, and which relations are current with which ends and sources.
TEST_F(DeletionTest, RandomHistoriesAgreeWithAModelAtEveryRevision) {
  struct Rel {
    std::string subject, object;
    std::set<std::string> docs;
  };
  struct State {
    std::set<std::string> entities, documents;
    std::map<std::string, Rel> relations;  // current ones
  };
  std::vector<State> states(1);  // by revision
  std::mt19937 rng(21);
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  const int kEntities = 6, kDocs = 3;
  int next_rel = 0;
  int deletions_done = 0, refused_while_referenced = 0;
  for (int step = 0; step < 400; ++step) {
    State next = states.back();
    WriteSet w;
    const std::string e = absl::StrCat("e", pick(kEntities)), d = absl::StrCat("d", pick(kDocs));
    bool expect_ok = true;
    // Writes twice as often as deletions, so relations pile up for the deletions to meet.
    const int kinds[] = {0, 0, 1, 2, 2, 2, 3, 4, 5};
    switch (kinds[pick(9)]) {
      case 0:
        w.entities = {Entity(e, "Entity " + e)};
        next.entities.insert(e);
        break;
      case 1:
        w.documents = {Document(d)};
        next.documents.insert(d);
        break;
      case 2: {
        const std::string o = absl::StrCat("e", pick(kEntities)), id = absl::StrCat("r", next_rel++);
        std::vector<std::string> docs;
        for (int i = pick(3); i > 0; --i) docs.push_back(absl::StrCat("d", pick(kDocs)));
        w.relations = {Relation(id, e, o, docs)};
        expect_ok = next.entities.contains(e) && next.entities.contains(o);
        for (const auto& doc : docs) expect_ok = expect_ok && next.documents.contains(doc);
        if (expect_ok) next.relations[id] = Rel{e, o, std::set<std::string>(docs.begin(), docs.end())};
        break;
      }
      case 3: {
        if (next.relations.empty()) continue;
        auto it = next.relations.begin();
        std::advance(it, pick(static_cast<int>(next.relations.size())));
        w.retractions = {{it->first, "test"}};
        next.relations.erase(it);
        break;
      }
      case 4: {
        const bool cascade = pick(2) == 0;
        w = DeleteEntity(e, cascade);
        bool named = false;
        for (auto it = next.relations.begin(); it != next.relations.end();) {
          const bool names = it->second.subject == e || it->second.object == e;
          named = named || names;
          it = names && cascade ? next.relations.erase(it) : std::next(it);
        }
        expect_ok = next.entities.contains(e) && (cascade || !named);
        refused_while_referenced += next.entities.contains(e) && !cascade && named;
        next.entities.erase(e);
        break;
      }
      default: {
        const bool cascade = pick(2) == 0;
        w = DeleteDocument(d, cascade);
        bool cited = false;
        for (auto it = next.relations.begin(); it != next.relations.end();) {
          const bool cites = it->second.docs.contains(d);
          cited = cited || cites;
          if (cites && cascade) it->second.docs.erase(d);
          it = cites && cascade && it->second.docs.empty() ? next.relations.erase(it) : std::next(it);
        }
        expect_ok = next.documents.contains(d) && (cascade || !cited);
        refused_while_referenced += next.documents.contains(d) && !cascade && cited;
        next.documents.erase(d);
        break;
      }
    }
    auto committed = store_->Commit(w);
    ASSERT_EQ(committed.ok(), expect_ok) << "step " << step << ": " << committed.status();
    if (!committed.ok()) continue;
    if (committed->written_count() == 0) continue;  // an identical upsert
    deletions_done += !w.deletions.empty();
    ASSERT_EQ(committed->revision, static_cast<int64_t>(states.size())) << "step " << step;
    states.push_back(std::move(next));
  }
  // Enough of each kind to mean something.
  ASSERT_GE(states.size(), 140u);
  EXPECT_GE(deletions_done, 20);
  EXPECT_GE(refused_while_referenced, 10);
  // Every revision, every reader that resolves ids.
  for (int64_t rev = 1; rev < static_cast<int64_t>(states.size()); ++rev) {
    const State& s = states[rev];
    for (int i = 0; i < kEntities; ++i) {
      const std::string e = absl::StrCat("e", i);
      ASSERT_EQ(store_->GetEntity(e, rev)->has_value(), s.entities.contains(e)) << e << " @" << rev;
      std::set<std::string> want;
      for (const auto& [id, r] : s.relations)
        if (r.subject == e || r.object == e) want.insert(id);
      ASSERT_EQ(RelationsOf(e, rev), want) << e << " @" << rev;
    }
    for (int i = 0; i < kDocs; ++i) {
      const std::string d = absl::StrCat("d", i);
      ASSERT_EQ(store_->GetDocument(d, rev)->has_value(), s.documents.contains(d)) << d << " @" << rev;
      RelationFilter cites;
      cites.document_id = d;
      cites.statuses = EveryStatus();
      std::set<std::string> got, want;
      auto page = store_->FindRelations(cites, rev, "", 10000, View::kBasic);
      ASSERT_TRUE(page.ok()) << page.status();
      for (const auto& h : page->hits) got.insert(h.relation.id());
      for (const auto& [id, r] : s.relations)
        if (r.docs.contains(d)) want.insert(id);
      ASSERT_EQ(got, want) << d << " @" << rev;
    }
  }
  ExpectVerifies();
}

}  // namespace
}  // namespace annals::storage
