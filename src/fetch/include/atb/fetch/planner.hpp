#pragma once
// What is left to download for one (symbol, interval): one decision per calendar year.
// Pure logic: the cache state (year headers) and the server's "now" are inputs.
#include "atb/core/interval.hpp"
#include "atb/core/time.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

namespace atb::fetch {

/// What a year file's header says (absent years have no entry).
struct year_state {
  bool complete = false;
  std::uint32_t rows = 0;
  timestamp_ms first_open{};
  timestamp_ms last_open{};
  timestamp_ms written_at{};
};

struct plan_input {
  atb::interval interval = atb::interval::h1;
  int first_year = 0;  ///< inclusive
  int last_year = 0;   ///< inclusive
  /// Open time of the symbol's first candle; std::nullopt = the symbol has no candles.
  std::optional<timestamp_ms> first_candle;
  timestamp_ms now{};  ///< server time; candles closing at or after it are in progress
  /// The current year is refreshed only when its file is older than this (or not caught up).
  std::int64_t current_year_ttl_ms = 0;
  bool force_refresh = false;
};

enum class year_action {
  fetch,
  skip_before_listing,  ///< the year ends before the first candle: no request
  skip_future,          ///< the year starts after now
  skip_complete,        ///< a past year whose file is marked complete
  skip_fresh,           ///< the current year, written within its TTL and caught up then
};
std::string_view to_string(year_action a) noexcept;

struct year_plan {
  int year = 0;
  year_action action = year_action::fetch;
  /// Fetch window [from, to): `to` is min(year end, now). Only for action == fetch.
  timestamp_ms from{};
  timestamp_ms to{};
  bool past = false;          ///< the year is over: when fetched to its end it is complete
  bool keep_existing = false; ///< the stored rows are kept and the fetched rows added to them
  /// Fetched rows may overlap stored ones (the stored file does not start at the year's
  /// first candle): the two are united on open time instead of appended.
  bool overlaps_existing = false;
};

/// One entry per year in [first_year, last_year], ascending.
std::vector<year_plan> plan_years(plan_input const& in, std::map<int, year_state> const& cache);

/// True when a file written at `written_at` whose last candle opened at `last_open` held
/// every candle closed by then (the one after it was still in progress).
bool caught_up(atb::interval iv, timestamp_ms last_open, timestamp_ms written_at) noexcept;

/// Estimated number of candles in [from, to) (for progress and memory budgets).
std::int64_t estimate_candles(atb::interval iv, timestamp_ms from, timestamp_ms to) noexcept;

/// Splits [from, to) into consecutive segments of about `pages_per_segment` pages of
/// `page_size` candles, fetched concurrently. Variable-length intervals (1M) and short
/// ranges give one segment. Segment bounds are multiples of the interval from `from`.
std::vector<std::pair<timestamp_ms, timestamp_ms>> split_segments(atb::interval iv, timestamp_ms from, timestamp_ms to,
                                                                  std::int64_t page_size, std::int64_t pages_per_segment);

/// [first_year, last_year] for --years-back N: the years covering at least N years before
/// `now` (N = 10 in November 2026 gives 2016..2026). N >= 1.
std::pair<int, int> years_back_range(timestamp_ms now, int years_back) noexcept;

}  // namespace atb::fetch
