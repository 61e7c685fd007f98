// Loading bars through the store: range selection on open time, --days, no-data message.
#include "atb/engine/data.hpp"
#include "atb/store/year_file.hpp"

#include <gtest/gtest.h>

#include <filesystem>

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
  for (field_mask fm : {sma_fields(), backtest_fields()}) {
    auto b = load_bars(tc.dir, sym, interval::h1, r, to_timestamp(civil_date{2025, 1, 1}), fm);
    ASSERT_TRUE(b) << b.error().message;
    ASSERT_EQ(b->size(), last - first);
    ASSERT_EQ(b->open_time.size(), b->size());
    ASSERT_EQ(b->close_time.size(), b->size());
    EXPECT_DOUBLE_EQ(b->price_scale, 1e-8);
    bool const hl = fm.has(field::high);
    EXPECT_EQ(b->high.size(), hl ? b->size() : 0u);
    for (std::size_t i = 0; i < b->size(); ++i) {
      std::size_t const j = first + i;
      ASSERT_EQ(b->open_time[i], k.open_time(j).ms) << i;
      ASSERT_EQ(b->close_time[i], k[field::close_time][j]) << i;
      ASSERT_EQ(b->open[i], static_cast<double>(k[field::open][j])) << i;
      ASSERT_EQ(b->close[i], static_cast<double>(k[field::close][j])) << i;
      if (hl) {
        ASSERT_EQ(b->high[i], static_cast<double>(k[field::high][j])) << i;
        ASSERT_EQ(b->low[i], static_cast<double>(k[field::low][j])) << i;
      }
    }
  }
}

}  // namespace
