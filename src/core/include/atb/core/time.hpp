#pragma once
// UTC time as milliseconds since the Unix epoch, the unit of Binance's REST API.
#include "atb/core/error.hpp"

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

namespace atb {

/// A UTC instant in milliseconds since 1970-01-01T00:00:00Z. A distinct type so that
/// a millisecond timestamp is never confused with seconds, microseconds or a count.
struct timestamp_ms {
  std::int64_t ms = 0;
  constexpr timestamp_ms() = default;
  constexpr explicit timestamp_ms(std::int64_t v) : ms(v) {}
  friend constexpr auto operator<=>(timestamp_ms, timestamp_ms) = default;
};

inline constexpr std::int64_t ms_per_second = 1000;
inline constexpr std::int64_t ms_per_minute = 60 * ms_per_second;
inline constexpr std::int64_t ms_per_hour = 60 * ms_per_minute;
inline constexpr std::int64_t ms_per_day = 24 * ms_per_hour;

/// A proleptic Gregorian civil date (UTC).
struct civil_date {
  int year = 1970;
  unsigned month = 1;  ///< 1..12
  unsigned day = 1;    ///< 1..31
  friend constexpr auto operator<=>(civil_date const&, civil_date const&) = default;
};

/// Days since 1970-01-01 for a civil date (Howard Hinnant's algorithm, exact for all years).
std::int64_t days_from_civil(civil_date d) noexcept;
civil_date civil_from_days(std::int64_t days) noexcept;

timestamp_ms to_timestamp(civil_date d) noexcept;
civil_date to_civil(timestamp_ms t) noexcept;

/// UTC calendar year containing t.
int year_of(timestamp_ms t) noexcept;
/// 00:00:00.000 UTC on January 1st of year.
timestamp_ms year_start(int year) noexcept;
/// First millisecond of the next year: [year_start(y), year_end(y)) is the year.
inline timestamp_ms year_end(int year) noexcept { return year_start(year + 1); }

/// Parses YYYY-MM-DD (a valid calendar date). Error: core_errc::invalid_date.
result<civil_date> parse_date(std::string_view text);
/// Parses an instant: YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS[.mmm]][Z] (UTC), or integer ms.
result<timestamp_ms> parse_instant(std::string_view text);

/// "2023-03-24 13:00:00" (UTC), or with milliseconds when they are not zero.
std::string format_utc(timestamp_ms t);
/// "2023-03-24".
std::string format_date(timestamp_ms t);
/// ISO-8601 "2023-03-24T13:00:00.000Z".
std::string format_iso(timestamp_ms t);

/// The wall clock, for production code. Logic takes `now` as a parameter instead.
timestamp_ms system_now() noexcept;

}  // namespace atb
