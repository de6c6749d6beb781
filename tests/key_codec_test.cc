// The key codec: round trips, and that byte order is the order the scans rely on.
#include "storage/key_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace annals::storage {
namespace {

TEST(KeyCodec, DayRoundTripsAcrossTheWholeRange) {
  for (int64_t day : {kMinusInfinity, kMinusInfinity + 1, int64_t{-719528}, int64_t{-1}, int64_t{0},
                      int64_t{1}, int64_t{15000}, kPlusInfinity - 1, kPlusInfinity}) {
    std::string bytes;
    key::AppendDay(&bytes, day);
    ASSERT_EQ(bytes.size(), 8u);
    EXPECT_EQ(key::ReadDay(bytes), day);
  }
}

TEST(KeyCodec, DaysSortBytewiseInNumericOrderIncludingBce) {
  std::mt19937_64 rng(7);
  std::vector<int64_t> days = {kMinusInfinity, kPlusInfinity, 0, -1, 1};
  // Day numbers of 44 BCE, 1 BCE, 1 CE, 1970, 2011 (computed independently of the codec).
  days.push_back(DayNumber(-44, 3, 15));
  days.push_back(DayNumber(-1, 12, 31));
  days.push_back(DayNumber(1, 1, 1));
  days.push_back(DayNumber(2011, 5, 11));
  for (int i = 0; i < 500; ++i) days.push_back(static_cast<int64_t>(rng()) >> (rng() % 40));
  std::vector<std::string> encoded;
  for (int64_t d : days) {
    std::string b;
    key::AppendDay(&b, d);
    encoded.push_back(b);
  }
  std::vector<size_t> by_bytes(days.size()), by_value(days.size());
  for (size_t i = 0; i < days.size(); ++i) by_bytes[i] = by_value[i] = i;
  std::sort(by_bytes.begin(), by_bytes.end(), [&](size_t a, size_t b) { return encoded[a] < encoded[b]; });
  std::sort(by_value.begin(), by_value.end(), [&](size_t a, size_t b) { return days[a] < days[b]; });
  for (size_t i = 0; i < days.size(); ++i) EXPECT_EQ(days[by_bytes[i]], days[by_value[i]]) << "position " << i;
}

TEST(KeyCodec, VersionKeysPutTheNewestVersionFirst) {
  const std::string v1 = key::Version("russia", 1), v9 = key::Version("russia", 9),
                    v300 = key::Version("russia", 300);
  EXPECT_LT(v300, v9);
  EXPECT_LT(v9, v1);
  EXPECT_EQ(key::VersionRevision(v300), 300);
  // Every key of "russia" sorts before every key of "russia-x": ids end with 0x00.
  EXPECT_LT(key::Version("russia", 1), key::Version("russia-x", 1000));
  EXPECT_LT(key::PrefixEnd(key::VersionPrefix("russia")), key::Version("russia-x", 1000));
  EXPECT_EQ(key::Version("russia", 5).substr(0, 7), key::VersionPrefix("russia"));
}

TEST(KeyCodec, IndexKeysParseBackToTheRelationAndRevision) {
  struct Case {
    Cf cf;
    std::string key;
  };
  const std::vector<Case> cases = {
      {Cf::kOut, key::Out("zardari", "visited", DayNumber(2011, 5, 11), "rel.a", 42)},
      {Cf::kIn, key::In("russia", "visited", kMinusInfinity, "rel.a", 42)},
      {Cf::kByPredicate, key::ByPredicate("visited", -5, "rel.a", 42)},
      {Cf::kByTime, key::ByTime(0, "rel.a", 42)},
      {Cf::kByDocument, key::ByDocument("seed-000", "rel.a", 42)},
      {Cf::kNames, key::Name("vladimir putin", "rel.a", 42)},
  };
  for (const auto& c : cases) {
    auto tail = key::ParseTail(c.cf, c.key);
    ASSERT_TRUE(tail.has_value()) << CfName(c.cf);
    EXPECT_EQ(tail->id, "rel.a") << CfName(c.cf);
    EXPECT_EQ(tail->rev, 42) << CfName(c.cf);
  }
  EXPECT_FALSE(key::ParseTail(Cf::kOut, "short").has_value());
  EXPECT_FALSE(key::ParseTail(Cf::kEntities, key::Version("a", 1)).has_value());
}

TEST(KeyCodec, OutKeysOrderBySubjectThenPredicateThenStart) {
  const std::string a = key::Out("pakistan", "visited", DayNumber(1965, 4, 1), "r2", 1);
  const std::string b = key::Out("pakistan", "visited", DayNumber(2011, 5, 1), "r1", 1);
  const std::string c = key::Out("pakistan", "visited-x", kMinusInfinity, "r0", 1);
  const std::string d = key::Out("pakistan-x", "a", kMinusInfinity, "r0", 1);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_LT(c, d);
}

TEST(KeyCodec, PrefixEndIsTheFirstKeyAfterThePrefix) {
  EXPECT_EQ(key::PrefixEnd("ab"), "ac");
  EXPECT_EQ(key::PrefixEnd(std::string("a\xff", 2)), "b");
  const std::string p = key::VersionPrefix("x");
  EXPECT_GT(key::PrefixEnd(p), key::Version("x", 1));
  EXPECT_GT(key::PrefixEnd(p), key::Version("x", 0));
}

TEST(KeyCodec, IndexValueRoundTrips) {
  IndexValue v;
  v.rev_removed = 77;
  v.bounds = {kMinusInfinity, DayNumber(2011, 12, 31), DayNumber(2011, 5, 1), kPlusInfinity};
  v.status = CLAIM_POSTPONED;
  auto back = DecodeIndexValue(EncodeIndexValue(v));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->rev_removed, 77);
  EXPECT_EQ(back->bounds.s_lo, kMinusInfinity);
  EXPECT_EQ(back->bounds.s_hi, DayNumber(2011, 12, 31));
  EXPECT_EQ(back->bounds.e_lo, DayNumber(2011, 5, 1));
  EXPECT_EQ(back->bounds.e_hi, kPlusInfinity);
  EXPECT_EQ(back->status, CLAIM_POSTPONED);
  EXPECT_FALSE(DecodeIndexValue("too short").has_value());
}

}  // namespace
}  // namespace annals::storage

namespace annals::storage {
namespace {

TEST(KeyCodec, LogKeysRoundTripAndSortByPositionThenPart) {
  for (int64_t pos : {int64_t{1}, int64_t{255}, int64_t{256}, int64_t{1} << 40})
    for (uint32_t part : {0u, 1u, 65536u}) {
      const auto parsed = key::ParseLog(key::Log(pos, part));
      ASSERT_TRUE(parsed.has_value());
      EXPECT_EQ(parsed->position, pos);
      EXPECT_EQ(parsed->part, part);
    }
  EXPECT_LT(key::Log(1, 0), key::Log(1, 1));
  EXPECT_LT(key::Log(1, 70000), key::Log(2, 0));
  EXPECT_LT(key::Log(255, 0), key::Log(256, 0));
  EXPECT_FALSE(key::ParseLog("short").has_value());
}

}  // namespace
}  // namespace annals::storage
