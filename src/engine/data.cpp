#include "atb/engine/data.hpp"

#include "atb/store/cache.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <limits>

namespace atb::engine {
namespace {

atb::error no_data(std::filesystem::path const& dir, atb::symbol const& s, atb::interval iv, std::string const& what,
                   timestamp_ms from, timestamp_ms now) {
  int years = 1;
  if (from.ms > 0 && from < now) years = std::max(1, year_of(now) - year_of(from) + 1);
  else if (from.ms <= 0) years = 10;
  return atb::error(engine_errc::no_data,
                    fmt::format("no cached {} {} candles {} in {}; fill the cache with `atb data preload-offline "
                                "--symbols {} --timeframes {} --years-back {} --cache-dir {}` (or `atb data import` "
                                "for Binance CSV files).",
                                s.view(), to_string(iv), what, dir.string(), s.view(), to_string(iv), years, dir.string()));
}

}  // namespace

result<bar_series> load_bars(std::filesystem::path const& dir, atb::symbol const& s, atb::interval iv,
                             range_spec const& r, timestamp_ms now, field_mask fields) {
  store::cache cache(dir);
  // Open sides are bounded by the epoch and the end of the current year: the store
  // walks the years of the range.
  timestamp_ms from{0}, to = year_end(year_of(now));
  std::string what;
  if (r.days) {
    if (*r.days <= 0)
      return atb::error(engine_errc::invalid_range, fmt::format("--days must be a positive number of days, not {}.", *r.days));
    auto list = cache.list();
    if (!list) return list.error();
    std::optional<timestamp_ms> newest;
    for (auto const& e : *list) {
      if (e.header.key.symbol == s && e.header.key.interval == iv && e.header.rows > 0)
        if (!newest || e.header.last_open > *newest) newest = e.header.last_open;
    }
    if (!newest) return no_data(dir, s, iv, "at all", timestamp_ms{now.ms - *r.days * ms_per_day}, now);
    to = next_open(iv, *newest);
    from = timestamp_ms{to.ms - *r.days * ms_per_day};
    what = fmt::format("in the last {} days", *r.days);
  } else {
    if (r.start) from = *r.start;
    if (r.end) to = *r.end;
    if (r.start && r.end && !(*r.start < *r.end))
      return atb::error(engine_errc::invalid_range,
                        fmt::format("--start {} must be before --end {}.", format_utc(*r.start), format_utc(*r.end)));
    what = fmt::format("with open time in [{}, {})", r.start ? format_utc(*r.start) : std::string("the beginning"),
                       r.end ? format_utc(*r.end) : std::string("the end"));
  }
  auto cols = cache.load(s, iv, from, to, fields | sma_fields());
  if (!cols) return cols.error();
  if (cols->empty()) return no_data(dir, s, iv, what, r.start ? from : timestamp_ms{0}, now);
  return to_bar_series(*cols, iv);
}

}  // namespace atb::engine
