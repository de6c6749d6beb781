// Valid-time arithmetic: partial dates as spans of days, and the window rule.
//
// A day is an int64 count of days since 1970-01-01 in the proleptic Gregorian calendar.
// A partial date covers every day its precision names (2011 -> 2011-01-01..2011-12-31).
// A relation's TimeRange becomes four bounds (docs/time.md):
//
//   s_lo .. s_hi   the earliest and latest day the relation may have started
//   e_lo .. e_hi   the earliest and latest day it may have ended
//
// with kMinusInfinity / kPlusInfinity standing for unbounded sides. It held from some day s
// to some day e with s_lo <= s <= s_hi, e_lo <= e <= e_hi and s <= e.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/record.pb.h"

namespace annals::storage {

inline constexpr int64_t kMinusInfinity = INT64_MIN;
inline constexpr int64_t kPlusInfinity = INT64_MAX;
// Years beyond this magnitude are rejected; it keeps every day number far from overflow.
inline constexpr int32_t kMaxAbsYear = 999'999;

// Days since 1970-01-01 of a complete civil date; `year` as the API writes it (-1 = 1 BCE).
int64_t DayNumber(int32_t year, int32_t month, int32_t day);

// The civil date (API year, BCE negative) of a day number: the inverse of DayNumber.
struct CivilDay {
  int32_t year, month, day;
};
CivilDay CivilOf(int64_t day);

// Days in `month` of `year` (API year, BCE negative).
int DaysInMonth(int32_t year, int32_t month);

// Checks a partial date. Its error (storage/field_error.h) is about the date as a whole
// (field ""), the description naming the bad part ("month 13 out of range 1..12").
absl::Status ValidateDate(const Date& date);

bool IsSet(const Date& date);

// The first and last day a (valid, set) partial date covers.
int64_t FirstDay(const Date& date);
int64_t LastDay(const Date& date);

struct TimeBounds {
  int64_t s_lo = kMinusInfinity;
  int64_t s_hi = kMinusInfinity;
  int64_t e_lo = kPlusInfinity;
  int64_t e_hi = kPlusInfinity;
};

// The bounds of a time range; an error carrying its field ("start", "end_latest", ... of
// the range: storage/field_error.h) for an invalid date, a *_latest before its endpoint,
// or a range that must end before it starts.
absl::StatusOr<TimeBounds> BoundsOf(const TimeRange& range);

enum class Certainty { kPossibly, kCertainly };

// A window of days [w_lo, w_hi], either side possibly infinite.
struct DayWindow {
  int64_t w_lo = kMinusInfinity;
  int64_t w_hi = kPlusInfinity;
  Certainty mode = Certainty::kPossibly;
};

// Does a relation with these bounds hold on some day of the window?
//   possibly:  s_lo <= w_hi and e_hi >= w_lo
//   certainly: min(s_hi, e_hi) <= w_hi and max(s_lo, e_lo) >= w_lo
bool Matches(const TimeBounds& b, const DayWindow& w);

}  // namespace annals::storage
