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

// Bounds of a relation that held from `s` to `e` (days), known to the day.
TimeBounds Held(int64_t s, int64_t e) { return {s, s, e, e}; }

TEST(KeyCodec, IndexKeysParseBackToEveryField) {
  const int64_t may11 = DayNumber(2011, 5, 11);
  // Parsed fields point into the key: each key outlives its parse.
  const std::string out_key = key::Out("zardari", "visited", Held(may11, may11 + 2), "rel.a", 42);
  const auto out = key::ParseRelationIndex(Cf::kOut, out_key);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->entity, "zardari");
  EXPECT_EQ(out->predicate, "visited");
  EXPECT_EQ(out->tier, 1);  // three days: within a month
  EXPECT_EQ(out->s_lo, may11);
  EXPECT_EQ(out->rel_id, "rel.a");
  EXPECT_EQ(out->rev, 42);
  EXPECT_EQ(out->group, std::string("zardari\0visited\0\x01", 17));

  const TimeBounds open_ended{kMinusInfinity, kMinusInfinity, kPlusInfinity, kPlusInfinity};
  const std::string in_key = key::In("russia", "supports", open_ended, "rel.b", 7);
  const auto in = key::ParseRelationIndex(Cf::kIn, in_key);
  ASSERT_TRUE(in.has_value());
  EXPECT_EQ(in->entity, "russia");
  EXPECT_EQ(in->tier, kTierCount - 1);
  EXPECT_EQ(in->s_lo, kMinusInfinity);
  EXPECT_EQ(in->rel_id, "rel.b");

  const std::string by_predicate_key = key::ByPredicate("visited", Held(-5, -5), "r", 3);
  const auto by_predicate = key::ParseRelationIndex(Cf::kByPredicate, by_predicate_key);
  ASSERT_TRUE(by_predicate.has_value());
  EXPECT_EQ(by_predicate->predicate, "visited");
  EXPECT_EQ(by_predicate->tier, 0);
  EXPECT_EQ(by_predicate->s_lo, -5);
  EXPECT_TRUE(by_predicate->entity.empty());

  const std::string by_time_key = key::ByTime(Held(0, 400), "r", 3);
  const auto by_time = key::ParseRelationIndex(Cf::kByTime, by_time_key);
  ASSERT_TRUE(by_time.has_value());
  EXPECT_EQ(by_time->tier, 3);  // 400 days: within a decade
  EXPECT_EQ(by_time->s_lo, 0);
  EXPECT_EQ(by_time->group, std::string("\x03", 1));

  const std::string by_document_key = key::ByDocument("seed-000", "rel.a", 42);
  const auto by_document = key::ParseRelationIndex(Cf::kByDocument, by_document_key);
  ASSERT_TRUE(by_document.has_value());
  EXPECT_EQ(by_document->document, "seed-000");
  EXPECT_EQ(by_document->rel_id, "rel.a");
  EXPECT_EQ(by_document->rev, 42);

  const std::string name_key = key::Name("vladimir putin", "putin", 9);
  const auto name = key::ParseName(name_key);
  ASSERT_TRUE(name.has_value());
  EXPECT_EQ(name->term, "vladimir putin");
  EXPECT_EQ(name->entity_id, "putin");
  EXPECT_EQ(name->rev, 9);

  const std::string version_key = key::Version("russia", 12);
  const auto version = key::ParseVersion(version_key);
  ASSERT_TRUE(version.has_value());
  EXPECT_EQ(version->id, "russia");
  EXPECT_EQ(version->rev, 12);

  EXPECT_FALSE(key::ParseRelationIndex(Cf::kOut, "short").has_value());
  EXPECT_FALSE(key::ParseRelationIndex(Cf::kEntities, key::Version("a", 1)).has_value());
  EXPECT_FALSE(key::ParseRelationIndex(Cf::kByTime, std::string("\x09", 1) + key::Version("a", 1)).has_value())
      << "tier 9 does not exist";
  EXPECT_FALSE(key::ParseName("no-separator").has_value());
  EXPECT_FALSE(key::ParseVersion("x").has_value());
}

TEST(KeyCodec, TiersAreTheLongestPossibleSpanRoundedUp) {
  const int64_t d = DayNumber(2011, 1, 1);
  EXPECT_EQ(TierOf(Held(d, d)), 0);
  EXPECT_EQ(TierOf(Held(d, d + 1)), 1);
  EXPECT_EQ(TierOf(Held(d, d + 31)), 1);
  EXPECT_EQ(TierOf(Held(d, d + 32)), 2);
  EXPECT_EQ(TierOf(Held(d, d + 366)), 2);
  EXPECT_EQ(TierOf(Held(d, d + 3660)), 3);
  EXPECT_EQ(TierOf(Held(d, d + 36600)), 4);
  EXPECT_EQ(TierOf(Held(d, d + 36601)), 5);
  // "2011" as a point event: from 2011-01-01 at the earliest to 2011-12-31 at the latest.
  EXPECT_EQ(TierOf({d, DayNumber(2011, 12, 31), d, DayNumber(2011, 12, 31)}), 2);
  // Open on either side: the last tier, read whole by every window.
  EXPECT_EQ(TierOf({d, d, d, kPlusInfinity}), kTierCount - 1);
  EXPECT_EQ(TierOf({kMinusInfinity, d, d, d}), kTierCount - 1);
  // Where a window from w_lo starts reading each tier.
  EXPECT_EQ(TierScanStart(0, d), d);
  EXPECT_EQ(TierScanStart(2, d), d - 366);
  EXPECT_EQ(TierScanStart(kTierCount - 1, d), kMinusInfinity);
  EXPECT_EQ(TierScanStart(1, kMinusInfinity), kMinusInfinity);
}

TEST(KeyCodec, OutKeysOrderBySubjectThenPredicateThenTierThenStart) {
  const int64_t d1965 = DayNumber(1965, 4, 1), d2011 = DayNumber(2011, 5, 1);
  const std::string a = key::Out("pakistan", "visited", Held(d1965, d1965), "r2", 1);
  const std::string b = key::Out("pakistan", "visited", Held(d2011, d2011), "r1", 1);
  const std::string c = key::Out("pakistan", "visited", Held(d1965, d2011), "r3", 1);  // decades long: tier 4
  const std::string d = key::Out("pakistan", "visited-x", Held(kMinusInfinity, d1965), "r0", 1);
  const std::string e = key::Out("pakistan-x", "a", Held(kMinusInfinity, d1965), "r0", 1);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_LT(c, d);
  EXPECT_LT(d, e);
  // A tier's keys all share its group prefix; the next tier starts at the group's end.
  const auto pa = key::ParseRelationIndex(Cf::kOut, a);
  EXPECT_EQ(key::PrefixEnd(pa->group), key::TierPrefix(std::string("pakistan\0visited\0", 17), 1));
  EXPECT_LT(key::GroupAt(pa->group, d1965 + 1), b);
  EXPECT_GT(key::GroupAt(pa->group, d1965 + 1), a);
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
  EXPECT_TRUE(back->summary.empty());
  EXPECT_FALSE(DecodeIndexValue("too short").has_value());
  const std::string with_summary = EncodeIndexValue({kOpen, v.bounds, 0, "summary bytes"});
  auto again = DecodeIndexValue(with_summary);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->summary, "summary bytes");
  EXPECT_EQ(again->rev_removed, kOpen);
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
