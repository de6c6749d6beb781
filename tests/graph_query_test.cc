// Graph queries on a real RocksDB: hand-built graphs with worked answers, and ICEWS14
// (data/icews14, shipped with the repository) against an independent brute-force search
// written here.
#include "storage/graph_query.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>

#include "clients/cli/line_reader.h"
#include "storage/relation_views.h"
#include "tests/support/dates.h"
#include "tests/support/temp_dir.h"

namespace annals::storage {
namespace {

using annals::testing::TempDir;

Date D(int y, int m = 0, int d = 0) { return annals::testing::MakeDate<Date>(y, m, d); }

class GraphTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Store::Open(dir_.Sub("db"), {});
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  void Entities(const std::vector<std::string>& ids) {
    WriteSet w;
    for (const auto& id : ids) {
      EntityRecord e;
      e.set_id(id);
      e.set_label("Entity " + id);
      w.entities.push_back(e);
    }
    ASSERT_TRUE(store_->Commit(w).ok());
  }
  // A relation valid on days [from, to] counted from 2000-01-01 (day precision).
  RelationRecord Rel(const std::string& id, const std::string& s, const std::string& o, int from, int to,
                     const std::string& p = "met") {
    RelationRecord r;
    r.set_id(id);
    r.set_subject(s);
    r.set_predicate(p);
    r.set_object_id(o);
    const CivilDay a = CivilOf(DayNumber(2000, 1, 1) + from), b = CivilOf(DayNumber(2000, 1, 1) + to);
    *r.mutable_valid()->mutable_start() = D(a.year, a.month, a.day);
    *r.mutable_valid()->mutable_end() = D(b.year, b.month, b.day);
    return r;
  }
  void Put(std::vector<RelationRecord> rs) {
    WriteSet w;
    w.relations = std::move(rs);
    auto r = store_->Commit(w);
    ASSERT_TRUE(r.ok()) << r.status();
  }
  std::vector<std::vector<std::string>> PathIds(const std::string& from, const std::string& to, int hops,
                                                bool time_respecting, int k, RelationFilter filter = {}) {
    auto found = FindPaths(*store_, store_->LatestRevision(), from, to, hops, filter, time_respecting, k, {});
    EXPECT_TRUE(found.ok()) << found.status();
    std::vector<std::vector<std::string>> out;
    for (const auto& p : found->paths) {
      out.emplace_back();
      for (const auto& step : p) out.back().push_back(step.relation.id());
    }
    return out;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

using Paths = std::vector<std::vector<std::string>>;

// The example: [10,10], [0,20], [5,5] passes every pairwise check and is no chain.
TEST_F(GraphTest, PairwiseChecksAreNotEnoughForATimeRespectingPath) {
  Entities({"a", "b", "c", "d"});
  Put({Rel("ab", "a", "b", 10, 10), Rel("bc", "b", "c", 0, 20), Rel("cd", "c", "d", 5, 5)});
  EXPECT_EQ(PathIds("a", "d", 3, false, 1), (Paths{{"ab", "bc", "cd"}}));
  EXPECT_TRUE(PathIds("a", "d", 3, true, 1).empty());
  // The other way round it is a chain: 5, then [0,20] (still on day 5), then 10.
  EXPECT_EQ(PathIds("d", "a", 3, true, 1), (Paths{{"cd", "bc", "ab"}}));
}

TEST_F(GraphTest, TimeRespectingSearchPrunesOnArrivalNotOnTheEntityAlone) {
  // Two ways to reach m: early (day 1) in two hops, late (day 50) in one. Only the early
  // arrival can go on to t (valid until day 10). A search that marks m "done" after the
  // first (shorter, later) visit would miss the path.
  Entities({"s", "x", "m", "t"});
  Put({Rel("s-m-late", "s", "m", 50, 50), Rel("s-x", "s", "x", 1, 1), Rel("x-m", "x", "m", 1, 1),
       Rel("m-t", "m", "t", 0, 10)});
  EXPECT_EQ(PathIds("s", "t", 3, true, 1), (Paths{{"s-x", "x-m", "m-t"}}));
  EXPECT_EQ(PathIds("s", "t", 3, false, 1), (Paths{{"s-m-late", "m-t"}}));
  auto found = FindPaths(*store_, store_->LatestRevision(), "s", "t", 3, {}, true, 1, {});
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->paths.size(), 1u);
  EXPECT_EQ(found->paths[0][2].arrival, DayNumber(2000, 1, 2));  // carried from day 1: max(1, 0)
}

// A busy source and a quiet target: the target's ball grows first, so the paths are
// joined from a head walked forward and a tail walked backward. The tail's latest arrival
// (m-t ends on day 3) must reject the direct head (at m on day 5) and keep the slower one
// (at m on day 2), by hand: s-y [1], y-m [2], m-t [0,3]; s-m [5]; s-x1..x4 lead nowhere.
TEST_F(GraphTest, ATailFromTheTargetBoundsTheHeadsArrival) {
  Entities({"s", "y", "m", "t", "x1", "x2", "x3", "x4"});
  Put({Rel("s-m", "s", "m", 5, 5), Rel("s-y", "s", "y", 1, 1), Rel("y-m", "y", "m", 2, 2), Rel("m-t", "m", "t", 0, 3),
       Rel("s-x1", "s", "x1", 1, 1), Rel("s-x2", "s", "x2", 1, 1), Rel("s-x3", "s", "x3", 1, 1),
       Rel("s-x4", "s", "x4", 1, 1)});
  EXPECT_EQ(PathIds("s", "t", 3, true, 5), (Paths{{"s-y", "y-m", "m-t"}}));
  EXPECT_EQ(PathIds("s", "t", 3, false, 5), (Paths{{"s-m", "m-t"}, {"s-y", "y-m", "m-t"}}));
  auto found = FindPaths(*store_, store_->LatestRevision(), "s", "t", 3, {}, true, 1, {});
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->paths.size(), 1u);
  // Arrivals, carried forward across the join: y on day 1, m on day 2, t still on day 2.
  EXPECT_EQ(found->paths[0][1].arrival, DayNumber(2000, 1, 3));
  EXPECT_EQ(found->paths[0][2].arrival, DayNumber(2000, 1, 3));
  EXPECT_EQ(found->paths[0][2].entity_id, "t");
  EXPECT_TRUE(found->paths[0][2].forward);
}

TEST_F(GraphTest, KShortestSimplePathsInOrderAndDirectionRespected) {
  Entities({"a", "b", "c", "d", "e"});
  Put({Rel("ab", "a", "b", 0, 100), Rel("bd", "b", "d", 0, 100), Rel("ac", "a", "c", 0, 100),
       Rel("cd", "c", "d", 0, 100), Rel("ad", "a", "d", 0, 100), Rel("ce", "c", "e", 0, 100),
       Rel("ed", "d", "e", 0, 100)});
  // Lengths 1, 2, 2, then 3 (a-c-e-d); no path repeats an entity.
  const Paths all = PathIds("a", "d", 3, false, 10);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0], (std::vector<std::string>{"ad"}));
  EXPECT_EQ(std::set<std::vector<std::string>>(all.begin() + 1, all.begin() + 3),
            (std::set<std::vector<std::string>>{{"ab", "bd"}, {"ac", "cd"}}));
  EXPECT_EQ(all[3], (std::vector<std::string>{"ac", "ce", "ed"}));
  EXPECT_EQ(PathIds("a", "d", 3, false, 2).size(), 2u);
  // Following relations only from subject to object: e -> d is against "ed" (d is its subject).
  RelationFilter out_only;
  out_only.incoming = false;
  const Paths forward = PathIds("a", "d", 3, false, 10, out_only);
  EXPECT_EQ(forward.size(), 3u);
  for (const auto& p : forward) EXPECT_NE(p.back(), "ed");
}

TEST_F(GraphTest, TraverseReachesEachEntityAndRelationOnceAndReportsTruncation) {
  Entities({"hub", "a", "b", "c", "far"});
  Put({Rel("h-a", "hub", "a", 0, 0), Rel("h-b", "hub", "b", 0, 0), Rel("b-h", "b", "hub", 0, 0),
       Rel("h-c", "hub", "c", 0, 0, "signed"), Rel("c-far", "c", "far", 0, 0)});
  auto all = Traverse(*store_, store_->LatestRevision(), {"hub"}, 2, {}, {});
  ASSERT_TRUE(all.ok());
  std::map<std::string, int> depth;
  for (size_t i = 0; i < all->entities.size(); ++i) depth[all->entities[i].id()] = all->depths[i];
  EXPECT_EQ(depth, (std::map<std::string, int>{{"hub", 0}, {"a", 1}, {"b", 1}, {"c", 1}, {"far", 2}}));
  std::set<std::string> rels;
  for (const auto& r : all->relations) EXPECT_TRUE(rels.insert(r.id()).second) << r.id() << " twice";
  EXPECT_EQ(rels.size(), 5u);
  EXPECT_FALSE(all->stop.truncated);
  // Depth 1 does not reach far; a predicate filter prunes the c branch.
  RelationFilter met;
  met.predicates = {"met"};
  auto only_met = Traverse(*store_, store_->LatestRevision(), {"hub"}, 3, met, {});
  EXPECT_EQ(only_met->entities.size(), 3u);
  // A small result bound stops early, says so, and leaves a frontier to go on from.
  QueryBudget tight;
  tight.max_results = 4;
  auto cut = Traverse(*store_, store_->LatestRevision(), {"hub"}, 2, {}, tight);
  ASSERT_TRUE(cut.ok());
  EXPECT_TRUE(cut->stop.truncated);
  EXPECT_EQ(cut->stop.bound, "max_results");
  EXPECT_FALSE(cut->frontier.empty());
  QueryBudget narrow;
  narrow.max_fan_out = 2;
  auto fan = Traverse(*store_, store_->LatestRevision(), {"hub"}, 1, {}, narrow);
  EXPECT_EQ(fan->stop.bound, "max_fan_out");
  // The fan-out counts the directions walked: hub has three outgoing relations and one
  // incoming, so walking outgoing only with a fan-out of 3 follows all three, untruncated.
  RelationFilter out_only;
  out_only.incoming = false;
  QueryBudget three;
  three.max_fan_out = 3;
  auto outward = Traverse(*store_, store_->LatestRevision(), {"hub"}, 1, out_only, three);
  ASSERT_TRUE(outward.ok());
  EXPECT_FALSE(outward->stop.truncated) << outward->stop.bound;
  std::set<std::string> out_rels;
  for (const auto& r : outward->relations) out_rels.insert(r.id());
  EXPECT_EQ(out_rels, (std::set<std::string>{"h-a", "h-b", "h-c"}));
  EXPECT_EQ(Traverse(*store_, store_->LatestRevision(), {"nobody"}, 1, {}, {}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(GraphTest, TimelineKeepsEachClaimAtItsOwnPrecision) {
  Entities({"pakistan", "russia"});
  RelationRecord year = Rel("y", "pakistan", "russia", 0, 0), may = year, undated = year, reported = year;
  year.clear_valid();
  *year.mutable_valid()->mutable_start() = D(2011);
  *year.mutable_valid()->mutable_end() = D(2011);
  may.set_id("m");
  may.clear_valid();
  *may.mutable_valid()->mutable_start() = D(2011, 5, 11);
  *may.mutable_valid()->mutable_end() = D(2011, 5, 13);
  undated.set_id("u");
  undated.clear_valid();
  reported.set_id("r");
  reported.clear_valid();
  *reported.mutable_valid()->mutable_start_latest() = D(2012, 3);
  Put({year, may, undated, reported});
  RelationFilter pair;
  pair.entity_id = "pakistan";
  pair.other_id = "russia";
  auto set = RelationsOf(*store_, store_->LatestRevision(), pair, {});
  ASSERT_TRUE(set.ok());
  std::vector<std::pair<std::string, std::vector<std::string>>> got;
  for (const auto& g : GroupTimeline(set->relations, Period::kMonth)) {
    got.push_back({g.period, {}});
    for (const auto& r : g.relations) got.back().second.push_back(r.id());
  }
  using G = std::vector<std::pair<std::string, std::vector<std::string>>>;
  // Undated first; "by 2012-03" sorts with the unbounded starts; the year stays a year.
  EXPECT_EQ(got, (G{{"undated", {"u"}}, {"by 2012-03", {"r"}}, {"2011", {"y"}}, {"2011-05", {"m"}}}));
}

TEST_F(GraphTest, AggregateCountsAYearClaimCertainlyInItsYearAndOnlyPossiblyInAMonth) {
  Entities({"pakistan", "russia"});
  auto trade = [](const std::string& id, int year, double usd) {
    RelationRecord r;
    r.set_id(id);
    r.set_subject("pakistan");
    r.set_predicate("bilateral_trade");
    r.mutable_value()->mutable_quantity()->set_amount(usd);
    r.mutable_value()->mutable_quantity()->set_unit("USD");
    *r.mutable_valid()->mutable_start() = D(year);
    *r.mutable_valid()->mutable_end() = D(year);
    return r;
  };
  RelationRecord visit = Rel("v", "pakistan", "russia", 0, 0, "visited");
  visit.clear_valid();
  *visit.mutable_valid()->mutable_start() = D(2008, 5, 11);
  *visit.mutable_valid()->mutable_end() = D(2008, 5, 11);
  Put({trade("t2006", 2006, 441e6), trade("t2008", 2008, 630e6), visit});
  // Literal-valued relations have no entity at the far end, so take them by subject.
  RelationFilter pakistan;
  pakistan.entity_id = "pakistan";
  auto set = RelationsOf(*store_, store_->LatestRevision(), pakistan, {});
  ASSERT_TRUE(set.ok());
  ASSERT_EQ(set->relations.size(), 3u);
  AggregateResult years = AggregateRelations(set->relations, Period::kYear, true);
  ASSERT_EQ(years.buckets.size(), 3u);
  EXPECT_EQ(years.buckets[0].period, "2006");
  EXPECT_EQ(years.buckets[0].count, 1);
  ASSERT_EQ(years.buckets[0].sums.size(), 1u);
  EXPECT_EQ(years.buckets[0].sums[0].amount, 441e6);
  EXPECT_EQ(years.buckets[1].period, "2008");
  EXPECT_EQ(years.buckets[2].period, "2008");
  AggregateResult months = AggregateRelations(set->relations, Period::kMonth, false);
  int64_t certain = 0, possible_2008 = 0;
  double certain_usd = 0;
  for (const auto& b : months.buckets) {
    certain += b.count;
    if (b.period.rfind("2008-", 0) == 0) possible_2008 += b.possible_count;
    for (const auto& s : b.sums) certain_usd += s.amount;
  }
  EXPECT_EQ(months.buckets.size(), 24u);  // every month of 2006 and of 2008
  EXPECT_EQ(certain, 1) << "only the dated visit is certain in a month";
  EXPECT_EQ(possible_2008, 13) << "the 2008 figure is possible in each of 12 months, the visit in May";
  EXPECT_EQ(certain_usd, 0) << "yearly figures are not certain in any month";
  auto may = std::find_if(months.buckets.begin(), months.buckets.end(), [](const auto& b) { return b.period == "2008-05"; });
  ASSERT_NE(may, months.buckets.end());
  EXPECT_EQ(may->count, 1);
  EXPECT_EQ(may->possible_count, 2);
}

TEST_F(GraphTest, ConflictsAreClaimsFromDifferentSourcesThatCannotAllBeRight) {
  Entities({"zardari", "russia", "pakistan"});
  WriteSet docs;
  for (const char* id : {"doc-a", "doc-b", "doc-c"}) {
    DocumentRecord d;
    d.set_id(id);
    docs.documents.push_back(d);
  }
  ASSERT_TRUE(store_->Commit(docs).ok());
  auto claim = [&](const std::string& id, Date start, const std::string& doc) {
    RelationRecord r = Rel(id, "zardari", "russia", 0, 0, "visited");
    r.clear_valid();
    *r.mutable_valid()->mutable_start() = start;
    *r.mutable_valid()->mutable_end() = start;
    auto* s = r.add_sources();
    s->set_document_id(doc);
    s->set_begin(0);
    s->set_end(10);
    return r;
  };
  auto figure = [&](const std::string& id, double usd, const std::string& doc) {
    RelationRecord r;
    r.set_id(id);
    r.set_subject("pakistan");
    r.set_predicate("bilateral_trade");
    r.mutable_value()->mutable_quantity()->set_amount(usd);
    r.mutable_value()->mutable_quantity()->set_unit("USD");
    *r.mutable_valid()->mutable_start() = D(2008);
    *r.mutable_valid()->mutable_end() = D(2008);
    auto* s = r.add_sources();
    s->set_document_id(doc);
    s->set_begin(0);
    s->set_end(10);
    return r;
  };
  Put({claim("may-a", D(2011, 5), "doc-a"), claim("may-b", D(2011, 5, 12), "doc-b"), claim("sep-c", D(2011, 9), "doc-c"),
       claim("same-doc-1", D(2003), "doc-a"), claim("same-doc-2", D(2006), "doc-a"), figure("f1", 630e6, "doc-a"),
       figure("f2", 600e6, "doc-b")});
  std::vector<RelationRecord> all;
  for (const char* id : {"may-a", "may-b", "sep-c", "same-doc-1", "same-doc-2", "f1", "f2"})
    all.push_back(**store_->GetRelation(id, store_->LatestRevision()));
  auto groups = FindConflicts(all);
  ASSERT_EQ(groups.size(), 2u);
  std::map<std::string, std::set<std::string>> by_reason;
  for (const auto& g : groups)
    for (const auto& c : g.claims) by_reason[g.reason].insert(c.id());
  // May (two sources agreeing) against September; same-source claims are not a disagreement.
  EXPECT_EQ(by_reason["dates"], (std::set<std::string>{"may-a", "may-b", "sep-c", "same-doc-1", "same-doc-2"}));
  EXPECT_EQ(by_reason["values"], (std::set<std::string>{"f1", "f2"}));
}

// --- ICEWS14 against brute force ---------------------------------------------------------

// The ICEWS14 train file as the repository ships it (data/README.md).
const std::filesystem::path kIcews14Train = std::filesystem::path(ANNALS_SOURCE_DIR) / "data/icews14/train.tsv.gz";

struct IcewsEdge {
  int subject, object;
  int64_t day;
  std::string id;
};

class IcewsTest : public GraphTest {
 protected:
  // Loads the first `rows` events of ICEWS14 with its own parser: entity ids are "e" + the
  // name's index, so the store and the brute force share nothing but the triples. The data
  // ships with the repository: a missing file fails the test (callers wrap the call in
  // ASSERT_NO_FATAL_FAILURE, so the test body stops there).
  void Load(int rows) {
    auto in = annals::cli::LineReader::Open(kIcews14Train.string());
    ASSERT_TRUE(in.ok()) << in.status();
    std::map<std::string, int> index;
    auto id_of = [&](const std::string& name) {
      auto [it, added] = index.try_emplace(name, static_cast<int>(index.size()));
      return it->second;
    };
    std::string line;
    while (static_cast<int>(edges_.size()) < rows && (*in)->Next(&line)) {
      std::vector<std::string> cols;
      size_t start = 0;
      for (size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1)
        cols.push_back(line.substr(start, tab - start));
      cols.push_back(line.substr(start));
      ASSERT_EQ(cols.size(), 4u) << line;
      const int y = std::stoi(cols[3].substr(0, 4)), m = std::stoi(cols[3].substr(5, 2)), d = std::stoi(cols[3].substr(8, 2));
      edges_.push_back({id_of(cols[0]), id_of(cols[2]), DayNumber(y, m, d), "ev" + std::to_string(edges_.size())});
    }
    ASSERT_TRUE((*in)->status().ok()) << (*in)->status();
    ASSERT_EQ(static_cast<int>(edges_.size()), rows) << kIcews14Train << " has fewer rows than the test reads";
    entities_ = static_cast<int>(index.size());
    std::vector<std::string> ids;
    for (int i = 0; i < entities_; ++i) ids.push_back("e" + std::to_string(i));
    for (size_t i = 0; i < ids.size(); i += 5000)
      Entities(std::vector<std::string>(ids.begin() + i, ids.begin() + std::min(ids.size(), i + 5000)));
    for (size_t i = 0; i < edges_.size(); i += 5000) {
      std::vector<RelationRecord> batch;
      for (size_t j = i; j < std::min(edges_.size(), i + 5000); ++j) {
        const auto& e = edges_[j];
        const CivilDay c = CivilOf(e.day);
        RelationRecord r;
        r.set_id(e.id);
        r.set_subject("e" + std::to_string(e.subject));
        r.set_predicate("event");
        r.set_object_id("e" + std::to_string(e.object));
        *r.mutable_valid()->mutable_start() = D(c.year, c.month, c.day);
        *r.mutable_valid()->mutable_end() = D(c.year, c.month, c.day);
        batch.push_back(r);
      }
      Put(batch);
    }
    adjacency_.assign(entities_, {});
    for (size_t i = 0; i < edges_.size(); ++i) {
      adjacency_[edges_[i].subject].push_back(i);
      if (edges_[i].object != edges_[i].subject) adjacency_[edges_[i].object].push_back(i);
    }
  }
  // Every simple path (both directions) of at most `hops` hops from s to t; the lengths,
  // sorted. Time-respecting per the rule: a := max(a, day), and each hop needs day >= a.
  std::vector<int> BruteForceLengths(int s, int t, int hops, bool time_respecting) {
    std::vector<int> lengths;
    std::vector<bool> on(entities_, false);
    std::function<void(int, int64_t, int)> dfs = [&](int v, int64_t a, int depth) {
      if (v == t) {
        lengths.push_back(depth);
        return;
      }
      if (depth == hops) return;
      on[v] = true;
      for (size_t i : adjacency_[v]) {
        const auto& e = edges_[i];
        const int u = e.subject == v ? e.object : e.subject;
        if (on[u]) continue;
        if (time_respecting && e.day < a) continue;
        dfs(u, time_respecting ? std::max(a, e.day) : a, depth + 1);
      }
      on[v] = false;
    };
    dfs(s, kMinusInfinity, 0);
    std::sort(lengths.begin(), lengths.end());
    return lengths;
  }

  std::vector<IcewsEdge> edges_;
  std::vector<std::vector<size_t>> adjacency_;
  int entities_ = 0;
};

TEST_F(IcewsTest, FindPathsAgreesWithBruteForceOnIcews14) {
  ASSERT_NO_FATAL_FAILURE(Load(20000));
  std::mt19937 rng(14);
  QueryBudget budget;
  budget.max_fan_out = 100000;
  int compared = 0, with_paths = 0;
  for (int trial = 0; trial < 800 && compared < 80; ++trial) {
    int s = static_cast<int>(rng() % entities_);
    if (adjacency_[s].empty() || adjacency_[s].size() > 25) continue;  // keep the brute force small
    // A target two or three hops away, or a random one.
    int t = static_cast<int>(rng() % entities_);
    if (rng() % 3 != 0) {
      const auto& e1 = edges_[adjacency_[s][rng() % adjacency_[s].size()]];
      const int mid = e1.subject == s ? e1.object : e1.subject;
      if (adjacency_[mid].empty() || adjacency_[mid].size() > 300) continue;
      const auto& e2 = edges_[adjacency_[mid][rng() % adjacency_[mid].size()]];
      t = e2.subject == mid ? e2.object : e2.subject;
    }
    if (t == s) continue;
    // Every other pair the other way round: a busy source and a quiet target, so the
    // target's ball is the smaller and grows first (FindPaths meets in the middle).
    if (trial % 2 == 1) {
      std::swap(s, t);
      if (adjacency_[s].size() > 300) continue;  // keep the brute force small
    }
    for (bool time_respecting : {false, true}) {
      const std::vector<int> want = BruteForceLengths(s, t, 3, time_respecting);
      for (int k : {1, 5}) {
        auto found = FindPaths(*store_, store_->LatestRevision(), "e" + std::to_string(s), "e" + std::to_string(t), 3,
                               {}, time_respecting, k, budget);
        ASSERT_TRUE(found.ok()) << found.status();
        ASSERT_FALSE(found->stop.truncated) << found->stop.bound;
        std::vector<int> got;
        for (const auto& p : found->paths) {
          got.push_back(static_cast<int>(p.size()));
          // Each path is a real, simple, time-respecting chain from s to t.
          std::string at = "e" + std::to_string(s);
          std::set<std::string> visited = {at};
          int64_t a = kMinusInfinity;
          for (const auto& step : p) {
            const auto& r = step.relation;
            ASSERT_TRUE(r.subject() == at || r.object_id() == at) << "step does not start where the last ended";
            at = r.subject() == at ? r.object_id() : r.subject();
            ASSERT_EQ(at, step.entity_id);
            ASSERT_TRUE(visited.insert(at).second) << "entity repeated";
            const int64_t day = FirstDay(r.valid().start());
            if (time_respecting) {
              ASSERT_GE(day, a) << "not a chain in time";
              a = std::max(a, day);
            }
          }
          ASSERT_EQ(at, "e" + std::to_string(t));
        }
        const std::vector<int> expected(want.begin(), want.begin() + std::min<size_t>(k, want.size()));
        ASSERT_EQ(got, expected) << "s=e" << s << " t=e" << t << " time_respecting=" << time_respecting << " k=" << k;
        if (!got.empty()) ++with_paths;
      }
    }
    ++compared;
  }
  EXPECT_GE(compared, 60);
  EXPECT_GE(with_paths, 60) << "too few pairs had paths to make the comparison meaningful";
}

TEST_F(IcewsTest, TraverseAgreesWithBruteForceOnIcews14) {
  ASSERT_NO_FATAL_FAILURE(Load(20000));
  std::mt19937 rng(2014);
  QueryBudget budget;
  budget.max_fan_out = 100000;
  budget.max_results = 10'000'000;
  for (int trial = 0, done = 0; trial < 200 && done < 25; ++trial) {
    int s = static_cast<int>(rng() % entities_);
    if (adjacency_[s].empty() || adjacency_[s].size() > 50) continue;
    // Brute force: BFS distances up to 2 and the relations incident to entities at depth < 2.
    std::map<int, int> depth = {{s, 0}};
    std::vector<int> frontier = {s};
    std::set<std::string> rels;
    for (int d = 0; d < 2; ++d) {
      std::vector<int> next;
      for (int v : frontier)
        for (size_t i : adjacency_[v]) {
          rels.insert(edges_[i].id);
          const int u = edges_[i].subject == v ? edges_[i].object : edges_[i].subject;
          if (depth.emplace(u, d + 1).second) next.push_back(u);
        }
      frontier = next;
    }
    auto got = Traverse(*store_, store_->LatestRevision(), {"e" + std::to_string(s)}, 2, {}, budget);
    ASSERT_TRUE(got.ok());
    ASSERT_FALSE(got->stop.truncated);
    std::map<int, int> got_depth;
    for (size_t i = 0; i < got->entities.size(); ++i)
      got_depth[std::stoi(got->entities[i].id().substr(1))] = got->depths[i];
    std::set<std::string> got_rels;
    for (const auto& r : got->relations) got_rels.insert(r.id());
    ASSERT_EQ(got_depth, depth) << "from e" << s;
    ASSERT_EQ(got_rels, rels) << "from e" << s;
    ++done;
  }
}

}  // namespace
}  // namespace annals::storage
