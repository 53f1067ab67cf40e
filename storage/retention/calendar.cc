// storage/retention/calendar.cc — see calendar.h.
#include "storage/retention/calendar.h"

namespace conntrail::storage {
namespace {

bool is_leap(int y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(int y, unsigned m) noexcept {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

}  // namespace

TimestampNs subtract_months(TimestampNs t, int months) noexcept {
  const CivilDate d = civil_date(t);
  const TimestampNs midnight = timestamp_of(d.year, d.month, d.day);
  const TimestampNs time_of_day = t - midnight;
  long total = static_cast<long>(d.year) * 12 + static_cast<long>(d.month - 1) - months;
  const int y = static_cast<int>(total / 12 - (total % 12 < 0 ? 1 : 0));
  const unsigned m = static_cast<unsigned>(((total % 12) + 12) % 12) + 1;
  const unsigned day = d.day > days_in_month(y, m) ? days_in_month(y, m) : d.day;
  return timestamp_of(y, m, day) + time_of_day;
}

}  // namespace conntrail::storage
