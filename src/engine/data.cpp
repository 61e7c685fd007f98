#include "atb/engine/data.hpp"

#include "atb/store/cache.hpp"

#include <algorithm>
#include <cmath>
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

/// Reads the year files of [from, to) one by one and converts each straight into the
/// pre-sized double arrays (one pass, no intermediate concatenation of int64 columns).
/// Years stored at different price scales fall back to cache::load, which reconciles them.
result<bar_series> load_direct(store::cache const& cache, atb::symbol const& s, atb::interval iv, timestamp_ms from,
                               timestamp_ms to, field_mask fields) {
  int const y0 = std::max(1970, year_of(from));
  int const y1 = std::min(9999, year_of(timestamp_ms{to.ms - 1}));
  std::vector<store::year_file> files;
  std::size_t total = 0;
  for (int y = y0; y <= y1; ++y) {
    auto f = cache.open(store::year_key{s, iv, y});
    if (!f) return f.error();
    if (!*f) continue;
    auto const& h = (*f)->header();
    if (h.rows == 0 || h.last_open < from || h.first_open >= to) continue;
    total += h.rows;
    files.push_back(std::move(**f));
  }
  bar_series b;
  b.interval = iv;
  bool const hl = fields.has(field::high) && fields.has(field::low);
  for (auto* v : {&b.open, &b.close}) v->reserve(total);
  if (hl) for (auto* v : {&b.high, &b.low}) v->reserve(total);
  b.open_time.reserve(total);
  b.close_time.reserve(total);
  kline_columns part;
  std::optional<std::uint8_t> scale;
  for (auto const& f : files) {
    if (auto rr = f.read(fields, part); !rr) return rr.error();
    std::uint8_t const sc = part.scale[static_cast<std::size_t>(field::close)];
    for (field pf : {field::open, field::high, field::low})
      if (!part[pf].empty() && part.scale[static_cast<std::size_t>(pf)] != sc) scale = 255;
    if (scale && *scale != sc) {  // mixed scales: let the store reconcile them
      auto cols = cache.load(s, iv, from, to, fields);
      if (!cols) return cols.error();
      if (cols->empty()) return bar_series{};
      return to_bar_series(std::move(*cols), iv);
    }
    scale = sc;
    auto const& ot = part[field::open_time];
    auto const i0 = static_cast<std::size_t>(std::lower_bound(ot.begin(), ot.end(), from.ms) - ot.begin());
    auto const i1 = static_cast<std::size_t>(std::lower_bound(ot.begin(), ot.end(), to.ms) - ot.begin());
    auto conv = [&](field pf, aligned_vector<double>& out) {
      auto const& src = part[pf];
      for (std::size_t i = i0; i < i1; ++i) out.push_back(static_cast<double>(src[i]));
    };
    conv(field::open, b.open);
    conv(field::close, b.close);
    if (hl) {
      conv(field::high, b.high);
      conv(field::low, b.low);
    }
    b.open_time.insert(b.open_time.end(), ot.begin() + static_cast<std::ptrdiff_t>(i0), ot.begin() + static_cast<std::ptrdiff_t>(i1));
    auto const& ct = part[field::close_time];
    b.close_time.insert(b.close_time.end(), ct.begin() + static_cast<std::ptrdiff_t>(i0), ct.begin() + static_cast<std::ptrdiff_t>(i1));
  }
  b.price_scale = std::pow(10.0, -static_cast<double>(scale.value_or(8)));
  return b;
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
  auto bars = load_direct(cache, s, iv, from, to, fields | sma_fields());
  if (!bars) return bars.error();
  if (bars->empty()) return no_data(dir, s, iv, what, r.start ? from : timestamp_ms{0}, now);
  return bars;
}

}  // namespace atb::engine
