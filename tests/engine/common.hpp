#pragma once
// Test data for the engine: random walks of integer mantissas, hand-made series, real
// klines from ../shared/data (tests skip when it is absent).
#include "atb/core/kline_csv.hpp"
#include "atb/engine/backtest.hpp"
#include "atb/engine/strategy.hpp"
#include "reference.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>

namespace etest {

using atb::engine::bar_series;

/// Random OHLC bars (1h), closes are integer mantissas; `flat_every` inserts runs of equal
/// closes so that SMA ties happen.
inline bar_series random_bars(std::size_t n, std::uint32_t seed, bool with_flats = true) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> step(0.0, 0.01);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  bar_series b;
  b.interval = atb::interval::h1;
  b.price_scale = 1e-8;
  double px = 3e12;  // 30000.00000000
  std::int64_t t = 1'600'000'000'000 / 3'600'000 * 3'600'000;
  for (std::size_t i = 0; i < n; ++i) {
    double const o = std::round(px * (1 + step(rng) * 0.1));
    bool const flat = with_flats && (i / 37) % 5 == 0;
    double c = flat ? o : std::round(o * (1 + step(rng)));
    if (flat && !b.close.empty()) c = b.close.back();
    double const h = std::round(std::max(o, c) * (1 + std::abs(step(rng)) * 0.5));
    double const l = std::round(std::min(o, c) * (1 - std::abs(step(rng)) * 0.5));
    b.open.push_back(o);
    b.high.push_back(h);
    b.low.push_back(l);
    b.close.push_back(c);
    b.open_time.push_back(t);
    b.close_time.push_back(t + 3'600'000 - 1);
    t += 3'600'000;
    px = c;
    (void)u;
  }
  return b;
}

/// Hand-made bars (prices as given, price_scale 1), 1d interval.
inline bar_series make_bars(std::vector<double> o, std::vector<double> h, std::vector<double> l, std::vector<double> c) {
  bar_series b;
  b.interval = atb::interval::d1;
  for (std::size_t i = 0; i < c.size(); ++i) {
    b.open.push_back(o[i]);
    b.high.push_back(h[i]);
    b.low.push_back(l[i]);
    b.close.push_back(c[i]);
    b.open_time.push_back(static_cast<std::int64_t>(i) * 86'400'000);
    b.close_time.push_back(static_cast<std::int64_t>(i + 1) * 86'400'000 - 1);
  }
  return b;
}

/// Real klines from ../shared/data/klines/<name>.csv, or nullopt when absent.
inline std::optional<bar_series> real_bars(std::string const& name, atb::interval iv) {
  std::filesystem::path const p = std::filesystem::path(ATB_SHARED_DATA_DIR) / "klines" / (name + ".csv");
  std::ifstream in(p);
  if (!in) return std::nullopt;
  atb::kline_columns k;
  std::string line;
  while (std::getline(in, line)) {
    auto r = atb::parse_kline_csv_line(line, k);
    if (!r) throw std::runtime_error(r.error().message);
  }
  return atb::engine::to_bar_series(k, iv);
}

inline std::vector<std::int64_t> mantissas(bar_series const& b) {
  std::vector<std::int64_t> m;
  for (double c : b.close) m.push_back(static_cast<std::int64_t>(c));
  return m;
}

inline void expect_close(double a, double b, char const* what) {
  if (std::isinf(a) || std::isinf(b)) {
    EXPECT_EQ(a, b) << what;
    return;
  }
  double const tol = 1e-9 * std::max(std::abs(a), std::abs(b)) + 1e-12;
  EXPECT_NEAR(a, b, tol) << what;
}

inline void expect_same(atb::engine::metrics const& m, std::vector<atb::engine::trade> const* trades, ref::out const& r,
                        std::size_t n) {
  EXPECT_EQ(m.bars, n);
  EXPECT_EQ(m.trades, r.trades.size());
  if (trades) {
    EXPECT_EQ(trades->size(), r.trades.size());
    for (std::size_t i = 0; i < std::min(trades->size(), r.trades.size()); ++i) {
      auto const& a = (*trades)[i];
      auto const& e = r.trades[i];
      ASSERT_EQ(a.entry_bar, e.entry_bar) << "trade " << i;
      ASSERT_EQ(a.exit_bar, e.exit_bar) << "trade " << i;
      ASSERT_EQ(a.side, e.side) << "trade " << i;
      ASSERT_EQ(std::string(atb::engine::to_string(a.reason)), e.reason) << "trade " << i;
      expect_close(a.pnl, e.pnl, "trade pnl");
    }
  }
  expect_close(m.total_return, r.total_return, "total_return");
  expect_close(m.annualized_return, r.annualized_return, "annualized_return");
  expect_close(m.volatility, r.volatility, "volatility");
  expect_close(m.sharpe, r.sharpe, "sharpe");
  expect_close(m.sortino, r.sortino, "sortino");
  expect_close(m.max_drawdown, r.max_drawdown, "max_drawdown");
  expect_close(m.calmar, r.calmar, "calmar");
  expect_close(m.win_rate, r.win_rate, "win_rate");
  expect_close(m.profit_factor, r.profit_factor, "profit_factor");
  expect_close(m.exposure, r.exposure, "exposure");
  expect_close(m.final_equity, r.final_equity, "final_equity");
  expect_close(m.buy_and_hold_return, r.buy_and_hold_return, "buy_and_hold_return");
}

}  // namespace etest
