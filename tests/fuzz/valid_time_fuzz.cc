// libFuzzer: the valid-time rule (storage/valid_time.h) on arbitrary dates and ranges.
// Nothing may crash or overflow (UBSan), and every accepted range satisfies the rule's
// invariants: s_lo <= s_hi, e_lo <= e_hi, s_lo <= e_hi; each bound is the first or last day
// of the date it came from; "certainly" implies "possibly" for any window.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>

#include "storage/valid_time.h"

namespace {

using namespace annals::storage;

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "valid_time_fuzz: invariant broken: %s\n", what);
    abort();
  }
}

// Mostly plausible dates, sometimes anything at all.
void FillDate(FuzzedDataProvider& in, Date* d) {
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: return;  // unset
    case 1:
      d->set_year(in.ConsumeIntegral<int32_t>());
      d->set_month(in.ConsumeIntegral<int32_t>());
      d->set_day(in.ConsumeIntegral<int32_t>());
      return;
    default:
      d->set_year(in.ConsumeIntegralInRange<int32_t>(-kMaxAbsYear - 2, kMaxAbsYear + 2));
      d->set_month(in.ConsumeIntegralInRange<int32_t>(-1, 13));
      d->set_day(in.ConsumeIntegralInRange<int32_t>(-1, 32));
  }
}

void CheckDate(const Date& d) {
  if (!ValidateDate(d).ok()) return;
  const int64_t first = FirstDay(d), last = LastDay(d);
  Check(first <= last, "a date's first day is not after its last");
  const CivilDay f = CivilOf(first), l = CivilOf(last);
  Check(f.year == d.year() && l.year == d.year(), "a date's days are in its year");
  if (d.month() != 0) Check(f.month == d.month() && l.month == d.month(), "a date's days are in its month");
  if (d.day() != 0) Check(first == last && f.day == d.day(), "a day-precise date is one day");
  Check(DayNumber(f.year, f.month, f.day) == first, "CivilOf inverts DayNumber");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  TimeRange range;
  FillDate(in, range.mutable_start());
  FillDate(in, range.mutable_start_latest());
  range.set_start_unknown(in.ConsumeIntegralInRange<int>(0, 7) == 0);
  FillDate(in, range.mutable_end());
  FillDate(in, range.mutable_end_latest());
  range.set_end_unknown(in.ConsumeIntegralInRange<int>(0, 7) == 0);
  for (const Date* d : {&range.start(), &range.start_latest(), &range.end(), &range.end_latest()}) CheckDate(*d);

  auto bounds = BoundsOf(range);
  if (!bounds.ok()) {
    Check(!bounds.status().message().empty(), "an error says what is wrong");
    return 0;
  }
  const TimeBounds& b = *bounds;
  Check(b.s_lo <= b.s_hi, "s_lo <= s_hi");
  Check(b.e_lo <= b.e_hi, "e_lo <= e_hi");
  Check(b.s_lo <= b.e_hi, "a range can have started before it ends");
  if (!range.start_unknown() && IsSet(range.start())) {
    Check(b.s_lo == FirstDay(range.start()), "s_lo is the start's first day");
    Check(b.s_hi >= LastDay(range.start()), "s_hi covers the start");
  }
  if (!range.end_unknown() && IsSet(range.end())) {
    Check(b.e_lo == FirstDay(range.end()), "e_lo is the end's first day");
    Check(b.e_hi >= LastDay(range.end()), "e_hi covers the end");
  }
  if (range.start_unknown()) Check(b.s_lo == kMinusInfinity && b.s_hi == kPlusInfinity, "unknown start spans all");
  if (!range.end_unknown() && !IsSet(range.end()) && !IsSet(range.end_latest()))
    Check(b.e_lo == kPlusInfinity && b.e_hi == kPlusInfinity, "no end: still holds");

  // Windows: certainly implies possibly; a window holding everything matches possibly.
  DayWindow w;
  w.w_lo = in.ConsumeIntegral<int64_t>();
  w.w_hi = in.ConsumeIntegral<int64_t>();
  if (w.w_lo > w.w_hi) std::swap(w.w_lo, w.w_hi);
  DayWindow certainly = w, possibly = w;
  certainly.mode = Certainty::kCertainly;
  possibly.mode = Certainty::kPossibly;
  if (Matches(b, certainly)) Check(Matches(b, possibly), "certainly implies possibly");
  Check(Matches(b, DayWindow{kMinusInfinity, kPlusInfinity, Certainty::kPossibly}),
        "every valid range possibly holds some time");
  return 0;
}
