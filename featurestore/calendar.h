// UTC calendar arithmetic on day numbers (days since 1970-01-01), after Howard
// Hinnant's public-domain civil-date algorithms. Used for "month 0/1/2" windows.
//
//   recur::CivilDate d = recur::CivilFromDays(recur::DayOf(t_ms));
//   int32_t first_of_month = recur::DaysFromCivil({d.year, d.month, 1});
#ifndef RECUR_FEATURESTORE_CALENDAR_H_
#define RECUR_FEATURESTORE_CALENDAR_H_

#include <cstdint>

namespace recur {

struct CivilDate {
  int32_t year;
  int32_t month;  // 1..12
  int32_t day;    // 1..31
};

constexpr int32_t DaysFromCivil(CivilDate c) {
  int32_t y = c.year - (c.month <= 2 ? 1 : 0);
  const int32_t era = (y >= 0 ? y : y - 399) / 400;
  const int32_t yoe = y - era * 400;
  const int32_t mp = (c.month + 9) % 12;
  const int32_t doy = (153 * mp + 2) / 5 + c.day - 1;
  const int32_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

constexpr CivilDate CivilFromDays(int32_t z) {
  z += 719468;
  const int32_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int32_t doe = z - era * 146097;
  const int32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int32_t y = yoe + era * 400;
  const int32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int32_t mp = (5 * doy + 2) / 153;
  const int32_t d = doy - (153 * mp + 2) / 5 + 1;
  const int32_t m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2 ? 1 : 0), m, d};
}

// The first day of the month `months_back` months before the month holding `day`.
constexpr int32_t MonthStart(int32_t day, int32_t months_back) {
  CivilDate c = CivilFromDays(day);
  int32_t index = c.year * 12 + (c.month - 1) - months_back;
  int32_t y = index >= 0 ? index / 12 : (index - 11) / 12;
  return DaysFromCivil({y, index - y * 12 + 1, 1});
}

static_assert(DaysFromCivil({1970, 1, 1}) == 0);
static_assert(DaysFromCivil({2000, 3, 1}) == 11017);
static_assert(MonthStart(DaysFromCivil({2024, 3, 31}), 1) == DaysFromCivil({2024, 2, 1}));
static_assert(MonthStart(DaysFromCivil({2024, 1, 15}), 2) == DaysFromCivil({2023, 11, 1}));

}  // namespace recur

#endif  // RECUR_FEATURESTORE_CALENDAR_H_
