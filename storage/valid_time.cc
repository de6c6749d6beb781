#include "storage/valid_time.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "storage/field_error.h"

namespace annals::storage {
namespace {

// API years skip 0 (1 BCE is -1); astronomical years count it (1 BCE is 0).
int64_t Astronomical(int32_t year) { return year < 0 ? int64_t{year} + 1 : year; }

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

// Howard Hinnant's days_from_civil, valid for the whole proleptic Gregorian calendar.
int64_t DayNumber(int32_t year, int32_t month, int32_t day) {
  int64_t y = Astronomical(year) - (month <= 2 ? 1 : 0);
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t mp = (month + 9) % 12;
  const int64_t doy = (153 * mp + 2) / 5 + day - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// Howard Hinnant's civil_from_days.
CivilDay CivilOf(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int32_t d = static_cast<int32_t>(doy - (153 * mp + 2) / 5 + 1);
  const int32_t m = static_cast<int32_t>(mp < 10 ? mp + 3 : mp - 9);
  const int64_t astronomical = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const int32_t year = static_cast<int32_t>(astronomical <= 0 ? astronomical - 1 : astronomical);
  return {year, m, d};
}

int DaysInMonth(int32_t year, int32_t month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && IsLeap(Astronomical(year))) return 29;
  return kDays[month - 1];
}

bool IsSet(const Date& date) { return date.year() != 0 || date.month() != 0 || date.day() != 0; }

absl::Status ValidateDate(const Date& date) {
  // Errors concern the date as a whole (field ""): a month is only wrong given its year.
  auto bad = [](std::string description) {
    return FieldFailure(absl::StatusCode::kInvalidArgument, "", std::move(description));
  };
  if (date.year() == 0) return bad("year 0 does not exist (-1 is 1 BCE)");
  if (date.year() > kMaxAbsYear || date.year() < -kMaxAbsYear)
    return bad(absl::StrCat("year ", date.year(), " out of range"));
  if (date.month() < 0 || date.month() > 12)
    return bad(absl::StrCat("month ", date.month(), " out of range 1..12"));
  if (date.month() == 0 && date.day() != 0)
    return bad("day given without a month");
  if (date.day() < 0 || (date.month() != 0 && date.day() > DaysInMonth(date.year(), date.month())))
    return bad(absl::StrCat("day ", date.day(), " out of range for ", date.year(), "-", date.month()));
  return absl::OkStatus();
}

int64_t FirstDay(const Date& date) {
  return DayNumber(date.year(), date.month() == 0 ? 1 : date.month(),
                   date.day() == 0 ? 1 : date.day());
}

int64_t LastDay(const Date& date) {
  const int32_t month = date.month() == 0 ? 12 : date.month();
  const int32_t day = date.day() == 0 ? DaysInMonth(date.year(), month) : date.day();
  return DayNumber(date.year(), month, day);
}

namespace {

// One endpoint: [lo, hi] from `date` widened by `latest`; `unknown` spans everything.
absl::Status EndpointBounds(const Date& date, const Date& latest, bool unknown,
                            const char* name, int64_t unset_value, int64_t* lo, int64_t* hi) {
  const std::string latest_name = absl::StrCat(name, "_latest");
  if (unknown) {
    if (IsSet(date) || IsSet(latest))
      return FieldFailure(absl::StatusCode::kInvalidArgument, absl::StrCat(name, "_unknown"),
                          absl::StrCat("an unknown ", name, " cannot also have a date"));
    *lo = kMinusInfinity;
    *hi = kPlusInfinity;
    return absl::OkStatus();
  }
  if (!IsSet(date)) {
    if (IsSet(latest)) {
      // "No later than": an endpoint known only to fall by the end of `latest`.
      if (auto s = ValidateDate(latest); !s.ok()) return UnderField(latest_name, s);
      *lo = kMinusInfinity;
      *hi = LastDay(latest);
      return absl::OkStatus();
    }
    *lo = *hi = unset_value;
    return absl::OkStatus();
  }
  if (auto s = ValidateDate(date); !s.ok()) return UnderField(name, s);
  *lo = FirstDay(date);
  *hi = LastDay(date);
  if (IsSet(latest)) {
    if (auto s = ValidateDate(latest); !s.ok()) return UnderField(latest_name, s);
    if (LastDay(latest) < *lo)
      return FieldFailure(absl::StatusCode::kInvalidArgument, latest_name, absl::StrCat("ends before ", name));
    *hi = std::max(*hi, LastDay(latest));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TimeBounds> BoundsOf(const TimeRange& range) {
  TimeBounds b;
  if (auto s = EndpointBounds(range.start(), range.start_latest(), range.start_unknown(), "start",
                              kMinusInfinity, &b.s_lo, &b.s_hi);
      !s.ok())
    return s;
  if (auto s = EndpointBounds(range.end(), range.end_latest(), range.end_unknown(), "end",
                              kPlusInfinity, &b.e_lo, &b.e_hi);
      !s.ok())
    return s;
  if (b.s_lo > b.e_hi)
    return FieldFailure(absl::StatusCode::kInvalidArgument, "end", "the range ends before it can have started");
  return b;
}

bool Matches(const TimeBounds& b, const DayWindow& w) {
  if (w.mode == Certainty::kPossibly) return b.s_lo <= w.w_hi && b.e_hi >= w.w_lo;
  return std::min(b.s_hi, b.e_hi) <= w.w_hi && std::max(b.s_lo, b.e_lo) >= w.w_lo;
}

}  // namespace annals::storage
