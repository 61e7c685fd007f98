// Binance's klines selection rules, on the pure planner and on the synthetic market.
#include "atb/sim/synthetic_market.hpp"

#include <gtest/gtest.h>

namespace atb::sim {
namespace {

timestamp_ms at(std::string_view iso) { return parse_instant(iso).value(); }

TEST(PlanSelection, StartOnlyTakesOldestFromStart) {
  auto q = plan_selection(at("2020-01-01"), std::nullopt, 10, at("2024-01-01"));
  EXPECT_EQ(q.from, at("2020-01-01"));
  EXPECT_EQ(q.to, at("2024-01-01"));
  EXPECT_FALSE(q.newest);
  EXPECT_EQ(q.limit, 10u);
}

TEST(PlanSelection, EndOnlyTakesNewestUpToEnd) {
  auto q = plan_selection(std::nullopt, at("2020-01-01"), 7, at("2024-01-01"));
  EXPECT_EQ(q.to, at("2020-01-01"));
  EXPECT_TRUE(q.newest);
  EXPECT_LT(q.from, at("1970-01-01"));
}

TEST(PlanSelection, BothTakesOldestCappedAtEndAndNeverBeyondNow) {
  auto q = plan_selection(at("2020-01-01"), at("2030-01-01"), 5, at("2024-01-01"));
  EXPECT_EQ(q.from, at("2020-01-01"));
  EXPECT_EQ(q.to, at("2024-01-01"));
  EXPECT_FALSE(q.newest);
}

TEST(PlanSelection, NeitherTakesNewest) {
  auto q = plan_selection(std::nullopt, std::nullopt, 500, at("2024-01-01"));
  EXPECT_TRUE(q.newest);
  EXPECT_EQ(q.to, at("2024-01-01"));
}

class SyntheticSelection : public ::testing::Test {
 protected:
  void SetUp() override {
    m_ = synthetic_market::create({3, {"BTCUSDT", "SOLUSDT"}, 4096}).value();
    btc_ = m_->find("BTCUSDT");
    ASSERT_NE(btc_, nullptr);
  }
  kline_columns get(interval iv, std::optional<timestamp_ms> s, std::optional<timestamp_ms> e, std::size_t limit) {
    return m_->klines(*btc_, iv, plan_selection(s, e, limit, now_), now_).value();
  }
  std::unique_ptr<synthetic_market> m_;
  symbol_info const* btc_ = nullptr;
  timestamp_ms now_ = at("2024-03-01T12:30:00Z");
};

TEST_F(SyntheticSelection, StartTimeZeroGivesTheListingCandle) {
  auto d = get(interval::d1, timestamp_ms{0}, std::nullopt, 1);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d.open_time(0), at("2017-08-17"));
  auto h = get(interval::h1, timestamp_ms{0}, std::nullopt, 2);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h.open_time(0), at("2017-08-17T04:00:00Z"));  // first trade at 04:00
  EXPECT_EQ(h.open_time(1), at("2017-08-17T05:00:00Z"));
  auto mo = get(interval::mo1, timestamp_ms{0}, std::nullopt, 1);
  EXPECT_EQ(mo.open_time(0), at("2017-08-01"));  // calendar month containing the listing
  auto w = get(interval::w1, timestamp_ms{0}, std::nullopt, 1);
  EXPECT_EQ(w.open_time(0), at("2017-08-14"));  // a Monday
  auto sol = m_->klines(*m_->find("SOLUSDT"), interval::d1, plan_selection(timestamp_ms{0}, std::nullopt, 1, now_), now_)
                 .value();
  EXPECT_EQ(sol.open_time(0), at("2020-08-11"));
}

TEST_F(SyntheticSelection, StartOnlyReturnsOldestFromStartAscending) {
  auto k = get(interval::h1, at("2021-06-01T00:30:00Z"), std::nullopt, 5);
  ASSERT_EQ(k.size(), 5u);
  EXPECT_EQ(k.open_time(0), at("2021-06-01T01:00:00Z"));  // open >= startTime
  for (std::size_t i = 1; i < k.size(); ++i) EXPECT_GT(k.open_time(i), k.open_time(i - 1));
}

TEST_F(SyntheticSelection, EndOnlyReturnsNewestUpToEnd) {
  auto k = get(interval::h1, std::nullopt, at("2021-06-01T00:00:00Z"), 4);
  ASSERT_EQ(k.size(), 4u);
  EXPECT_EQ(k.open_time(3), at("2021-06-01T00:00:00Z"));  // open <= endTime, inclusive
  EXPECT_LT(k.open_time(0), k.open_time(3));
}

TEST_F(SyntheticSelection, BothIsInclusiveAndLimited) {
  auto k = get(interval::h1, at("2021-06-01T00:00:00Z"), at("2021-06-01T03:00:00Z"), 1000);
  ASSERT_EQ(k.size(), 4u);
  EXPECT_EQ(k.open_time(0), at("2021-06-01T00:00:00Z"));
  EXPECT_EQ(k.open_time(3), at("2021-06-01T03:00:00Z"));
  auto l = get(interval::h1, at("2021-06-01T00:00:00Z"), at("2021-06-01T03:00:00Z"), 2);
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l.open_time(1), at("2021-06-01T01:00:00Z"));  // oldest first, not newest
}

TEST_F(SyntheticSelection, NeitherEndsWithTheCandleInProgress) {
  auto k = get(interval::h1, std::nullopt, std::nullopt, 3);
  ASSERT_EQ(k.size(), 3u);
  EXPECT_EQ(k.open_time(2), at("2024-03-01T12:00:00Z"));
  EXPECT_GE(k.close_time(2), now_);  // still in progress
  EXPECT_LT(k.close_time(1), now_);
  // Later, the same candle is complete: same open, at least as much volume.
  timestamp_ms later = at("2024-03-01T14:00:00Z");
  auto done = m_->klines(*btc_, interval::h1, plan_selection(at("2024-03-01T12:00:00Z"), std::nullopt, 1, later), later)
                  .value();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[field::open][0], k[field::open][2]);
  EXPECT_LT(k[field::volume][2], done[field::volume][0]);
  EXPECT_LE(done[field::low][0], k[field::low][2]);
}

TEST_F(SyntheticSelection, WindowOutsideTheHistoryIsEmpty) {
  EXPECT_TRUE(get(interval::h1, std::nullopt, at("2017-08-17T03:59:59Z"), 10).empty());
  EXPECT_TRUE(get(interval::h1, at("2010-01-01"), at("2017-08-17T03:00:00Z"), 10).empty());
  EXPECT_TRUE(get(interval::h1, at("2024-03-02"), std::nullopt, 10).empty());  // after now
  EXPECT_TRUE(get(interval::d1, at("2030-01-01"), at("2031-01-01"), 10).empty());
}

TEST_F(SyntheticSelection, LimitCapsEveryRule) {
  EXPECT_EQ(get(interval::m1, timestamp_ms{0}, std::nullopt, 1000).size(), 1000u);
  EXPECT_EQ(get(interval::s1, std::nullopt, std::nullopt, 1000).size(), 1000u);
  // 3d candles are anchored on the listing day: the whole history is fewer than 1000.
  auto const days = (now_.ms - at("2017-08-17").ms) / ms_per_day;
  auto d3 = get(interval::d3, std::nullopt, std::nullopt, 1000);
  EXPECT_EQ(d3.size(), static_cast<std::size_t>(days / 3 + 1));
  EXPECT_EQ(d3.open_time(0), at("2017-08-17"));
}

}  // namespace
}  // namespace atb::sim
