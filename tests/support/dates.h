// D(2011), D(2011, 5), D(2011, 5, 13): partial dates for tests, of either schema.
#pragma once

namespace annals::testing {

template <typename Date>
Date MakeDate(int year, int month = 0, int day = 0) {
  Date out;
  out.set_year(year);
  out.set_month(month);
  out.set_day(day);
  return out;
}

}  // namespace annals::testing
