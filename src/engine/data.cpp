#include "atb/engine/data.hpp"

#include "atb/store/cache.hpp"

#include <algorithm>
#include <atomic>
#include <sys/mman.h>
#include <thread>
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

/// Gives the kernel a hint to back a large, not yet touched column with huge pages
/// (fewer page faults when it is first written). No effect on small vectors.
template <class T>
void reserve_huge(aligned_vector<T>& v, std::size_t n) {
  v.reserve(n);
  std::size_t const bytes = n * sizeof(T);
  constexpr std::size_t huge = std::size_t{2} << 20;
  if (bytes < 2 * huge) return;
  auto const a = reinterpret_cast<std::uintptr_t>(v.data());
  std::uintptr_t const lo = (a + huge - 1) & ~(huge - 1), hi = (a + bytes) & ~(huge - 1);
  if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);
}

/// Reads the year files of [from, to) and converts each straight into its slice of the
/// pre-sized output arrays (one pass, no intermediate concatenation). Years are decoded in
/// parallel (one worker per core, each reusing its decode buffers across years). Years
/// stored at different price scales fall back to cache::load, which reconciles them.
result<bar_series> load_direct(store::cache const& cache, atb::symbol const& s, atb::interval iv, timestamp_ms from,
                               timestamp_ms to, field_mask fields) {
  int const y0 = std::max(1970, year_of(from));
  int const y1 = std::min(9999, year_of(timestamp_ms{to.ms - 1}));
  struct part_info {
    explicit part_info(store::year_file f) : file(std::move(f)) {}
    store::year_file file;
    bool whole = true;         ///< every row is in range (no open-time search needed)
    std::size_t offset = 0;    ///< first output row
    std::size_t rows = 0;      ///< rows in range (known up front when whole)
    std::uint8_t scale = 0;
    std::optional<atb::error> err;
  };
  std::vector<part_info> parts;
  for (int y = y0; y <= y1; ++y) {
    auto f = cache.open(store::year_key{s, iv, y});
    if (!f) return f.error();
    if (!*f) continue;
    auto const& h = (*f)->header();
    if (h.rows == 0 || h.last_open < from || h.first_open >= to) continue;
    part_info p(std::move(**f));
    p.whole = !(h.first_open < from) && h.last_open < to;
    parts.push_back(std::move(p));
  }
  // Rows in range: from the header for whole years, from the open times for edge years.
  {
    kline_columns t;
    for (auto& p : parts) {
      if (p.whole) {
        p.rows = p.file.header().rows;
        continue;
      }
      if (auto rr = p.file.read(field_mask{field::open_time}, t); !rr) return rr.error();
      auto const& ot = t[field::open_time];
      p.offset = static_cast<std::size_t>(std::lower_bound(ot.begin(), ot.end(), from.ms) - ot.begin());
      p.rows = static_cast<std::size_t>(std::lower_bound(ot.begin(), ot.end(), to.ms) - ot.begin()) - p.offset;
    }
  }
  std::size_t total = 0;
  std::vector<std::size_t> first_row(parts.size());  // row offset inside the year file
  for (std::size_t i = 0; i < parts.size(); ++i) {
    first_row[i] = parts[i].offset;
    parts[i].offset = total;
    total += parts[i].rows;
  }
  bar_series b;
  b.interval = iv;
  bool const hl = fields.has(field::high) && fields.has(field::low);
  std::vector<aligned_vector<double>*> prices{&b.open, &b.close};
  if (hl) prices.insert(prices.end(), {&b.high, &b.low});
  // Output arrays are written by the workers in place. resize() zero-fills them first;
  // with huge pages that first touch costs few page faults.
  for (auto* v : prices) {
    reserve_huge(*v, total);
    v->resize(total);
  }
  for (auto* v : {&b.open_time, &b.close_time}) {
    reserve_huge(*v, total);
    v->resize(total);
  }
  field_mask const need = fields | field_mask{field::open_time, field::close_time, field::open, field::close};
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    kline_columns part;  // reused across this worker's years: no fresh pages after the first
    for (std::size_t i; (i = next.fetch_add(1)) < parts.size();) {
      auto& p = parts[i];
      if (auto rr = p.file.read(need, part); !rr) {
        p.err = rr.error();
        continue;
      }
      p.scale = part.scale[static_cast<std::size_t>(field::close)];
      for (field pf : {field::open, field::high, field::low})
        if (!part[pf].empty() && part.scale[static_cast<std::size_t>(pf)] != p.scale) p.scale = 255;
      std::size_t const r0 = first_row[i];
      auto conv = [&](field pf, aligned_vector<double>& out) {
        std::int64_t const* src = part[pf].data() + r0;
        double* dst = out.data() + p.offset;
        for (std::size_t k = 0; k < p.rows; ++k) dst[k] = static_cast<double>(src[k]);
      };
      conv(field::open, b.open);
      conv(field::close, b.close);
      if (hl) {
        conv(field::high, b.high);
        conv(field::low, b.low);
      }
      std::copy_n(part[field::open_time].data() + r0, p.rows, b.open_time.data() + p.offset);
      std::copy_n(part[field::close_time].data() + r0, p.rows, b.close_time.data() + p.offset);
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
  std::optional<std::uint8_t> scale;
  bool mixed = false;
  for (auto const& p : parts) {
    if (p.err) return *p.err;
    if (p.scale == 255 || (scale && *scale != p.scale)) mixed = true;
    scale = p.scale;
  }
  if (mixed) {  // mixed scales: let the store reconcile them
    auto cols = cache.load(s, iv, from, to, fields);
    if (!cols) return cols.error();
    if (cols->empty()) return bar_series{};
    return to_bar_series(std::move(*cols), iv);
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
