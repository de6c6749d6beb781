// Partial dates and the window rule: known day numbers, the worked cases of docs/time.md,
// and a brute-force check of the closed-form rule over every (start, end) pair.
#include "storage/valid_time.h"

#include <gtest/gtest.h>

#include "storage/field_error.h"
#include "tests/support/dates.h"

#include <random>

namespace annals::storage {
namespace {

Date D(int y, int m = 0, int d = 0) { return annals::testing::MakeDate<Date>(y, m, d); }

TEST(Calendar, KnownDayNumbers) {
  EXPECT_EQ(DayNumber(1970, 1, 1), 0);
  EXPECT_EQ(DayNumber(1970, 1, 2), 1);
  EXPECT_EQ(DayNumber(1969, 12, 31), -1);
  EXPECT_EQ(DayNumber(2000, 3, 1), 11017);  // 30 years (7 leap) + Jan and Feb 2000: 10957 + 60
  EXPECT_EQ(DayNumber(2011, 5, 13), 15107);
  // 1 CE follows 1 BCE directly: there is no year 0.
  EXPECT_EQ(DayNumber(1, 1, 1) - DayNumber(-1, 12, 31), 1);
  // 1 BCE is a leap year in the proleptic Gregorian calendar (astronomical year 0).
  EXPECT_EQ(DaysInMonth(-1, 2), 29);
  EXPECT_EQ(DaysInMonth(1900, 2), 28);
  EXPECT_EQ(DaysInMonth(2000, 2), 29);
  EXPECT_EQ(DaysInMonth(2012, 2), 29);
}

TEST(Calendar, CivilOfInvertsDayNumberAcrossEras) {
  for (int64_t day = DayNumber(-600, 1, 1); day <= DayNumber(2100, 12, 31); day += 13) {
    const CivilDay c = CivilOf(day);
    ASSERT_NE(c.year, 0) << day;
    ASSERT_EQ(DayNumber(c.year, c.month, c.day), day) << c.year << "-" << c.month << "-" << c.day;
  }
  const CivilDay bce = CivilOf(DayNumber(-1, 12, 31));
  EXPECT_EQ(bce.year, -1);
  EXPECT_EQ(bce.month, 12);
  EXPECT_EQ(CivilOf(0).year, 1970);
}

TEST(Calendar, ValidationNamesTheBadPart) {
  EXPECT_TRUE(ValidateDate(D(2011, 2, 28)).ok());
  EXPECT_TRUE(ValidateDate(D(-44, 3, 15)).ok());
  EXPECT_EQ(ValidateDate(D(2011, 2, 30)).message(), "day 30 out of range for 2011-2");
  EXPECT_EQ(ValidateDate(D(2011, 13)).message(), "month 13 out of range 1..12");
  EXPECT_EQ(ValidateDate(D(2011, 0, 5)).message(), "day given without a month");
  EXPECT_EQ(ValidateDate(D(0)).message(), "year 0 does not exist (-1 is 1 BCE)");
  EXPECT_FALSE(ValidateDate(D(2011, -1)).ok());
}

TEST(Calendar, APartialDateCoversItsWholeSpan) {
  EXPECT_EQ(FirstDay(D(2011)), DayNumber(2011, 1, 1));
  EXPECT_EQ(LastDay(D(2011)), DayNumber(2011, 12, 31));
  EXPECT_EQ(FirstDay(D(2012, 2)), DayNumber(2012, 2, 1));
  EXPECT_EQ(LastDay(D(2012, 2)), DayNumber(2012, 2, 29));
  EXPECT_EQ(LastDay(D(2011, 5, 13)), DayNumber(2011, 5, 13));
}

TimeRange Range(std::optional<Date> start, std::optional<Date> end) {
  TimeRange r;
  if (start) *r.mutable_start() = *start;
  if (end) *r.mutable_end() = *end;
  return r;
}

DayWindow Window(Date from, Date to, Certainty mode) { return {FirstDay(from), LastDay(to), mode}; }

bool Possibly(const TimeRange& r, Date from, Date to) {
  return Matches(*BoundsOf(r), Window(from, to, Certainty::kPossibly));
}
bool Certainly(const TimeRange& r, Date from, Date to) {
  return Matches(*BoundsOf(r), Window(from, to, Certainty::kCertainly));
}

// The worked cases of the foundation issue and docs/time.md.
TEST(WindowRule, AVisitInMay2011) {
  const TimeRange may = Range(D(2011, 5), D(2011, 5));
  EXPECT_TRUE(Certainly(may, D(2011), D(2011)));
  EXPECT_TRUE(Possibly(may, D(2011, 5, 10), D(2011, 5, 20)));
  EXPECT_FALSE(Certainly(may, D(2011, 5, 10), D(2011, 5, 20)));
  EXPECT_FALSE(Possibly(may, D(2011, 6), D(2011, 6)));
}

TEST(WindowRule, SupportSince2011WithNoEnd) {
  const TimeRange since = Range(D(2011), std::nullopt);
  EXPECT_TRUE(Certainly(since, D(2012, 6, 1), D(2012, 6, 1)));
  EXPECT_TRUE(Possibly(since, D(2011, 6, 1), D(2011, 6, 1)));
  EXPECT_FALSE(Certainly(since, D(2011, 6, 1), D(2011, 6, 1)));
  EXPECT_FALSE(Possibly(since, D(2010), D(2010)));
}

TEST(WindowRule, StartIn2011EndInMay2011CannotHaveStartedAfterItEnded) {
  const TimeRange r = Range(D(2011), D(2011, 5));
  EXPECT_TRUE(Certainly(r, D(2011, 1), D(2011, 5)));
}

TEST(WindowRule, AnUnknownEndIsNotAnOpenEnd) {
  TimeRange r = Range(D(1952), std::nullopt);
  r.set_end_unknown(true);
  // After its start's span it possibly, never certainly, holds.
  EXPECT_TRUE(Possibly(r, D(1960), D(1960)));
  EXPECT_FALSE(Certainly(r, D(1960), D(1960)));
  // A window covering the start's whole span holds it certainly.
  EXPECT_TRUE(Certainly(r, D(1952), D(1952)));
  EXPECT_TRUE(Certainly(r, D(1951), D(1953)));
  EXPECT_FALSE(Certainly(r, D(1952, 6), D(1953)));
  // While an open (unset) end still holds certainly later on.
  EXPECT_TRUE(Certainly(Range(D(1952), std::nullopt), D(1960), D(1960)));
}

TEST(WindowRule, AVagueStartWidensTheSpan) {
  TimeRange r = Range(D(2012, 10, 1), D(2012, 10, 31));
  *r.mutable_start_latest() = D(2012, 10, 7);  // "the first week of October 2012"
  auto b = BoundsOf(r);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->s_lo, DayNumber(2012, 10, 1));
  EXPECT_EQ(b->s_hi, DayNumber(2012, 10, 7));
  EXPECT_TRUE(Certainly(r, D(2012, 10, 7), D(2012, 10, 7)));
  EXPECT_FALSE(Certainly(r, D(2012, 10, 6), D(2012, 10, 6)));
}

TEST(WindowRule, ALatestWithoutItsEndpointMeansNoLaterThan) {
  TimeRange by_may;  // "already holding when the May 2011 article was written"
  *by_may.mutable_start_latest() = D(2011, 5);
  auto b = BoundsOf(by_may);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->s_lo, kMinusInfinity);
  EXPECT_EQ(b->s_hi, DayNumber(2011, 5, 31));
  EXPECT_EQ(b->e_hi, kPlusInfinity);
  EXPECT_TRUE(Certainly(by_may, D(2011, 5), D(2011, 5)));
  EXPECT_TRUE(Certainly(by_may, D(2013), D(2013)));
  EXPECT_TRUE(Possibly(by_may, D(1990), D(1990)));
  EXPECT_FALSE(Certainly(by_may, D(2011, 4), D(2011, 4)));
  // An event that happened at some time by May 2011.
  TimeRange event = by_may;
  *event.mutable_end_latest() = D(2011, 5);
  EXPECT_TRUE(Possibly(event, D(2009), D(2009)));
  EXPECT_FALSE(Possibly(event, D(2011, 6), D(2011, 6)));
  // It may also have happened before 1900: no lower bound, so never certainly in a window
  // that has one.
  EXPECT_FALSE(Certainly(event, D(1900), D(2011, 5)));
}

TEST(WindowRule, InvalidRangesAreRejectedWithTheEndpointNamed) {
  EXPECT_EQ(BoundsOf(Range(D(2012), D(2011))).status().message(),
            "end: the range ends before it can have started");
  EXPECT_TRUE(BoundsOf(Range(D(2011), D(2011))).ok());  // same year: fine
  TimeRange latest_first = Range(D(2012, 5), std::nullopt);
  *latest_first.mutable_start_latest() = D(2012, 1);
  EXPECT_EQ(BoundsOf(latest_first).status().message(), "start_latest: ends before start");
  EXPECT_EQ(BoundsOf(Range(D(2011, 2, 30), std::nullopt)).status().message(),
            "start: day 30 out of range for 2011-2");
  TimeRange both = Range(D(2011), std::nullopt);
  both.set_start_unknown(true);
  EXPECT_FALSE(BoundsOf(both).ok());
}

// Errors as values (storage/field_error.h): the endpoint travels as a field, not inside
// the text, so the service can place it under its own path without parsing.
TEST(WindowRule, TheBadEndpointIsAFieldOfTheError) {
  auto only = [](const absl::Status& s) {
    const auto errors = ItemErrorsOf(s);
    EXPECT_EQ(errors.size(), 1u) << s;
    return errors.empty() ? ItemError{} : errors.front();
  };
  ItemError e = only(BoundsOf(Range(D(2011, 2, 30), std::nullopt)).status());
  EXPECT_EQ(e.field, "start");
  EXPECT_EQ(e.description, "day 30 out of range for 2011-2");
  TimeRange latest_first = Range(D(2012, 5), std::nullopt);
  *latest_first.mutable_start_latest() = D(2012, 1);
  e = only(BoundsOf(latest_first).status());
  EXPECT_EQ(e.field, "start_latest");
  EXPECT_EQ(e.description, "ends before start");
  e = only(ValidateDate(D(2011, 13)));
  EXPECT_EQ(e.field, "") << "a date's error is about the date itself";
  // Placed under a request's path, and renamed, by the service's helpers.
  const absl::Status placed = UnderField("relations[3].valid", BoundsOf(Range(D(2012), D(2011))).status());
  EXPECT_EQ(placed.message(), "relations[3].valid.end: the range ends before it can have started");
  EXPECT_EQ(only(UnderField("window.start", ValidateDate(D(2011, 13)))).field, "window.start");
  EXPECT_EQ(only(RenameField(FieldFailure(absl::StatusCode::kNotFound, "starts[2]", "x"), "starts", "start_ids")).field,
            "start_ids[2]");
  EXPECT_EQ(only(RenameField(FieldFailure(absl::StatusCode::kNotFound, "startsx", "x"), "starts", "start_ids")).field,
            "startsx") << "only whole path segments are renamed";
  EXPECT_TRUE(ItemErrorsOf(absl::InternalError("disk")).empty());
  EXPECT_EQ(UnderField("x", absl::InternalError("disk")), absl::InternalError("disk"));
}

// Brute force: the closed form must agree with "for some / for all s <= e in the bounds,
// the relation overlaps the window", enumerated day by day on a small calendar.
TEST(WindowRule, ClosedFormAgreesWithEnumerationOfEveryStartAndEnd) {
  std::mt19937 rng(2011);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  int checked = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    TimeBounds b;
    b.s_lo = pick(0, 30);
    b.s_hi = b.s_lo + pick(0, 10);
    b.e_lo = pick(0, 40);
    b.e_hi = b.e_lo + pick(0, 10);
    if (b.s_lo > b.e_hi) continue;  // invalid input, rejected by BoundsOf
    DayWindow w;
    w.w_lo = pick(-5, 45);
    w.w_hi = w.w_lo + pick(0, 8);
    bool some = false, all = true;
    for (int64_t s = b.s_lo; s <= b.s_hi; ++s)
      for (int64_t e = b.e_lo; e <= b.e_hi; ++e) {
        if (s > e) continue;
        const bool overlaps = s <= w.w_hi && e >= w.w_lo;
        some = some || overlaps;
        all = all && overlaps;
      }
    w.mode = Certainty::kPossibly;
    ASSERT_EQ(Matches(b, w), some) << "trial " << trial;
    w.mode = Certainty::kCertainly;
    ASSERT_EQ(Matches(b, w), all) << "trial " << trial;
    ++checked;
  }
  EXPECT_GT(checked, 10000);
}

}  // namespace
}  // namespace annals::storage
