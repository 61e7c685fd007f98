// The synthetic market: deterministic per seed, consistent across intervals, realistic shape.
#include "atb/sim/render.hpp"
#include "atb/sim/synthetic_market.hpp"

#include <gtest/gtest.h>

namespace atb::sim {
namespace {

timestamp_ms at(std::string_view iso) { return parse_instant(iso).value(); }

kline_row row(kline_columns const& k, std::size_t i) {
  kline_row r;
  for (std::size_t f = 0; f < field_count; ++f) r.f[f] = k.cols[f][i];
  return r;
}

/// Aggregate of rows [0, n) as Binance builds a longer candle from shorter ones.
kline_row aggregate(kline_columns const& k, timestamp_ms open, timestamp_ms close) {
  kline_row a = row(k, 0);
  for (std::size_t i = 1; i < k.size(); ++i) {
    a[field::high] = std::max(a[field::high], k[field::high][i]);
    a[field::low] = std::min(a[field::low], k[field::low][i]);
    a[field::close] = k[field::close][i];
    for (field f : {field::volume, field::quote_volume, field::trades, field::taker_buy_base_volume,
                    field::taker_buy_quote_volume})
      a[f] += k[f][i];
  }
  a[field::open_time] = open.ms;
  a[field::close_time] = close.ms;
  return a;
}

class Synthetic : public ::testing::Test {
 protected:
  void SetUp() override { m_ = synthetic_market::create({42, {}, 4096}).value(); }
  kline_columns range(std::string_view sym, interval iv, timestamp_ms from, timestamp_ms to, std::size_t limit = 1000) {
    return m_->klines(*m_->find(sym), iv, plan_selection(from, to, limit, now_), now_).value();
  }
  /// Checks that the candle of `big` opening at t is the aggregate of the `small` candles inside it.
  void expect_aggregate(std::string_view sym, interval big, interval small, timestamp_ms t) {
    SCOPED_TRACE(std::string(sym) + " " + std::string(to_string(big)) + " from " + std::string(to_string(small)) +
                 " at " + format_utc(t));
    auto b = range(sym, big, t, t, 1);
    ASSERT_EQ(b.size(), 1u);
    ASSERT_EQ(b.open_time(0), t);
    auto s = range(sym, small, t, timestamp_ms{b.close_time(0).ms}, 1000);
    ASSERT_GT(s.size(), 0u);
    EXPECT_EQ(row(b, 0), aggregate(s, b.open_time(0), b.close_time(0)));
  }
  std::unique_ptr<synthetic_market> m_;
  timestamp_ms now_ = at("2025-06-15T10:20:30Z");
};

TEST_F(Synthetic, ListsTheDefaultSymbolsWithTheirListingDates) {
  auto const& s = m_->symbols();
  ASSERT_EQ(s.size(), 10u);
  EXPECT_EQ(s[0].symbol.view(), "BTCUSDT");
  EXPECT_EQ(s[0].base_asset, "BTC");
  EXPECT_EQ(s[0].quote_asset, "USDT");
  EXPECT_EQ(format_date(m_->find("ADAUSDT")->listed), "2018-04-17");
  EXPECT_EQ(format_date(m_->find("AVAXUSDT")->listed), "2020-09-22");
  EXPECT_EQ(format_date(m_->find("LINKUSDT")->listed), "2019-01-16");
  EXPECT_EQ(format_date(m_->find("LTCUSDT")->listed), "2017-12-13");
}

TEST_F(Synthetic, SameSeedSameBytesOtherSeedOtherBytes) {
  auto render = [&](synthetic_market const& m, interval iv) {
    std::string out;
    auto k = m.klines(*m.find("ETHUSDT"), iv, plan_selection(at("2021-02-03"), std::nullopt, 1000, now_), now_).value();
    render_klines(out, k);
    return out;
  };
  auto again = synthetic_market::create({42, {}, 16}).value();  // tiny cache: recomputation must agree
  auto other = synthetic_market::create({43, {}, 4096}).value();
  for (interval iv : {interval::s1, interval::m1, interval::h1, interval::d1, interval::mo1}) {
    std::string const a = render(*m_, iv);
    EXPECT_EQ(a, render(*again, iv)) << to_string(iv);
    EXPECT_EQ(a, render(*m_, iv)) << to_string(iv);
    EXPECT_NE(a, render(*other, iv)) << to_string(iv);
  }
}

TEST_F(Synthetic, EveryIntervalAggregatesTheOneBaseSeries) {
  for (std::string_view sym : {"BTCUSDT", "XRPUSDT", "DOTUSDT"}) {
    expect_aggregate(sym, interval::h1, interval::m1, at("2022-05-09T13:00:00Z"));
    expect_aggregate(sym, interval::h4, interval::h1, at("2022-05-09T12:00:00Z"));
    expect_aggregate(sym, interval::d1, interval::h1, at("2023-11-30"));
    expect_aggregate(sym, interval::m30, interval::m1, at("2021-01-01T23:30:00Z"));
    expect_aggregate(sym, interval::m1, interval::s1, at("2024-02-29T07:41:00Z"));
    expect_aggregate(sym, interval::w1, interval::d1, at("2023-01-02"));
    expect_aggregate(sym, interval::mo1, interval::d1, at("2024-02-01"));
    expect_aggregate(sym, interval::d1, interval::m30, at("2022-07-04"));
  }
  // The listing day and the in-progress candles aggregate what exists so far.
  expect_aggregate("BTCUSDT", interval::d1, interval::h1, at("2017-08-17"));
  expect_aggregate("BTCUSDT", interval::mo1, interval::d1, at("2017-08-01"));
  expect_aggregate("BTCUSDT", interval::d1, interval::m1, at("2025-06-15"));
  expect_aggregate("BTCUSDT", interval::m1, interval::s1, at("2025-06-15T10:20:00Z"));
  expect_aggregate("BTCUSDT", interval::h1, interval::m1, at("2025-06-15T10:00:00Z"));
}

TEST_F(Synthetic, MaintenanceGapsRemoveHoursAndLongerCandlesAggregateTheRest) {
  // Find a gap in 2022 and check every view of it.
  std::optional<timestamp_ms> gap;
  for (std::int64_t t = at("2022-01-01").ms; t < at("2023-01-01").ms && !gap; t += ms_per_hour)
    if (m_->is_gap_hour(0, timestamp_ms{t})) gap = timestamp_ms{t};
  ASSERT_TRUE(gap) << "no maintenance gap in a whole year";
  auto h = range("BTCUSDT", interval::h1, *gap, *gap, 10);
  EXPECT_TRUE(h.empty());
  auto m = range("BTCUSDT", interval::m1, *gap, timestamp_ms{gap->ms + ms_per_hour - 1}, 100);
  EXPECT_TRUE(m.empty());
  timestamp_ms const day = grid_floor(interval::d1, *gap);
  auto hours = range("BTCUSDT", interval::h1, day, timestamp_ms{day.ms + ms_per_day - 1}, 100);
  EXPECT_LT(hours.size(), 24u);
  expect_aggregate("BTCUSDT", interval::d1, interval::h1, day);
  // Paging on across the gap: startTime = last open + 1 lands after it.
  auto before = range("BTCUSDT", interval::h1, timestamp_ms{gap->ms - 2 * ms_per_hour}, *gap, 10);
  ASSERT_FALSE(before.empty());
  auto after = range("BTCUSDT", interval::h1, timestamp_ms{before.open_time(before.size() - 1).ms + 1}, now_, 1);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_GT(after.open_time(0), *gap);
}

TEST_F(Synthetic, CandlesAreWellFormed) {
  auto touches_gap = [&](std::size_t sym, timestamp_ms from, timestamp_ms to) {
    for (std::int64_t t = grid_floor(interval::h1, from).ms; t <= to.ms; t += ms_per_hour)
      if (m_->is_gap_hour(sym, timestamp_ms{t})) return true;
    return false;
  };
  for (std::size_t sym = 0; sym < m_->symbols().size(); ++sym) {
    auto const& info = m_->symbols()[sym];
    for (interval iv : {interval::s1, interval::m1, interval::h1, interval::d1, interval::w1}) {
      auto k = m_->klines(info, iv, plan_selection(timestamp_ms{0}, std::nullopt, 1000, now_), now_).value();
      ASSERT_GT(k.size(), 0u);
      std::int64_t const tick = info.tick_size.mantissa();
      for (std::size_t i = 0; i < k.size(); ++i) {
        SCOPED_TRACE(info.symbol.str() + " " + std::string(to_string(iv)) + " " + format_utc(k.open_time(i)));
        auto o = k[field::open][i], h = k[field::high][i], l = k[field::low][i], c = k[field::close][i];
        ASSERT_GT(l, 0);
        ASSERT_LE(l, std::min(o, c));
        ASSERT_GE(h, std::max(o, c));
        for (auto p : {o, h, l, c}) ASSERT_EQ(p % tick, 0);
        ASSERT_EQ(k[field::volume][i] % info.step_size.mantissa(), 0);
        ASSERT_GE(k[field::volume][i], k[field::taker_buy_base_volume][i]);
        ASSERT_GE(k[field::quote_volume][i], k[field::taker_buy_quote_volume][i]);
        ASSERT_GE(k[field::trades][i], 0);
        if (k[field::trades][i] == 0) {  // no trade: flat at the last price, no volume
          ASSERT_EQ(k[field::volume][i], 0);
          ASSERT_EQ(h, l);
        }
        ASSERT_EQ(k.close_time(i), regular_close(iv, k.open_time(i)));
        if (i > 0) {
          ASSERT_GT(k.open_time(i), k.open_time(i - 1));
        }
        // Continuity: a candle opens where the previous one closed (when adjacent).
        if (i > 0 && next_open(iv, k.open_time(i - 1)) == k.open_time(i) &&
            !touches_gap(sym, k.open_time(i - 1), k.close_time(i))) {
          ASSERT_EQ(k[field::open][i], k[field::close][i - 1]);
        }
      }
    }
  }
}

TEST_F(Synthetic, ThreeDayCandlesAreAnchoredOnTheListingDay) {
  auto k = range("SOLUSDT", interval::d3, timestamp_ms{0}, now_, 3);
  ASSERT_EQ(k.size(), 3u);
  EXPECT_EQ(k.open_time(0), at("2020-08-11"));
  EXPECT_EQ(k.open_time(1), at("2020-08-14"));
  expect_aggregate("SOLUSDT", interval::d3, interval::d1, at("2020-08-14"));
}

TEST(SyntheticCreate, RejectsInvalidSymbolsAndAcceptsUnknownValidOnes) {
  EXPECT_FALSE(synthetic_market::create({1, {"btc-usdt"}, 64}));
  auto m = synthetic_market::create({1, {"FOOUSDT"}, 64}).value();
  ASSERT_EQ(m->symbols().size(), 1u);
  EXPECT_EQ(m->symbols()[0].base_asset, "FOO");
  timestamp_ms now = at("2020-01-01");
  auto k = m->klines(m->symbols()[0], interval::d1, plan_selection(timestamp_ms{0}, std::nullopt, 5, now), now).value();
  ASSERT_EQ(k.size(), 5u);
  EXPECT_EQ(k.open_time(0), at("2019-01-01"));
}

}  // namespace
}  // namespace atb::sim
