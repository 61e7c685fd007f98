#include "atb/engine/data.hpp"

#include "atb/store/cache.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <fmt/format.h>
#include <limits>
#include <span>
#include <sys/mman.h>
#include <thread>

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

/// A column the workers of load_direct overwrite completely: no zero-fill, and a hint to
/// back it with huge pages (its first write then costs few page faults; no effect on
/// small columns).
template <class T>
aligned_vector<T> fresh_column(std::size_t n) {
  auto v = aligned_vector_for_overwrite<T>(n);
  std::size_t const bytes = n * sizeof(T);
  constexpr std::size_t huge = std::size_t{2} << 20;
  if (bytes < 2 * huge) return v;
  auto const a = reinterpret_cast<std::uintptr_t>(v.data());
  std::uintptr_t const lo = (a + huge - 1) & ~(huge - 1), hi = (a + bytes) & ~(huge - 1);
  if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);
  return v;
}

/// Reads the year files of [from, to) and decodes each straight into its slice of the
/// pre-sized output arrays (year_file::read_into: no intermediate columns). Years are
/// decoded in parallel, one worker per core; each worker is the first to write its
/// slices, so the page faults are taken in parallel too. Years stored at different price
/// scales fall back to cache::load, which reconciles them.
result<bar_series> load_direct(store::cache const& cache, atb::symbol const& s, atb::interval iv, timestamp_ms from,
                               timestamp_ms to, field_mask fields) {
  int const y0 = std::max(1970, year_of(from));
  int const y1 = std::min(9999, year_of(timestamp_ms{to.ms - 1}));
  struct part_info {
    explicit part_info(store::year_file f) : file(std::move(f)) {}
    store::year_file file;
    bool whole = true;         ///< every row is in range (no open-time search needed)
    std::size_t first = 0;     ///< first row in range, inside the year file
    std::size_t rows = 0;      ///< rows in range (known up front when whole)
    std::size_t offset = 0;    ///< first output row
    std::optional<atb::error> err;
  };
  bool const hl = fields.has(field::high) && fields.has(field::low);
  std::vector<part_info> parts;
  std::optional<std::uint8_t> scale;
  bool mixed = false;
  for (int y = y0; y <= y1; ++y) {
    auto f = cache.open(store::year_key{s, iv, y});
    if (!f) return f.error();
    if (!*f) continue;
    auto const& h = (*f)->header();
    if (h.rows == 0 || h.last_open < from || h.first_open >= to) continue;
    // The price scales are in the directory: a mix is known before anything is decoded.
    auto const& sc = (*f)->scales();
    std::uint8_t const c = sc[static_cast<std::size_t>(field::close)];
    if (sc[static_cast<std::size_t>(field::open)] != c ||
        (hl && (sc[static_cast<std::size_t>(field::high)] != c || sc[static_cast<std::size_t>(field::low)] != c)) ||
        (scale && *scale != c))
      mixed = true;
    scale = c;
    part_info p(std::move(**f));
    p.whole = !(h.first_open < from) && h.last_open < to;
    parts.push_back(std::move(p));
  }
  bool const ct = fields.has(field::close_time);
  if (mixed) {  // mixed scales: let the store reconcile them
    auto cols = cache.load(s, iv, from, to, fields | field_mask{field::close_time});
    if (!cols) return cols.error();
    if (cols->empty()) return bar_series{};
    bar_series b = to_bar_series(std::move(*cols), iv);
    if (!ct) b.close_time = {};  // (last_close_ms is kept)
    return b;
  }
  // Rows in range: from the header for whole years, from the open times for edge years.
  std::size_t total = 0;
  {
    kline_columns t;
    for (auto& p : parts) {
      if (p.whole) {
        p.rows = p.file.header().rows;
      } else {
        if (auto rr = p.file.read(field_mask{field::open_time}, t); !rr) return rr.error();
        auto const& ot = t[field::open_time];
        p.first = static_cast<std::size_t>(std::lower_bound(ot.begin(), ot.end(), from.ms) - ot.begin());
        p.rows = static_cast<std::size_t>(std::lower_bound(ot.begin(), ot.end(), to.ms) - ot.begin()) - p.first;
      }
      p.offset = total;
      total += p.rows;
    }
  }
  bar_series b;
  b.interval = iv;
  b.open_time = fresh_column<std::int64_t>(total);
  if (ct) b.close_time = fresh_column<std::int64_t>(total);
  b.open = fresh_column<double>(total);
  b.close = fresh_column<double>(total);
  if (hl) {
    b.high = fresh_column<double>(total);
    b.low = fresh_column<double>(total);
  }
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < parts.size();) {
      auto& p = parts[i];
      using target = store::year_file::column_target;
      auto const at = static_cast<std::ptrdiff_t>(p.offset), nr = static_cast<std::ptrdiff_t>(p.rows);
      auto f64 = [&](field f, aligned_vector<double>& v) {
        return target{f, {}, {v.begin() + at, v.begin() + at + nr}};
      };
      auto i64 = [&](field f, aligned_vector<std::int64_t>& v) {
        return target{f, {v.begin() + at, v.begin() + at + nr}, {}};
      };
      std::array<target, 6> tg{i64(field::open_time, b.open_time), f64(field::open, b.open), f64(field::close, b.close)};
      std::size_t nt = 3;
      if (hl) tg[nt++] = f64(field::high, b.high), tg[nt++] = f64(field::low, b.low);
      if (ct) tg[nt++] = i64(field::close_time, b.close_time);
      if (auto rr = p.file.read_into(p.first, p.rows, std::span(tg).first(nt)); !rr) p.err = rr.error();
    }
  };
  std::size_t const workers = std::min<std::size_t>(parts.size(), std::max(1u, std::thread::hardware_concurrency()));
  if (workers <= 1) {
    work();
  } else {
    std::vector<std::thread> pool;
    for (std::size_t w = 1; w < workers; ++w) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
  }
  for (auto const& p : parts)
    if (p.err) return *p.err;
  if (ct && total > 0) {
    b.last_close_ms = b.close_time.back();
  } else if (total > 0) {  // the last bar's close time alone: from the header, or one row decoded
    auto it = std::find_if(parts.rbegin(), parts.rend(), [](part_info const& p) { return p.rows > 0; });
    if (it->whole) {
      b.last_close_ms = it->file.header().last_close.ms;
    } else {
      std::int64_t v = 0;
      store::year_file::column_target const t{field::close_time, {&v, 1}, {}};
      if (auto rr = it->file.read_into(it->first + it->rows - 1, 1, {&t, 1}); !rr) return rr.error();
      b.last_close_ms = v;
    }
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
