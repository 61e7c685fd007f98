// Loading bars through the store: range selection on open time, --days, no-data message.
#include "atb/engine/backtest.hpp"
#include "atb/engine/data.hpp"
#include "atb/store/cache.hpp"
#include "atb/store/year_file.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

namespace {

using namespace atb;
using namespace atb::engine;

struct temp_cache {
  std::filesystem::path dir;
  temp_cache() {
    dir = std::filesystem::temp_directory_path() /
          ("atb_engine_data_test_" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~temp_cache() { std::filesystem::remove_all(dir); }
};

// Hourly candles from `start`, `n` of them, all in one year; close = 100 + i.
kline_columns hours(timestamp_ms start, std::size_t n) {
  kline_columns k;
  for (std::size_t i = 0; i < n; ++i) {
    std::int64_t const t = start.ms + static_cast<std::int64_t>(i) * ms_per_hour;
    std::int64_t const px = (100 + static_cast<std::int64_t>(i)) * 100'000'000;
    k[field::open_time].push_back(t);
    k[field::open].push_back(px);
    k[field::high].push_back(px + 50'000'000);
    k[field::low].push_back(px - 50'000'000);
    k[field::close].push_back(px);
    k[field::volume].push_back(1'00000000);
    k[field::close_time].push_back(t + ms_per_hour - 1);
    k[field::quote_volume].push_back(px);
    k[field::trades].push_back(1);
    k[field::taker_buy_base_volume].push_back(0);
    k[field::taker_buy_quote_volume].push_back(0);
  }
  return k;
}

TEST(EngineData, RangeSelectsOpenTimesHalfOpen) {
  temp_cache tc;
  auto const sym = symbol::parse("BTCUSDT").value();
  timestamp_ms const t0 = to_timestamp(civil_date{2024, 3, 1});
  ASSERT_TRUE(store::write_year_file(tc.dir, {sym, interval::h1, 2024}, hours(t0, 48)));
  range_spec r;
  r.start = timestamp_ms{t0.ms + 2 * ms_per_hour};
  r.end = timestamp_ms{t0.ms + 5 * ms_per_hour};
  auto b = load_bars(tc.dir, sym, interval::h1, r, to_timestamp(civil_date{2024, 6, 1}));
  ASSERT_TRUE(b) << b.error().message;
  ASSERT_EQ(b->size(), 3u);  // hours 2, 3, 4 — the candle opening at `end` is excluded
  EXPECT_EQ(b->open_time.front(), r.start->ms);
  EXPECT_EQ(b->open_time.back(), t0.ms + 4 * ms_per_hour);
  EXPECT_DOUBLE_EQ(b->close.front() * b->price_scale, 102.0);
}

TEST(EngineData, DaysCountsBackFromNewestCandle) {
  temp_cache tc;
  auto const sym = symbol::parse("ETHUSDT").value();
  timestamp_ms const t0 = to_timestamp(civil_date{2023, 12, 30});
  auto k = hours(t0, 24 * 5);  // spans the new year: two year files
  kline_columns a, b;
  for (std::size_t i = 0; i < k.size(); ++i) (year_of(k.open_time(i)) == 2023 ? a : b).push_row(k, i);
  ASSERT_TRUE(store::write_year_file(tc.dir, {sym, interval::h1, 2023}, a));
  ASSERT_TRUE(store::write_year_file(tc.dir, {sym, interval::h1, 2024}, b));
  range_spec r;
  r.days = 3;
  auto bars = load_bars(tc.dir, sym, interval::h1, r, to_timestamp(civil_date{2025, 1, 1}));
  ASSERT_TRUE(bars) << bars.error().message;
  EXPECT_EQ(bars->size(), 72u);
  EXPECT_EQ(bars->open_time.back(), k.open_time(k.size() - 1).ms);
  EXPECT_EQ(bars->open_time.front(), k.open_time(k.size() - 72).ms);
}

TEST(EngineData, NoDataNamesThePreloadCommand) {
  temp_cache tc;
  auto const sym = symbol::parse("SOLUSDT").value();
  range_spec r;
  r.start = to_timestamp(civil_date{2024, 1, 1});
  r.end = to_timestamp(civil_date{2024, 2, 1});
  auto b = load_bars(tc.dir, sym, interval::h4, r, to_timestamp(civil_date{2025, 6, 1}));
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, make_error_code(engine_errc::no_data));
  EXPECT_NE(b.error().message.find("atb data preload-offline --symbols SOLUSDT --timeframes 4h --years-back 2"),
            std::string::npos)
      << b.error().message;
  EXPECT_NE(b.error().message.find("atb data import"), std::string::npos);
  range_spec d;
  d.days = 7;
  auto c = load_bars(tc.dir, sym, interval::h4, d, to_timestamp(civil_date{2025, 6, 1}));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, make_error_code(engine_errc::no_data));
}

TEST(EngineData, InvalidRanges) {
  temp_cache tc;
  auto const sym = symbol::parse("SOLUSDT").value();
  range_spec r;
  r.start = to_timestamp(civil_date{2024, 2, 1});
  r.end = to_timestamp(civil_date{2024, 1, 1});
  auto b = load_bars(tc.dir, sym, interval::h4, r, to_timestamp(civil_date{2025, 6, 1}));
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, make_error_code(engine_errc::invalid_range));
  range_spec d;
  d.days = 0;
  EXPECT_FALSE(load_bars(tc.dir, sym, interval::h4, d, to_timestamp(civil_date{2025, 6, 1})));
}

}  // namespace

namespace {

// Four year files (2021 tail, 2022 and 2023 whole, 2024 head); a range that cuts into the
// first and last of them. Every loaded row must be the stored row of the same open time,
// in order, whichever years are decoded in parallel.
TEST(EngineData, RangeAcrossYearsIsContiguousAndExact) {
  temp_cache tc;
  auto const sym = symbol::parse("BNBUSDT").value();
  timestamp_ms const t0 = to_timestamp(civil_date{2021, 12, 25});
  std::size_t const n = 24 * (7 + 365 + 365 + 10);
  kline_columns k;
  for (std::size_t i = 0; i < n; ++i) {
    std::int64_t const t = t0.ms + static_cast<std::int64_t>(i) * ms_per_hour;
    std::int64_t const o = (1000 + static_cast<std::int64_t>(i % 977)) * 1'000'000;
    std::int64_t const c = o + static_cast<std::int64_t>(i % 13) * 10'000 - 60'000;
    k[field::open_time].push_back(t);
    k[field::open].push_back(o);
    k[field::high].push_back(std::max(o, c) + 5);
    k[field::low].push_back(std::min(o, c) - 5);
    k[field::close].push_back(c);
    k[field::volume].push_back(1'00000000);
    k[field::close_time].push_back(t + ms_per_hour - 1);
    k[field::quote_volume].push_back(c);
    k[field::trades].push_back(1);
    k[field::taker_buy_base_volume].push_back(0);
    k[field::taker_buy_quote_volume].push_back(0);
  }
  for (int y = 2021; y <= 2024; ++y) {
    kline_columns part;
    for (std::size_t i = 0; i < n; ++i)
      if (year_of(k.open_time(i)) == y) part.push_row(k, i);
    ASSERT_TRUE(store::write_year_file(tc.dir, {sym, interval::h1, y}, part));
  }
  std::size_t const first = 24 * 3 + 5, last = n - 24 * 4 - 7;  // [first, last) expected
  range_spec r;
  r.start = timestamp_ms{k.open_time(first).ms - 1};  // between two candles: the next one is first
  r.end = k.open_time(last);
  for (field_mask fm : {sma_fields(), backtest_fields(), sma_fields() | field_mask{field::close_time}}) {
    auto b = load_bars(tc.dir, sym, interval::h1, r, to_timestamp(civil_date{2025, 1, 1}), fm);
    ASSERT_TRUE(b) << b.error().message;
    ASSERT_EQ(b->size(), last - first);
    ASSERT_EQ(b->open_time.size(), b->size());
    // Close times are decoded only when asked for; the last one is always known (here
    // from one decoded row of the edge year).
    ASSERT_EQ(b->close_time.size(), fm.has(field::close_time) ? b->size() : 0u);
    EXPECT_EQ(b->last_close(), k[field::close_time][last - 1]);
    EXPECT_EQ(span_ms(*b), k[field::close_time][last - 1] + 1 - k.open_time(first).ms);
    EXPECT_DOUBLE_EQ(b->price_scale, 1e-8);
    bool const hl = fm.has(field::high);
    EXPECT_EQ(b->high.size(), hl ? b->size() : 0u);
    for (std::size_t i = 0; i < b->size(); ++i) {
      std::size_t const j = first + i;
      ASSERT_EQ(b->open_time[i], k.open_time(j).ms) << i;
      ASSERT_EQ(b->close_time_at(i), k[field::close_time][j]) << i;
      ASSERT_EQ(b->open[i], static_cast<double>(k[field::open][j])) << i;
      ASSERT_EQ(b->close[i], static_cast<double>(k[field::close][j])) << i;
      if (hl) {
        ASSERT_EQ(b->high[i], static_cast<double>(k[field::high][j])) << i;
        ASSERT_EQ(b->low[i], static_cast<double>(k[field::low][j])) << i;
      }
    }
  }
  // Open end: the last year is read whole and its last close time comes from the header.
  range_spec open_end;
  open_end.start = r.start;
  auto b = load_bars(tc.dir, sym, interval::h1, open_end, to_timestamp(civil_date{2025, 1, 1}), sma_fields());
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_TRUE(b->close_time.empty());
  EXPECT_EQ(b->last_close(), k[field::close_time][n - 1]);
  // Cutting the end without close times: the new last bar's regular close time.
  b->slice(0, b->size() - 5);
  EXPECT_EQ(b->last_close(), k[field::close_time][n - 6]);
  b->slice(0, 0);
  EXPECT_TRUE(b->empty());
}

}  // namespace

namespace {

/// Random-walk candles of one interval from `start` (with a missing candle after every
/// `gap_every`), split into year files.
kline_columns walk(atb::interval iv, timestamp_ms start, std::size_t n, std::size_t gap_every, unsigned seed) {
  kline_columns k;
  std::mt19937_64 rng(seed);
  std::int64_t px = 30'000'00000000, t = start.ms;
  for (std::size_t i = 0; i < n; ++i) {
    std::int64_t const o = px, c = std::max<std::int64_t>(1, o + static_cast<std::int64_t>(rng() % 2'000'001) - 1'000'000);
    std::int64_t const close_t = next_open(iv, timestamp_ms{t}).ms - 1;
    k[field::open_time].push_back(t);
    k[field::open].push_back(o);
    k[field::high].push_back(std::max(o, c) + static_cast<std::int64_t>(rng() % 1000));
    k[field::low].push_back(std::min(o, c) - static_cast<std::int64_t>(rng() % 1000));
    k[field::close].push_back(c);
    k[field::volume].push_back(1'00000000);
    k[field::close_time].push_back(close_t);
    k[field::quote_volume].push_back(c);
    k[field::trades].push_back(1);
    k[field::taker_buy_base_volume].push_back(0);
    k[field::taker_buy_quote_volume].push_back(0);
    px = c;
    t = close_t + 1;
    if (gap_every && i % gap_every == gap_every - 1) t = next_open(iv, timestamp_ms{t}).ms;
  }
  return k;
}

void write_years(std::filesystem::path const& dir, atb::symbol const& s, atb::interval iv, kline_columns const& k) {
  std::map<int, kline_columns> years;
  for (std::size_t i = 0; i < k.size(); ++i) {
    auto& y = years[year_of(k.open_time(i))];
    y.scale = k.scale;
    y.push_row(k, i);
  }
  for (auto const& [y, rows] : years) ASSERT_TRUE(store::write_year_file(dir, {s, iv, y}, rows));
}

/// load_bars against the reference: cache::load (the store's whole-column reader) and
/// to_bar_series.
void expect_same_as_cache_load(std::filesystem::path const& dir, atb::symbol const& s, atb::interval iv,
                               timestamp_ms from, timestamp_ms to, field_mask fm) {
  SCOPED_TRACE(format_utc(from) + " .. " + format_utc(to));
  range_spec r;
  r.start = from;
  r.end = to;
  auto b = load_bars(dir, s, iv, r, to_timestamp(civil_date{2030, 1, 1}), fm);
  auto cols = store::cache(dir).load(s, iv, from, to, fm | sma_fields());
  ASSERT_TRUE(cols) << cols.error().message;
  if (cols->empty()) {
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().code, make_error_code(engine_errc::no_data));
    return;
  }
  ASSERT_TRUE(b) << b.error().message;
  bar_series const ref = to_bar_series(*cols, iv);
  EXPECT_EQ(b->price_scale, ref.price_scale);
  EXPECT_EQ(b->interval, iv);
  EXPECT_TRUE(b->open_time == ref.open_time);
  EXPECT_TRUE(b->close_time == ref.close_time);
  EXPECT_TRUE(b->open == ref.open);
  EXPECT_TRUE(b->close == ref.close);
  EXPECT_TRUE(b->high == ref.high);
  EXPECT_TRUE(b->low == ref.low);
  for (auto const* v : {&b->open, &b->close})
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(v->data()) % column_alignment, 0u);
}

TEST(EngineData, MatchesCacheLoadOnMinuteYearsWithGaps) {
  temp_cache tc;
  auto const sym = symbol::parse("BTCUSDT").value();
  // 2022-12-20 .. 2024-01-10 in 1m candles with gaps: three year files, the middle one whole.
  timestamp_ms const t0 = to_timestamp(civil_date{2022, 12, 20});
  kline_columns const k = walk(interval::m1, t0, 60 * 24 * 385, 997, 3);
  write_years(tc.dir, sym, interval::m1, k);
  std::size_t const n = k.size();
  for (field_mask fm : {sma_fields(), backtest_fields()}) {
    expect_same_as_cache_load(tc.dir, sym, interval::m1, k.open_time(0), timestamp_ms{k.open_time(n - 1).ms + 1}, fm);
    expect_same_as_cache_load(tc.dir, sym, interval::m1, to_timestamp(civil_date{2023, 1, 1}),
                              to_timestamp(civil_date{2024, 1, 1}), fm);
    expect_same_as_cache_load(tc.dir, sym, interval::m1, timestamp_ms{k.open_time(777).ms + 1}, k.open_time(n - 555), fm);
    expect_same_as_cache_load(tc.dir, sym, interval::m1, k.open_time(12345), k.open_time(12346), fm);
    expect_same_as_cache_load(tc.dir, sym, interval::m1, to_timestamp(civil_date{2023, 6, 1}),
                              to_timestamp(civil_date{2023, 6, 2}), fm);
  }
}

TEST(EngineData, MatchesCacheLoadForMonthsAndWeeks) {
  temp_cache tc;
  auto const sym = symbol::parse("ETHUSDT").value();
  for (atb::interval iv : {interval::mo1, interval::w1, interval::d3}) {
    SCOPED_TRACE(std::string(to_string(iv)));
    timestamp_ms const t0 = next_open(iv, to_timestamp(civil_date{2017, 8, 1}));
    kline_columns const k = walk(iv, t0, iv == interval::mo1 ? 80 : 300, 17, 4);
    write_years(tc.dir, sym, iv, k);
    expect_same_as_cache_load(tc.dir, sym, iv, to_timestamp(civil_date{2017, 1, 1}), to_timestamp(civil_date{2030, 1, 1}),
                              backtest_fields());
    expect_same_as_cache_load(tc.dir, sym, iv, to_timestamp(civil_date{2018, 3, 1}), to_timestamp(civil_date{2020, 5, 5}),
                              sma_fields());
  }
}

TEST(EngineData, YearsAtDifferentPriceScalesAreReconciled) {
  temp_cache tc;
  auto const sym = symbol::parse("XRPUSDT").value();
  kline_columns a = walk(interval::h1, to_timestamp(civil_date{2022, 12, 1}), 24 * 31, 0, 5);
  kline_columns b = walk(interval::h1, to_timestamp(civil_date{2023, 1, 1}), 24 * 31, 0, 6);
  for (field f : {field::open, field::high, field::low, field::close})
    for (auto& v : b[f]) v = v / 1'000'000 * 100;  // the same prices, to 2 decimals at scale 4
  for (field f : {field::open, field::high, field::low, field::close}) b.scale[static_cast<std::size_t>(f)] = 4;
  ASSERT_TRUE(store::write_year_file(tc.dir, {sym, interval::h1, 2022}, a));
  ASSERT_TRUE(store::write_year_file(tc.dir, {sym, interval::h1, 2023}, b));
  for (field_mask fm : {sma_fields(), backtest_fields()}) {
    expect_same_as_cache_load(tc.dir, sym, interval::h1, to_timestamp(civil_date{2022, 1, 1}),
                              to_timestamp(civil_date{2024, 1, 1}), fm);
    range_spec r;
    r.start = to_timestamp(civil_date{2022, 12, 31});
    r.end = to_timestamp(civil_date{2023, 1, 2});
    auto bars = load_bars(tc.dir, sym, interval::h1, r, to_timestamp(civil_date{2024, 1, 1}), fm);
    ASSERT_TRUE(bars) << bars.error().message;
    ASSERT_EQ(bars->size(), 48u);
    EXPECT_DOUBLE_EQ(bars->price_scale, 1e-8);  // the finer scale
    EXPECT_EQ(bars->close[24], static_cast<double>(b[field::close][0] * 10'000));
    EXPECT_EQ(bars->close[23], static_cast<double>(a[field::close][a.size() - 1]));
  }
}

TEST(EngineData, ACorruptYearFailsTheLoad) {
  temp_cache tc;
  auto const sym = symbol::parse("ADAUSDT").value();
  kline_columns const k = walk(interval::h1, to_timestamp(civil_date{2020, 1, 1}), 24 * 366 * 3, 0, 7);
  write_years(tc.dir, sym, interval::h1, k);
  auto const path = store::year_file_path(tc.dir, {sym, interval::h1, 2021});
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  // flip a byte in the middle of the close column's block (directory entry 4)
  std::uint64_t off = 0, size = 0;
  std::memcpy(&off, bytes.data() + 80 + 40 * 4 + 8, 8);
  std::memcpy(&size, bytes.data() + 80 + 40 * 4 + 16, 8);
  bytes[off + size / 2] ^= 0x10;
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  range_spec r;
  r.start = to_timestamp(civil_date{2020, 1, 1});
  r.end = to_timestamp(civil_date{2023, 1, 1});
  auto b = load_bars(tc.dir, sym, interval::h1, r, to_timestamp(civil_date{2024, 1, 1}));
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, make_error_code(store::store_errc::checksum_mismatch)) << b.error().message;
  EXPECT_NE(b.error().message.find(path.filename().string()), std::string::npos) << b.error().message;
  r.end = to_timestamp(civil_date{2021, 1, 1});  // the damaged year is not read
  EXPECT_TRUE(load_bars(tc.dir, sym, interval::h1, r, to_timestamp(civil_date{2024, 1, 1})));
}

TEST(AlignedVector, ForOverwriteIsSizedAndAlignedAndValueInitStays) {
  auto v = aligned_vector_for_overwrite<double>(1'000'003);
  EXPECT_EQ(v.size(), 1'000'003u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(v.data()) % column_alignment, 0u);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i);
  EXPECT_EQ(v.back(), 1'000'002.0);
  EXPECT_TRUE(aligned_vector_for_overwrite<std::int64_t>(0).empty());
  // the ordinary ways still value-initialise (zero)
  aligned_vector<std::int64_t> z(1000, 5);
  z.clear();
  z.resize(1000);
  EXPECT_TRUE(std::all_of(z.begin(), z.end(), [](std::int64_t x) { return x == 0; }));
  aligned_vector<double> w(777);
  EXPECT_TRUE(std::all_of(w.begin(), w.end(), [](double x) { return x == 0.0; }));
  aligned_vector<std::int64_t> c = aligned_vector_for_overwrite<std::int64_t>(3);
  c = {1, 2, 3};
  c.insert(c.end(), 2, 9);
  EXPECT_EQ(c, (aligned_vector<std::int64_t>{1, 2, 3, 9, 9}));
}

}  // namespace
