#pragma once
// Loading the bars of a backtest from the atb cache (through atb::store::cache).
#include "atb/engine/bars.hpp"
#include "atb/engine/errors.hpp"

#include <filesystem>
#include <optional>

namespace atb::engine {

/// Which bars: open time in [start, end) (either side may be open), or the last `days`
/// days up to the newest cached candle of the symbol and interval.
struct range_spec {
  std::optional<timestamp_ms> start;
  std::optional<timestamp_ms> end;
  std::optional<std::int64_t> days;
};

/// Loads only `fields` (at least times, open, close) and converts them once to doubles.
/// Errors: engine_errc::invalid_range (start >= end, days <= 0), engine_errc::no_data (no
/// candle in range: the message names the preload/import command to run), store errors
/// (unreadable or corrupt year files) as the store reports them.
/// `now` is used only to suggest --years-back in the no-data message.
result<bar_series> load_bars(std::filesystem::path const& cache_dir, atb::symbol const& s, atb::interval iv,
                             range_spec const& r, timestamp_ms now, field_mask fields = backtest_fields());

}  // namespace atb::engine
