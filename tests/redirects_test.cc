// storage/redirects.h: the merged-into map, exact at every revision, against a hand-worked
// chain and against a brute force over random histories of merges and unmerges.
#include "storage/redirects.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"

namespace annals::storage {
namespace {

TEST(Redirects, AChainResolvesAtEveryRevisionAndAnUnmergeUndoesOneLink) {
  Redirects r;
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.Resolve("b", 10), "b");
  r.Record("b", 3, "a");  // B into A at 3
  r.Record("a", 5, "c");  // A into C at 5
  r.Record("b", 8, "");   // B unmerged at 8
  EXPECT_FALSE(r.empty());
  EXPECT_EQ(r.Resolve("b", 2), "b");
  EXPECT_EQ(r.Resolve("b", 3), "a");
  EXPECT_EQ(r.Resolve("b", 4), "a");
  EXPECT_EQ(r.Resolve("b", 5), "c") << "the chain B -> A -> C";
  EXPECT_EQ(r.Resolve("b", 8), "b") << "itself again";
  EXPECT_EQ(r.Resolve("a", 8), "c");
  EXPECT_EQ(r.TargetAt("b", 5), "a");
  EXPECT_EQ(r.Members("c", 4), std::vector<std::string>{});
  EXPECT_EQ(r.Members("c", 5), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.Members("a", 4), (std::vector<std::string>{"b"}));
  EXPECT_EQ(r.Members("a", 5), std::vector<std::string>{}) << "A is merged itself: it survives nothing";
  EXPECT_EQ(r.Members("c", 8), (std::vector<std::string>{"a"}));
  EXPECT_EQ(r.Members("a", 2), std::vector<std::string>{});
  r.Clear();
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.Resolve("b", 5), "b");
}

// Random merges and unmerges under the committer's rules (never into a merged entity, never
// an entity merged already), checked at every revision against the state kept here.
TEST(Redirects, RandomHistoriesAgreeWithABruteForceAtEveryRevision) {
  std::mt19937 rng(21);
  Redirects r;
  const int kIds = 12;
  std::map<std::string, std::string> state;  // id -> direct target, now
  std::vector<std::map<std::string, std::string>> at = {state};  // by revision
  for (int rev = 1; rev <= 300; ++rev) {
    const std::string id = absl::StrCat("e", rng() % kIds), target = absl::StrCat("e", rng() % kIds);
    if (state.contains(id)) {  // merged: unmerge it
      state.erase(id);
      r.Record(id, rev, "");
    } else if (id != target && !state.contains(target)) {
      state[id] = target;
      r.Record(id, rev, target);
    }
    at.push_back(state);
  }
  int chained = 0;
  for (int64_t rev = 0; rev < static_cast<int64_t>(at.size()); ++rev) {
    auto resolve = [&](std::string id) {
      for (int i = 0; i < kIds && at[rev].contains(id); ++i) id = at[rev].at(id);
      return id;
    };
    for (int i = 0; i < kIds; ++i) {
      const std::string id = absl::StrCat("e", i);
      const std::string want = resolve(id);
      ASSERT_EQ(r.Resolve(id, rev), want) << id << " @" << rev;
      ASSERT_EQ(r.TargetAt(id, rev), at[rev].contains(id) ? at[rev].at(id) : "") << id << " @" << rev;
      chained += at[rev].contains(id) && want != at[rev].at(id);
      std::vector<std::string> members;
      for (int j = 0; j < kIds; ++j) {
        const std::string other = absl::StrCat("e", j);
        if (other != id && resolve(other) == id) members.push_back(other);
      }
      std::sort(members.begin(), members.end());
      ASSERT_EQ(r.Members(id, rev), members) << id << " @" << rev;
    }
  }
  EXPECT_GT(chained, 50) << "too few chains to test them";
}

}  // namespace
}  // namespace annals::storage
