#include "atb/core/interval.hpp"

namespace atb {

namespace {
struct interval_info {
  std::string_view name;
  std::int64_t ms;
};
constexpr interval_info infos[] = {
    {"1s", ms_per_second},      {"1m", ms_per_minute},      {"3m", 3 * ms_per_minute},
    {"5m", 5 * ms_per_minute},  {"15m", 15 * ms_per_minute}, {"30m", 30 * ms_per_minute},
    {"1h", ms_per_hour},        {"2h", 2 * ms_per_hour},    {"4h", 4 * ms_per_hour},
    {"6h", 6 * ms_per_hour},    {"8h", 8 * ms_per_hour},    {"12h", 12 * ms_per_hour},
    {"1d", ms_per_day},         {"3d", 3 * ms_per_day},     {"1w", 7 * ms_per_day},
    {"1M", 2629746000},  // mean Gregorian month, for estimates only
};
constexpr std::int64_t monday_offset = 4 * ms_per_day;  // 1970-01-05 was a Monday

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}
}  // namespace

std::string_view to_string(interval iv) noexcept { return infos[static_cast<std::size_t>(iv)].name; }
std::int64_t nominal_ms(interval iv) noexcept { return infos[static_cast<std::size_t>(iv)].ms; }

result<interval> parse_interval(std::string_view text, bool allow_archive_spelling) {
  for (interval iv : all_intervals)
    if (to_string(iv) == text) return iv;
  if (allow_archive_spelling && text == "1mo") return interval::mo1;
  return error{core_errc::invalid_interval,
               "invalid interval '" + std::string(text.substr(0, 20)) +
                   "': use one of 1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M (case-sensitive)"};
}

timestamp_ms grid_floor(interval iv, timestamp_ms t) noexcept {
  switch (iv) {
    case interval::mo1: {
      civil_date d = to_civil(t);
      return to_timestamp(civil_date{d.year, d.month, 1});
    }
    case interval::w1: {
      std::int64_t const w = nominal_ms(iv);
      return timestamp_ms{floor_div(t.ms - monday_offset, w) * w + monday_offset};
    }
    default: {
      std::int64_t const len = nominal_ms(iv);
      return timestamp_ms{floor_div(t.ms, len) * len};
    }
  }
}

timestamp_ms next_open(interval iv, timestamp_ms open) noexcept {
  if (iv != interval::mo1) return timestamp_ms{open.ms + nominal_ms(iv)};
  civil_date d = to_civil(open);
  civil_date n = d.month == 12 ? civil_date{d.year + 1, 1, 1} : civil_date{d.year, d.month + 1, 1};
  // keep the time of day / day offset of an off-grid open (never seen on Binance, but exact)
  return timestamp_ms{to_timestamp(n).ms + (open.ms - to_timestamp(civil_date{d.year, d.month, 1}).ms)};
}

}  // namespace atb
