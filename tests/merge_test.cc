// Merging entities (issue #21): MergeItems in the log, redirects resolved at read time
// (storage/redirects.h, store_merges.cc). Hand-worked cases for each promise of the issue,
// the refusals, a replica's apply and a reopen, and a random history of upserts, relation
// writes, merges, unmerges and deletions checked against an in-test model at every
// revision. A real RocksDB in a temporary directory.
#include <gtest/gtest.h>

#include <iostream>
#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "storage/field_error.h"
#include "storage/store.h"
#include "storage/verify.h"
#include "tests/support/temp_dir.h"

namespace annals::storage {
namespace {

using annals::testing::TempDir;

EntityRecord Entity(const std::string& id, const std::string& label, std::vector<std::string> aliases = {}) {
  EntityRecord e;
  e.set_id(id);
  e.set_label(label);
  e.set_kind("person");
  for (auto& a : aliases) e.add_aliases(a);
  return e;
}

RelationRecord Relation(const std::string& id, const std::string& s, const std::string& o) {
  RelationRecord r;
  r.set_id(id);
  r.set_subject(s);
  r.set_predicate("met");
  r.set_object_id(o);
  return r;
}

WriteSet Merge(std::vector<std::string> ids, const std::string& into) {
  WriteSet w;
  for (auto& id : ids) w.merges.push_back({id, into});
  return w;
}

WriteSet Unmerge(const std::string& id) {
  WriteSet w;
  w.merges.push_back({id, ""});
  return w;
}

class MergeTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    auto opened = Store::Open(dir_.Sub("db"), {});
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = std::move(*opened);
  }
  CommitResult MustCommit(const WriteSet& batch) {
    auto r = store_->Commit(batch);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : CommitResult();
  }
  // The relations a resolving read anchored at `entity` finds at `rev`: id -> "subject>object".
  std::map<std::string, std::string> RelationsOf(const std::string& entity, int64_t rev,
                                                 const std::string& other = "") {
    RelationFilter f;
    f.entity_id = entity;
    f.other_id = other;
    std::map<std::string, std::string> out;
    for (View view : {View::kBasic, View::kFull}) {
      std::map<std::string, std::string> got;
      auto page = store_->FindRelations(f, rev, "", 10000, view);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) return {};
      for (const auto& h : page->hits) got[h.relation.id()] = h.relation.subject() + ">" + h.relation.object_id();
      if (view == View::kFull) EXPECT_EQ(got, out) << "BASIC and FULL disagree";
      out = std::move(got);
    }
    return out;
  }
  // The single field a refusal names.
  static std::string FieldOf(const absl::Status& s) {
    auto errors = ItemErrorsOf(s);
    return errors.size() == 1 ? errors[0].field : absl::StrCat(errors.size(), " errors: ", s.ToString());
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(MergeTest, AMergedEntityIsReadAsItsSurvivorFromTheMergeOnAndAsItselfBefore) {
  WriteSet setup;
  setup.entities = {Entity("gul", "Abdullah Gul"), Entity("gul-icews", "Abdullah Gül", {"A. Gul"}),
                    Entity("pk", "Pakistan"), Entity("ru", "Russia")};
  setup.relations = {Relation("r1", "gul-icews", "ru"), Relation("r2", "gul", "pk"), Relation("r3", "pk", "gul-icews")};
  const int64_t before = MustCommit(setup).revision;
  const CommitResult merged = MustCommit(Merge({"gul-icews"}, "gul"));
  ASSERT_EQ(merged.revision, before + 1);
  const int64_t m = merged.revision;

  // A read by the merged id answers with the survivor, and says so.
  auto redirected = store_->GetEntity("gul-icews", m);
  ASSERT_TRUE(redirected.ok() && redirected->has_value());
  EXPECT_EQ((*redirected)->id(), "gul");
  EXPECT_EQ((*redirected)->redirected_from(), "gul-icews");
  // The survivor carries the merged entity's names as aliases, and lists it.
  auto survivor = store_->GetEntity("gul", m);
  ASSERT_TRUE(survivor.ok() && survivor->has_value());
  EXPECT_EQ((*survivor)->redirected_from(), "");
  EXPECT_EQ(std::vector<std::string>((*survivor)->merged_ids().begin(), (*survivor)->merged_ids().end()),
            std::vector<std::string>{"gul-icews"});
  EXPECT_EQ(std::vector<std::string>((*survivor)->aliases().begin(), (*survivor)->aliases().end()),
            (std::vector<std::string>{"Abdullah Gül", "A. Gul"}));

  // Every relation of both, under the survivor, from either id; the ends shown resolved.
  const std::map<std::string, std::string> all = {{"r1", "gul>ru"}, {"r2", "gul>pk"}, {"r3", "pk>gul"}};
  EXPECT_EQ(RelationsOf("gul", m), all);
  EXPECT_EQ(RelationsOf("gul-icews", m), all);
  EXPECT_EQ(RelationsOf("pk", m, "gul-icews"), (std::map<std::string, std::string>{{"r2", "gul>pk"}, {"r3", "pk>gul"}}));
  // The ids as written are kept beside the resolved ones.
  RelationFilter at_ru;
  at_ru.entity_id = "ru";
  auto page = store_->FindRelations(at_ru, m, "", 10, View::kFull);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->hits.size(), 1u);
  EXPECT_EQ(page->hits[0].relation.subject(), "gul");
  EXPECT_EQ(page->hits[0].relation.written_subject(), "gul-icews");
  EXPECT_EQ(page->hits[0].relation.written_object(), "");

  // As of before the merge, nothing changed.
  EXPECT_EQ((*store_->GetEntity("gul-icews", before))->id(), "gul-icews");
  EXPECT_EQ(RelationsOf("gul", before), (std::map<std::string, std::string>{{"r2", "gul>pk"}}));
  EXPECT_EQ(RelationsOf("gul-icews", before),
            (std::map<std::string, std::string>{{"r1", "gul-icews>ru"}, {"r3", "pk>gul-icews"}}));

  // Search finds the survivor, once, by the merged entity's names.
  for (const std::string q : {"gül", "a gul", "abdullah"}) {
    auto found = store_->SearchEntities(q, "", m, "", 10);
    ASSERT_TRUE(found.ok()) << found.status();
    ASSERT_EQ(found->entities.size(), 1u) << q;
    EXPECT_EQ(found->entities[0].id(), "gul") << q;
  }
  auto before_search = store_->SearchEntities("abdullah", "", before, "", 10);
  EXPECT_EQ(before_search->entities.size(), 2u);

  // An upsert of the merged id is refused, naming the survivor; a relation naming it lands
  // on the survivor.
  WriteSet upsert;
  upsert.entities = {Entity("gul-icews", "Gul again")};
  auto refused = store_->Commit(upsert);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(FieldOf(refused.status()), "entities[0].id");
  EXPECT_NE(refused.status().ToString().find("'gul'"), std::string::npos) << refused.status();
  WriteSet later;
  later.relations = {Relation("r4", "ru", "gul-icews")};
  const int64_t l = MustCommit(later).revision;
  EXPECT_EQ(RelationsOf("gul", l).at("r4"), "ru>gul");

  // Unmerged: the entity is itself again, with every relation written naming it.
  const int64_t u = MustCommit(Unmerge("gul-icews")).revision;
  EXPECT_EQ((*store_->GetEntity("gul-icews", u))->id(), "gul-icews");
  EXPECT_EQ((*store_->GetEntity("gul", u))->merged_ids_size(), 0);
  EXPECT_EQ(RelationsOf("gul", u), (std::map<std::string, std::string>{{"r2", "gul>pk"}}));
  EXPECT_EQ(RelationsOf("gul-icews", u),
            (std::map<std::string, std::string>{{"r1", "gul-icews>ru"}, {"r3", "pk>gul-icews"}, {"r4", "ru>gul-icews"}}));
  // And at the revisions in between, still merged.
  EXPECT_EQ(RelationsOf("gul-icews", l).size(), 4u);
}

TEST_F(MergeTest, ChainsResolveToTheLastSurvivor) {
  WriteSet setup;
  setup.entities = {Entity("a", "A"), Entity("b", "B"), Entity("c", "C"), Entity("x", "X")};
  setup.relations = {Relation("rb", "b", "x"), Relation("ra", "a", "x"), Relation("rc", "x", "c")};
  MustCommit(setup);
  MustCommit(Merge({"b"}, "a"));
  const int64_t r = MustCommit(Merge({"a"}, "c")).revision;
  EXPECT_EQ(store_->ResolveEntityId("b", r), "c");
  EXPECT_EQ((*store_->GetEntity("b", r))->id(), "c");
  EXPECT_EQ(store_->MergedInto("c", r), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(RelationsOf("x", r), (std::map<std::string, std::string>{{"ra", "c>x"}, {"rb", "c>x"}, {"rc", "x>c"}}));
  // Unmerging the middle one takes b with it (b still points at a).
  const int64_t u = MustCommit(Unmerge("a")).revision;
  EXPECT_EQ(store_->ResolveEntityId("b", u), "a");
  EXPECT_EQ(RelationsOf("a", u), (std::map<std::string, std::string>{{"ra", "a>x"}, {"rb", "a>x"}}));
}

TEST_F(MergeTest, AnEntityPairedWithItselfThroughAMergeListsEachRelationOnce) {
  WriteSet setup;
  setup.entities = {Entity("a", "A"), Entity("b", "B")};
  setup.relations = {Relation("ab", "a", "b"), Relation("ba", "b", "a"), Relation("bb", "b", "b")};
  MustCommit(setup);
  const int64_t r = MustCommit(Merge({"b"}, "a")).revision;
  for (const std::string& other : {"a", "b"}) {
    RelationFilter f;
    f.entity_id = "a";
    f.other_id = other;
    auto page = store_->FindRelations(f, r, "", 100, View::kBasic);
    ASSERT_TRUE(page.ok());
    std::vector<std::string> ids;
    for (const auto& h : page->hits) ids.push_back(h.relation.id());
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(ids, (std::vector<std::string>{"ab", "ba", "bb"})) << "other " << other;
  }
}

TEST_F(MergeTest, AChainLongerThanReadsFollowIsRefused) {
  WriteSet setup;
  for (int i = 0; i <= Redirects::kMaxChain; ++i) setup.entities.push_back(Entity(absl::StrCat("e", i), "E"));
  MustCommit(setup);
  // e0 into e1, then e1 into e2, ...: the chain from e0 grows by one each time.
  for (int i = 0; i + 1 < Redirects::kMaxChain; ++i) MustCommit(Merge({absl::StrCat("e", i)}, absl::StrCat("e", i + 1)));
  const int64_t head = store_->LatestRevision();
  EXPECT_EQ(store_->ResolveEntityId("e0", head), absl::StrCat("e", Redirects::kMaxChain - 1));
  auto refused = store_->Commit(Merge({absl::StrCat("e", Redirects::kMaxChain - 1)}, absl::StrCat("e", Redirects::kMaxChain)));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  EXPECT_EQ(FieldOf(refused.status()), "merges[0].id");
  EXPECT_EQ(store_->LatestRevision(), head);
}

TEST_F(MergeTest, BadMergesAreRefusedNamingTheFieldAndWriteNothing) {
  WriteSet setup;
  setup.entities = {Entity("a", "A"), Entity("b", "B"), Entity("c", "C"), Entity("gone", "Gone")};
  setup.relations = {Relation("r", "b", "c")};
  MustCommit(setup);
  WriteSet del;
  del.deletions.push_back({DeletionItem::ENTITY, "gone", false});
  MustCommit(del);
  MustCommit(Merge({"b"}, "a"));
  const int64_t head = store_->LatestRevision();
  struct Case {
    WriteSet batch;
    absl::StatusCode code;
    std::string field;
  } cases[] = {
      {Merge({"c"}, "c"), absl::StatusCode::kInvalidArgument, "merges[0].into"},
      {Merge({"c"}, "b"), absl::StatusCode::kFailedPrecondition, "merges[0].into"},  // into a merged one
      {Merge({"b"}, "c"), absl::StatusCode::kFailedPrecondition, "merges[0].id"},    // merged already
      {Merge({"a"}, "b"), absl::StatusCode::kFailedPrecondition, "merges[0].into"},  // the cycle a->b->a
      {Merge({"nobody"}, "a"), absl::StatusCode::kNotFound, "merges[0].id"},
      {Merge({"c"}, "nobody"), absl::StatusCode::kNotFound, "merges[0].into"},
      {Merge({"c"}, "gone"), absl::StatusCode::kNotFound, "merges[0].into"},
      {Merge({"gone"}, "a"), absl::StatusCode::kNotFound, "merges[0].id"},
      {Merge({"c", "c"}, "a"), absl::StatusCode::kInvalidArgument, "merges[1].id"},
      {Merge({"c", "a"}, "c"), absl::StatusCode::kInvalidArgument, "merges[0].into"},
      {Unmerge("c"), absl::StatusCode::kFailedPrecondition, "merges[0].id"},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    auto r = store_->Commit(cases[i].batch);
    EXPECT_EQ(r.status().code(), cases[i].code) << i << ": " << r.status();
    EXPECT_EQ(FieldOf(r.status()), cases[i].field) << i << ": " << r.status();
  }
  // A merge does not come with other writes; neither end of a merge can be deleted.
  WriteSet mixed = Merge({"c"}, "a");
  mixed.entities = {Entity("d", "D")};
  EXPECT_EQ(FieldOf(store_->Commit(mixed).status()), "merges");
  for (const std::string id : {"a", "b"}) {
    WriteSet d;
    d.deletions.push_back({DeletionItem::ENTITY, id, true});
    auto r = store_->Commit(d);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << id << ": " << r.status();
    EXPECT_EQ(FieldOf(r.status()), "deletions[0].id");
  }
  EXPECT_EQ(store_->LatestRevision(), head);  // nothing written
}

TEST_F(MergeTest, AReplicaAndAReopenedStoreResolveTheSame) {
  WriteSet setup;
  setup.entities = {Entity("a", "A"), Entity("b", "B"), Entity("c", "C")};
  setup.relations = {Relation("r", "b", "c")};
  MustCommit(setup);
  MustCommit(Merge({"b", "c"}, "a"));
  const int64_t u = MustCommit(Unmerge("c")).revision;
  auto replica = Store::Open(dir_.Sub("replica"), {});
  ASSERT_TRUE(replica.ok());
  ASSERT_TRUE(store_->ReadLog(1, store_->LastPosition(), [&](const LogEntry& e) {
    auto applied = (*replica)->Apply(e);
    EXPECT_TRUE(applied.ok()) << applied;
    return applied.ok();
  }).ok());
  EXPECT_EQ(*(*replica)->StateDigest(Store::DigestScope::kData), *store_->StateDigest(Store::DigestScope::kData));
  EXPECT_EQ((*replica)->ResolveEntityId("b", u), "a");
  Reopen();  // redirects come back from meta
  EXPECT_EQ(store_->ResolveEntityId("b", u), "a");
  EXPECT_EQ(store_->ResolveEntityId("c", u), "c");
  EXPECT_EQ(store_->ResolveEntityId("c", u - 1), "a");
  EXPECT_EQ(RelationsOf("a", u), (std::map<std::string, std::string>{{"r", "a>c"}}));
  store_.reset();
  auto report = VerifyDatabase(dir_.Sub("db"));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok()) << report->Summary();
}

// A random history checked at every revision against a model kept here: which entities
// exist, where each points, and which relations are current as written. A resolving read
// anchored at e must find exactly the relations with an end that resolves where e does,
// with those ends shown resolved.
TEST_F(MergeTest, RandomHistoriesAgreeWithAModelAtEveryRevision) {
  struct State {
    std::set<std::string> entities;
    std::map<std::string, std::string> into;  // merged id -> its direct target
    std::map<std::string, std::pair<std::string, std::string>> relations;  // current, as written
    std::string Resolve(std::string id) const {
      for (auto it = into.find(id); it != into.end(); it = into.find(id)) id = it->second;
      return id;
    }
  };
  std::vector<State> states(1);
  std::mt19937 rng(2121);
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  const int kEntities = 7;
  int next_rel = 0, merges = 0, unmerges = 0, refused = 0;
  for (int step = 0; step < 800; ++step) {
    State next = states.back();
    WriteSet w;
    const std::string e = absl::StrCat("e", pick(kEntities)), o = absl::StrCat("e", pick(kEntities));
    bool expect_ok = true;
    const int kinds[] = {0, 1, 1, 1, 2, 2, 3, 4};
    const int kind = kinds[pick(8)];
    switch (kind) {
      case 0:
        w.entities = {Entity(e, "Entity " + e)};
        expect_ok = !next.into.contains(e);
        next.entities.insert(e);
        break;
      case 1: {
        const std::string id = absl::StrCat("r", next_rel++);
        w.relations = {Relation(id, e, o)};
        expect_ok = next.entities.contains(e) && next.entities.contains(o);
        next.relations[id] = {e, o};
        break;
      }
      case 2:
        w = Merge({e}, o);
        expect_ok = next.entities.contains(e) && next.entities.contains(o) && e != o && !next.into.contains(e) &&
                    !next.into.contains(o);
        next.into[e] = o;
        break;
      case 3: {
        if (next.into.empty() || pick(3) == 0) {
          w = Unmerge(e);
          expect_ok = next.into.contains(e);
          next.into.erase(e);
        } else {
          auto it = next.into.begin();
          std::advance(it, pick(static_cast<int>(next.into.size())));
          w = Unmerge(it->first);
          next.into.erase(it);
        }
        break;
      }
      default: {
        w.deletions.push_back({DeletionItem::ENTITY, e, true});
        bool target = false;
        for (const auto& [id, t] : next.into) target = target || t == e;
        expect_ok = next.entities.contains(e) && !next.into.contains(e) && !target;
        next.entities.erase(e);
        for (auto it = next.relations.begin(); it != next.relations.end();)
          it = it->second.first == e || it->second.second == e ? next.relations.erase(it) : std::next(it);
        break;
      }
    }
    auto committed = store_->Commit(w);
    ASSERT_EQ(committed.ok(), expect_ok) << "step " << step << " kind " << kind << ": " << committed.status();
    if (!committed.ok()) {
      ++refused;
      continue;
    }
    if (committed->written_count() == 0) continue;
    merges += kind == 2;
    unmerges += kind == 3;
    ASSERT_EQ(committed->revision, static_cast<int64_t>(states.size())) << "step " << step;
    states.push_back(std::move(next));
  }
  std::cout << states.size() - 1 << " revisions, " << merges << " merges, " << unmerges << " unmerges, " << refused
            << " refused\n";
  ASSERT_GE(states.size(), 200u);
  EXPECT_GE(merges, 15);
  EXPECT_GE(unmerges, 10);
  EXPECT_GE(refused, 30);
  for (int64_t rev = 1; rev < static_cast<int64_t>(states.size()); ++rev) {
    const State& s = states[rev];
    for (int i = 0; i < kEntities; ++i) {
      const std::string e = absl::StrCat("e", i);
      const std::string survivor = s.Resolve(e);
      auto got = store_->GetEntity(e, rev);
      ASSERT_TRUE(got.ok()) << got.status();
      ASSERT_EQ(got->has_value(), s.entities.contains(e)) << e << " @" << rev;
      if (!got->has_value()) continue;
      ASSERT_EQ((*got)->id(), survivor) << e << " @" << rev;
      std::vector<std::string> members;
      for (const auto& id : s.entities)
        if (id != survivor && s.Resolve(id) == survivor) members.push_back(id);
      ASSERT_EQ(std::vector<std::string>((*got)->merged_ids().begin(), (*got)->merged_ids().end()), members)
          << e << " @" << rev;
      std::map<std::string, std::string> want;
      for (const auto& [id, r] : s.relations) {
        const std::string a = s.Resolve(r.first), b = s.Resolve(r.second);
        if (a == survivor || b == survivor) want[id] = a + ">" + b;
      }
      ASSERT_EQ(RelationsOf(e, rev), want) << e << " @" << rev;
    }
  }
  store_.reset();
  auto report = VerifyDatabase(dir_.Sub("db"));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok()) << report->Summary();
}

}  // namespace
}  // namespace annals::storage
