// Each execution rule on a small hand-made series with hand-computed expectations.
#include "common.hpp"

namespace {

using namespace atb::engine;
using etest::make_bars;

std::vector<std::int8_t> tg(std::initializer_list<int> v) {
  std::vector<std::int8_t> t;
  for (int x : v) t.push_back(static_cast<std::int8_t>(x));
  return t;
}

// open 100, 101, …; close = open + 0.5; wide highs/lows that never trigger 50% stops.
bar_series ramp(std::size_t n) {
  std::vector<double> o, h, l, c;
  for (std::size_t i = 0; i < n; ++i) {
    double const v = 100.0 + static_cast<double>(i);
    o.push_back(v);
    c.push_back(v + 0.5);
    h.push_back(v + 1);
    l.push_back(v - 1);
  }
  return make_bars(o, h, l, c);
}

TEST(EngineRules, SignalAtCloseFillsAtNextOpen) {
  auto const b = ramp(5);
  exec_options o;
  o.fee = 0;
  auto const r = simulate(b, tg({0, 1, 1, 0, 0}), o, true);
  ASSERT_EQ(r.trades.size(), 1u);
  EXPECT_EQ(r.trades[0].entry_bar, 2u);  // signal at bar 1's close -> bar 2's open
  EXPECT_EQ(r.trades[0].exit_bar, 4u);
  EXPECT_DOUBLE_EQ(r.trades[0].entry_price, 102.0);
  EXPECT_DOUBLE_EQ(r.trades[0].exit_price, 104.0);
  EXPECT_DOUBLE_EQ(r.m.final_equity, 10000.0 * 104.0 / 102.0);
  // equity marked at each close: flat, flat, long at close 102.5, long at 103.5, cash after the sale
  EXPECT_DOUBLE_EQ(r.equity[1], 10000.0);
  EXPECT_DOUBLE_EQ(r.equity[2], 10000.0 / 102.0 * 102.5);
  EXPECT_DOUBLE_EQ(r.equity[3], 10000.0 / 102.0 * 103.5);
  EXPECT_DOUBLE_EQ(r.equity[4], 10000.0 * 104.0 / 102.0);
  EXPECT_DOUBLE_EQ(r.m.exposure, 2.0 / 5.0);
}

TEST(EngineRules, FeeOnBothSides) {
  auto const b = ramp(5);
  exec_options o;
  o.fee = 0.01;
  auto const r = simulate(b, tg({0, 1, 1, 0, 0}), o);
  double const qty = 10000.0 / (102.0 * 1.01);
  EXPECT_DOUBLE_EQ(r.trades.at(0).quantity, qty);
  EXPECT_DOUBLE_EQ(r.m.final_equity, qty * 104.0 * 0.99);
  EXPECT_DOUBLE_EQ(r.m.total_return, qty * 104.0 * 0.99 / 10000.0 - 1.0);
}

TEST(EngineRules, SlippageMovesBuysUpAndSellsDown) {
  auto const b = ramp(5);
  exec_options o;
  o.fee = 0;
  o.slippage_bps = 50;
  auto const r = simulate(b, tg({0, 1, 1, 0, 0}), o);
  EXPECT_DOUBLE_EQ(r.trades.at(0).entry_price, 102.0 * 1.005);
  EXPECT_DOUBLE_EQ(r.trades.at(0).exit_price, 104.0 * 0.995);
  EXPECT_DOUBLE_EQ(r.m.final_equity, 10000.0 / (102.0 * 1.005) * 104.0 * 0.995);
}

TEST(EngineRules, OpenPositionIsSoldAtLastCloseWithFee) {
  auto const b = ramp(4);
  exec_options o;  // fee 0.001
  auto const r = simulate(b, tg({1, 1, 1, 1}), o);
  ASSERT_EQ(r.m.trades, 1u);
  EXPECT_EQ(r.trades[0].reason, exit_reason::end_of_data);
  EXPECT_EQ(r.trades[0].entry_bar, 1u);
  EXPECT_EQ(r.trades[0].exit_bar, 3u);
  double const qty = 10000.0 / (101.0 * 1.001);
  EXPECT_DOUBLE_EQ(r.m.final_equity, qty * 103.5 * 0.999);
  EXPECT_DOUBLE_EQ(r.m.win_rate, 1.0);
  EXPECT_TRUE(std::isinf(r.m.profit_factor));
}

TEST(EngineRules, StopLossWinsWhenBothTouched) {
  // Entry at bar 1's open (100); bar 2 touches both 95 (stop 5%) and 110 (take 10%).
  auto const b = make_bars({100, 100, 101, 101}, {101, 102, 111, 102}, {99, 99, 94, 100}, {100, 101, 100, 101});
  exec_options o;
  o.fee = 0;
  o.stop_loss = 0.05;
  o.take_profit = 0.10;
  auto const r = simulate(b, tg({1, 1, 1, 1}), o);
  ASSERT_GE(r.trades.size(), 1u);
  EXPECT_EQ(r.trades[0].reason, exit_reason::stop_loss);
  EXPECT_EQ(r.trades[0].exit_bar, 2u);
  EXPECT_DOUBLE_EQ(r.trades[0].exit_price, 95.0);
  // The stopped long is not re-entered while the strategy keeps wanting long.
  EXPECT_EQ(r.trades.size(), 1u);
  EXPECT_DOUBLE_EQ(r.m.final_equity, 10000.0 * 0.95);
}

TEST(EngineRules, TakeProfitAlone) {
  auto const b = make_bars({100, 100, 101, 101}, {101, 102, 111, 102}, {99, 99, 96, 100}, {100, 101, 100, 101});
  exec_options o;
  o.fee = 0;
  o.stop_loss = 0.05;
  o.take_profit = 0.10;
  auto const r = simulate(b, tg({1, 1, 1, 1}), o);
  ASSERT_EQ(r.trades.size(), 1u);
  EXPECT_EQ(r.trades[0].reason, exit_reason::take_profit);
  EXPECT_DOUBLE_EQ(r.trades[0].exit_price, 110.0);
}

TEST(EngineRules, StopCheckedOnTheEntryBar) {
  // Entry at bar 1's open 100; that same bar's low (90) breaks the 5% stop.
  auto const b = make_bars({100, 100, 98, 99}, {101, 101, 99, 100}, {99, 90, 97, 98}, {100, 97, 98, 99});
  exec_options o;
  o.fee = 0;
  o.stop_loss = 0.05;
  auto const r = simulate(b, tg({1, 1, 1, 1}), o);
  ASSERT_EQ(r.trades.size(), 1u);
  EXPECT_EQ(r.trades[0].entry_bar, 1u);
  EXPECT_EQ(r.trades[0].exit_bar, 1u);
  EXPECT_DOUBLE_EQ(r.trades[0].exit_price, 95.0);
}

TEST(EngineRules, StopGapFillsAtTheOpen) {
  // Long from bar 1 at 100; bar 2 opens at 90, below the 95 stop: filled at 90.
  auto const b = make_bars({100, 100, 90, 91}, {101, 101, 92, 92}, {99, 99, 89, 90}, {100, 100, 91, 91});
  exec_options o;
  o.fee = 0;
  o.stop_loss = 0.05;
  auto const r = simulate(b, tg({1, 1, 1, 1}), o);
  ASSERT_EQ(r.trades.size(), 1u);
  EXPECT_DOUBLE_EQ(r.trades[0].exit_price, 90.0);
}

TEST(EngineRules, ReentryAfterStopNeedsNewSignal) {
  auto const b = make_bars({100, 100, 96, 96, 97, 98}, {101, 101, 97, 97, 98, 99}, {99, 94, 95, 95, 96, 97},
                           {100, 96, 96, 96, 97, 98});
  exec_options o;
  o.fee = 0;
  o.stop_loss = 0.05;
  // long, long (stopped in bar 1), flat at bar 2's close, long again -> entry at bar 4's open
  auto const r = simulate(b, tg({1, 1, 0, 1, 1, 1}), o);
  ASSERT_EQ(r.trades.size(), 2u);
  EXPECT_EQ(r.trades[0].reason, exit_reason::stop_loss);
  EXPECT_EQ(r.trades[1].entry_bar, 4u);
  EXPECT_EQ(r.trades[1].reason, exit_reason::end_of_data);
}

TEST(EngineRules, ShortsOnlyWhenAllowed) {
  auto const b = ramp(5);
  exec_options o;
  o.fee = 0;
  auto const flat = simulate(b, tg({-1, -1, -1, -1, -1}), o);
  EXPECT_EQ(flat.trades.size(), 0u);
  EXPECT_DOUBLE_EQ(flat.m.final_equity, 10000.0);
  o.allow_short = true;
  auto const r = simulate(b, tg({-1, -1, -1, -1, -1}), o);
  ASSERT_EQ(r.trades.size(), 1u);
  EXPECT_EQ(r.trades[0].side, -1);
  double const qty = 10000.0 / 101.0;  // sold at 101, bought back at the last close 104.5
  EXPECT_DOUBLE_EQ(r.m.final_equity, 10000.0 + qty * 101.0 - qty * 104.5);
}

TEST(EngineRules, DrawdownIncludesFinalSale) {
  // Flat prices: the only loss is the fee of the closing sale.
  auto const b = make_bars({100, 100, 100}, {100, 100, 100}, {100, 100, 100}, {100, 100, 100});
  exec_options o;
  o.fee = 0.01;
  auto const r = simulate(b, tg({1, 1, 1}), o);
  double const fin = 10000.0 / 1.01 * 0.99;
  EXPECT_DOUBLE_EQ(r.m.final_equity, fin);
  EXPECT_DOUBLE_EQ(r.m.max_drawdown, 1.0 - fin / 10000.0);
  EXPECT_DOUBLE_EQ(r.m.win_rate, 0.0);
  EXPECT_DOUBLE_EQ(r.m.profit_factor, 0.0);
}

TEST(EngineRules, MetricDefinitions) {
  auto const b = ramp(6);
  exec_options o;
  o.fee = 0;
  auto const r = simulate(b, tg({0, 1, 0, 1, 0, 0}), o, true);
  // two round trips: 102->103 (win) and 104->105 (win)
  ASSERT_EQ(r.m.trades, 2u);
  EXPECT_DOUBLE_EQ(r.m.win_rate, 1.0);
  double const span = 6.0 * 86'400'000.0;
  double const tr = r.m.final_equity / 10000.0 - 1;
  EXPECT_DOUBLE_EQ(r.m.annualized_return, std::pow(1 + tr, 365.25 * 86'400'000.0 / span) - 1);
  EXPECT_DOUBLE_EQ(r.m.buy_and_hold_return, 105.5 / 100.0 - 1);
  // per-bar returns of the marked equity, sample standard deviation, annualised by 365.25 bars (1d)
  std::vector<double> rs;
  for (std::size_t i = 1; i < 6; ++i) rs.push_back(r.equity[i] / r.equity[i - 1] - 1);
  double mean = 0;
  for (double x : rs) mean += x;
  mean /= 5;
  double v = 0;
  for (double x : rs) v += (x - mean) * (x - mean);
  double const sd = std::sqrt(v / 4);
  EXPECT_NEAR(r.m.volatility, sd * std::sqrt(365.25), 1e-12);
  EXPECT_NEAR(r.m.sharpe, mean / sd * std::sqrt(365.25), 1e-9);
  EXPECT_NEAR(r.m.exposure, 2.0 / 6.0, 1e-15);
}

TEST(EngineRules, SmaCrossRuleExactlyAsWritten) {
  // fast=2, slow=3. i=2: SMA2=(2+3)/2=2.5 > SMA3=2 -> long; i=3: closes 3,3 vs 2,3,3: 3 > 2.67;
  // i=4: flat market (3,3,3): equal -> not long (strict).
  std::vector<double> c{1, 2, 3, 3, 3, 3, 2};
  auto const b = make_bars(c, c, c, c);
  auto p = default_params(strategy_id::sma_cross);
  p.values[0] = 2;
  p.values[1] = 3;
  std::vector<std::int8_t> t(c.size());
  compute_targets(p, b, false, t);
  EXPECT_EQ(t, tg({0, 0, 1, 1, 0, 0, 0}));
  compute_targets(p, b, true, t);
  EXPECT_EQ(t, tg({0, 0, 1, 1, 0, 0, -1}));
}

}  // namespace
