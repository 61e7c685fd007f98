#include "atb/core/time.hpp"

#include <charconv>
#include <chrono>
#include <cstdio>

namespace atb {

// Howard Hinnant, "chrono-Compatible Low-Level Date Algorithms".
std::int64_t days_from_civil(civil_date d) noexcept {
  std::int64_t y = d.year;
  unsigned const m = d.month;
  y -= m <= 2;
  std::int64_t const era = (y >= 0 ? y : y - 399) / 400;
  auto const yoe = static_cast<unsigned>(y - era * 400);
  unsigned const doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d.day - 1;
  unsigned const doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

civil_date civil_from_days(std::int64_t z) noexcept {
  z += 719468;
  std::int64_t const era = (z >= 0 ? z : z - 146096) / 146097;
  auto const doe = static_cast<unsigned>(z - era * 146097);
  unsigned const yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t const y = static_cast<std::int64_t>(yoe) + era * 400;
  unsigned const doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned const mp = (5 * doy + 2) / 153;
  unsigned const d = doy - (153 * mp + 2) / 5 + 1;
  unsigned const m = mp < 10 ? mp + 3 : mp - 9;
  return civil_date{static_cast<int>(y + (m <= 2)), m, d};
}

static std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

timestamp_ms to_timestamp(civil_date d) noexcept { return timestamp_ms{days_from_civil(d) * ms_per_day}; }
civil_date to_civil(timestamp_ms t) noexcept { return civil_from_days(floor_div(t.ms, ms_per_day)); }
int year_of(timestamp_ms t) noexcept { return to_civil(t).year; }
timestamp_ms year_start(int year) noexcept { return to_timestamp(civil_date{year, 1, 1}); }

static bool is_leap(int y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
static unsigned days_in_month(int y, unsigned m) noexcept {
  static constexpr unsigned d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29u : d[m - 1];
}

namespace {
bool read_digits(std::string_view s, std::size_t pos, std::size_t n, unsigned& v) {
  if (pos + n > s.size()) return false;
  v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  return true;
}
std::string shown(std::string_view s) { return std::string(s.substr(0, 40)); }
}  // namespace

result<civil_date> parse_date(std::string_view text) {
  unsigned y = 0, m = 0, d = 0;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' || !read_digits(text, 0, 4, y) ||
      !read_digits(text, 5, 2, m) || !read_digits(text, 8, 2, d) || m < 1 || m > 12 || d < 1 ||
      d > days_in_month(static_cast<int>(y), m) || y < 1970) {
    return error{core_errc::invalid_date,
                 "invalid date '" + shown(text) + "': expected a calendar date YYYY-MM-DD such as 2023-01-31"};
  }
  return civil_date{static_cast<int>(y), m, d};
}

result<timestamp_ms> parse_instant(std::string_view text) {
  auto bad = [&] {
    return error{core_errc::invalid_timestamp,
                 "invalid time '" + shown(text) +
                     "': expected YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS[.mmm]][Z] (UTC) or milliseconds since 1970"};
  };
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || p != text.data() + text.size()) return bad();
    return timestamp_ms{v};
  }
  if (text.size() < 10) return bad();
  auto date = parse_date(text.substr(0, 10));
  if (!date) return bad();
  std::int64_t ms = to_timestamp(*date).ms;
  std::string_view rest = text.substr(10);
  if (rest.empty()) return timestamp_ms{ms};
  if (rest.back() == 'Z') rest.remove_suffix(1);
  unsigned hh = 0, mi = 0, ss = 0, frac = 0;
  if (rest.size() < 6 || (rest[0] != 'T' && rest[0] != ' ') || !read_digits(rest, 1, 2, hh) || rest[3] != ':' ||
      !read_digits(rest, 4, 2, mi) || hh > 23 || mi > 59)
    return bad();
  rest = rest.substr(6);
  if (!rest.empty()) {
    if (rest.size() < 3 || rest[0] != ':' || !read_digits(rest, 1, 2, ss) || ss > 59) return bad();
    rest = rest.substr(3);
    if (!rest.empty()) {
      if (rest.size() != 4 || rest[0] != '.' || !read_digits(rest, 1, 3, frac)) return bad();
    }
  }
  return timestamp_ms{ms + hh * ms_per_hour + mi * ms_per_minute + ss * ms_per_second + frac};
}

std::string format_utc(timestamp_ms t) {
  civil_date d = to_civil(t);
  std::int64_t in_day = t.ms - floor_div(t.ms, ms_per_day) * ms_per_day;
  char buf[64];
  int h = static_cast<int>(in_day / ms_per_hour), mi = static_cast<int>(in_day / ms_per_minute % 60),
      s = static_cast<int>(in_day / 1000 % 60), ms = static_cast<int>(in_day % 1000);
  if (ms)
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02d:%02d:%02d.%03d", d.year, d.month, d.day, h, mi, s, ms);
  else
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02d:%02d:%02d", d.year, d.month, d.day, h, mi, s);
  return buf;
}

std::string format_date(timestamp_ms t) {
  civil_date d = to_civil(t);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", d.year, d.month, d.day);
  return buf;
}

std::string format_iso(timestamp_ms t) {
  civil_date d = to_civil(t);
  std::int64_t in_day = t.ms - floor_div(t.ms, ms_per_day) * ms_per_day;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", d.year, d.month, d.day,
                static_cast<int>(in_day / ms_per_hour), static_cast<int>(in_day / ms_per_minute % 60),
                static_cast<int>(in_day / 1000 % 60), static_cast<int>(in_day % 1000));
  return buf;
}

timestamp_ms system_now() noexcept {
  using namespace std::chrono;
  return timestamp_ms{duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count()};
}

}  // namespace atb
