#pragma once
// The 16 kline intervals of Binance spot, with their real calendar semantics:
// 1s..1d and 3d have a fixed length; 1w candles open on Mondays 00:00 UTC; 1M candles
// follow calendar months. 3d candles are anchored to the symbol's history on Binance, so
// code that needs the successor of a candle uses next_open(), never a fixed stride.
#include "atb/core/error.hpp"
#include "atb/core/time.hpp"

#include <array>
#include <cstdint>
#include <string_view>

namespace atb {

enum class interval : std::uint8_t {
  s1, m1, m3, m5, m15, m30, h1, h2, h4, h6, h8, h12, d1, d3, w1, mo1,
};

inline constexpr std::array<interval, 16> all_intervals{
    interval::s1, interval::m1, interval::m3,  interval::m5,  interval::m15, interval::m30,
    interval::h1, interval::h2, interval::h4,  interval::h6,  interval::h8,  interval::h12,
    interval::d1, interval::d3, interval::w1, interval::mo1};

/// Binance's spelling: "1s" "1m" "3m" "5m" "15m" "30m" "1h" "2h" "4h" "6h" "8h" "12h" "1d" "3d" "1w" "1M".
std::string_view to_string(interval iv) noexcept;

/// Parses Binance's case-sensitive spelling. `allow_archive_spelling` also accepts "1mo"
/// (how data.binance.vision file names write 1M). Error: core_errc::invalid_interval.
result<interval> parse_interval(std::string_view text, bool allow_archive_spelling = false);

/// Length of a candle in ms; for 1M the mean Gregorian month (for estimates only).
std::int64_t nominal_ms(interval iv) noexcept;
/// True for every interval but 1M.
constexpr bool has_fixed_length(interval iv) noexcept { return iv != interval::mo1; }

/// Open time of the candle on the canonical grid that contains t: epoch-aligned for fixed
/// intervals (3d: days since epoch in steps of 3), Monday 00:00 for 1w, the 1st of the
/// month for 1M. Real 3d histories may be anchored differently (see next_open).
timestamp_ms grid_floor(interval iv, timestamp_ms t) noexcept;

/// Open time of the candle that follows a candle opened at `open` (open + length, or the
/// next calendar month for 1M). Correct for any anchor, including 3d.
timestamp_ms next_open(interval iv, timestamp_ms open) noexcept;

/// Regular close time of a candle opened at `open`: next_open - 1 ms.
inline timestamp_ms regular_close(interval iv, timestamp_ms open) noexcept {
  return timestamp_ms{next_open(iv, open).ms - 1};
}

}  // namespace atb
