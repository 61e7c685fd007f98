#pragma once
// A plain scalar reference of the backtest rules (docs/BACKTEST.md) and strategies
// (docs/STRATEGIES.md), written independently of src/engine: one bar at a time, simple
// loops, full equity curve, metrics from their textbook definitions. Slow on purpose.
#include "atb/engine/bars.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace ref {

__extension__ typedef __int128 i128;  // exact sums of mantissas times window lengths

struct opts {
  double capital = 10000, fee = 0.001, slip_bps = 0;
  double sl = -1, tp = -1;  // < 0: off
  bool shorts = false;
};

struct trade {
  std::size_t entry_bar, exit_bar;
  int side;
  double pnl;
  std::string reason;
};

struct out {
  std::vector<trade> trades;
  std::vector<double> equity;
  double total_return, annualized_return, volatility, sharpe, sortino, max_drawdown, calmar, win_rate,
      profit_factor, exposure, final_equity, buy_and_hold_return;
};

// ---- strategies --------------------------------------------------------------------

// Exact: SMA(f) > SMA(s) <=> sum_f * s > sum_s * f, in 128-bit integers on the mantissas.
inline std::vector<int> sma_cross(std::vector<std::int64_t> const& closes, std::size_t f, std::size_t s, bool shorts) {
  std::vector<int> t(closes.size(), 0);
  for (std::size_t i = 0; i < closes.size(); ++i) {
    if (i + 1 < s) continue;
    i128 sf = 0, ss = 0;
    for (std::size_t k = i + 1 - f; k <= i; ++k) sf += closes[k];
    for (std::size_t k = i + 1 - s; k <= i; ++k) ss += closes[k];
    i128 const a = sf * static_cast<i128>(s), b = ss * static_cast<i128>(f);
    t[i] = a > b ? 1 : (shorts && a < b ? -1 : 0);
  }
  return t;
}

inline std::vector<int> ema_cross(std::vector<double> const& c, std::size_t f, std::size_t s, bool shorts) {
  std::vector<int> t(c.size(), 0);
  std::vector<double> ef(c.size()), es(c.size());
  double const af = 2.0 / (double(f) + 1.0), as = 2.0 / (double(s) + 1.0);
  for (std::size_t i = 0; i < c.size(); ++i) {
    ef[i] = i == 0 ? c[0] : ef[i - 1] + af * (c[i] - ef[i - 1]);
    es[i] = i == 0 ? c[0] : es[i - 1] + as * (c[i] - es[i - 1]);
    if (i + 1 >= s) t[i] = ef[i] > es[i] ? 1 : (shorts && ef[i] < es[i] ? -1 : 0);
  }
  return t;
}

inline std::vector<int> rsi_reversion(std::vector<double> const& c, std::size_t n, double lo, double hi, bool shorts) {
  std::vector<double> rsi(c.size(), std::numeric_limits<double>::quiet_NaN());
  double ag = 0, al = 0;
  for (std::size_t i = 1; i < c.size(); ++i) {
    double const d = c[i] - c[i - 1];
    double const g = std::max(d, 0.0), l = std::max(-d, 0.0);
    if (i < n) { ag += g; al += l; continue; }
    if (i == n) { ag = (ag + g) / double(n); al = (al + l) / double(n); }
    else { ag = (ag * double(n - 1) + g) / double(n); al = (al * double(n - 1) + l) / double(n); }
    rsi[i] = al == 0 ? (ag == 0 ? 50.0 : 100.0) : 100.0 - 100.0 / (1.0 + ag / al);
  }
  std::vector<int> t(c.size(), 0);
  int st = 0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (!std::isnan(rsi[i])) {
      if (rsi[i] < lo) st = 1;
      else if (rsi[i] > hi) st = shorts ? -1 : 0;
    }
    t[i] = st;
  }
  return t;
}

inline std::vector<int> bollinger(std::vector<double> const& c, std::size_t n, double k, bool shorts) {
  std::vector<int> t(c.size(), 0);
  int st = 0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (i + 1 >= n) {
      double m = 0;
      for (std::size_t j = i + 1 - n; j <= i; ++j) m += c[j];
      m /= double(n);
      double v = 0;
      for (std::size_t j = i + 1 - n; j <= i; ++j) v += (c[j] - m) * (c[j] - m);
      double const sd = std::sqrt(v / double(n));
      if (c[i] > m + k * sd) st = 1;
      else if (c[i] < m - k * sd) st = shorts ? -1 : 0;
      else if (st == 1 && c[i] < m) st = 0;
      else if (st == -1 && c[i] > m) st = 0;
    }
    t[i] = st;
  }
  return t;
}

inline std::vector<int> ml_basic(std::vector<double> const& c, std::size_t lags, double lr, double l2, std::size_t warmup,
                                 double thr, bool shorts) {
  std::size_t const nf = lags + 2, start = std::max<std::size_t>(lags, 19);
  auto feat = [&](std::size_t i) {
    std::vector<double> x(nf);
    x[0] = 1.0;
    for (std::size_t l = 0; l < lags; ++l) x[1 + l] = std::clamp((c[i - l] / c[i - l - 1] - 1.0) * 100.0, -10.0, 10.0);
    double s = 0;
    for (std::size_t j = i - 19; j <= i; ++j) s += c[j];
    x[1 + lags] = std::clamp((c[i] / (s / 20.0) - 1.0) * 100.0, -10.0, 10.0);
    return x;
  };
  std::vector<double> w(nf, 0.0);
  auto p = [&](std::vector<double> const& x) {
    double z = 0;
    for (std::size_t k = 0; k < nf; ++k) z += w[k] * x[k];
    return 1.0 / (1.0 + std::exp(-z));
  };
  std::vector<int> t(c.size(), 0);
  for (std::size_t i = start; i < c.size(); ++i) {
    if (i > start) {
      auto const xp = feat(i - 1);
      double const y = c[i] > c[i - 1] ? 1.0 : 0.0;
      double const g = p(xp) - y;
      for (std::size_t k = 0; k < nf; ++k) w[k] -= lr * (g * xp[k] + l2 * w[k]);
    }
    if (i >= warmup) {
      double const pu = p(feat(i));
      t[i] = pu > thr ? 1 : (shorts && pu < 1.0 - thr ? -1 : 0);
    }
  }
  return t;
}

// ---- execution ----------------------------------------------------------------------

inline out run(atb::engine::bar_series const& b, std::vector<int> const& target, opts const& o) {
  out r{};
  std::size_t const n = b.size();
  double const up = 1 + o.slip_bps / 10000.0, down = 1 - o.slip_bps / 10000.0;
  double cash = o.capital, qty = 0, entry = 0, cost = 0;
  int pos = 0, stopped = 0;
  std::size_t ebar = 0, exposed = 0;
  auto enter = [&](int side, double px, std::size_t j) {
    cost = cash;
    entry = side > 0 ? px * up : px * down;
    qty = cash / (entry * (1 + o.fee));
    if (side > 0) cash = 0;
    else cash = cash + qty * entry * (1 - o.fee);
    pos = side;
    ebar = j;
  };
  auto leave = [&](double px, std::size_t j, char const* why) {
    if (pos > 0) cash = cash + qty * (px * down) * (1 - o.fee);
    else cash = cash - qty * (px * up) * (1 + o.fee);
    r.trades.push_back({ebar, j, pos, cash - cost, why});
    pos = 0;
    qty = 0;
  };
  for (std::size_t j = 0; j < n; ++j) {
    int want = j == 0 ? 0 : target[j - 1];
    if (want < 0 && !o.shorts) want = 0;
    if (stopped && want == stopped) want = 0;  // a stopped side waits for the signal to change
    else stopped = 0;
    if (want != pos) {
      if (pos) leave(b.open[j], j, "signal");
      if (want) enter(want, b.open[j], j);
    }
    if (pos) ++exposed;
    if (pos == 1) {
      if (o.sl >= 0 && b.low[j] <= entry * (1 - o.sl)) { stopped = 1; leave(std::min(b.open[j], entry * (1 - o.sl)), j, "stop_loss"); }
      else if (o.tp >= 0 && b.high[j] >= entry * (1 + o.tp)) { stopped = 1; leave(std::max(b.open[j], entry * (1 + o.tp)), j, "take_profit"); }
    } else if (pos == -1) {
      if (o.sl >= 0 && b.high[j] >= entry * (1 + o.sl)) { stopped = -1; leave(std::max(b.open[j], entry * (1 + o.sl)), j, "stop_loss"); }
      else if (o.tp >= 0 && b.low[j] <= entry * (1 - o.tp)) { stopped = -1; leave(std::min(b.open[j], entry * (1 - o.tp)), j, "take_profit"); }
    }
    r.equity.push_back(pos == 0 ? cash : (pos > 0 ? qty * b.close[j] : cash - qty * b.close[j]));
  }
  if (pos) leave(b.close[n - 1], n - 1, "end_of_data");
  r.final_equity = cash;
  r.total_return = cash / o.capital - 1;
  double const span = double(b.close_time[n - 1] + 1 - b.open_time[0]);
  double const year = 365.25 * 86400000.0;
  // documented: equity wiped out (possible with shorts) annualises to -100%
  r.annualized_return = 1 + r.total_return > 0 ? std::pow(1 + r.total_return, year / span) - 1 : -1.0;
  std::vector<double> rets;
  for (std::size_t j = 1; j < n; ++j) rets.push_back(r.equity[j] / r.equity[j - 1] - 1);
  double const bpy = year / double(atb::nominal_ms(b.interval));
  double mean = 0;
  for (double x : rets) mean += x;
  mean /= double(rets.size());
  double var = 0, down2 = 0;
  for (double x : rets) {
    var += (x - mean) * (x - mean);
    if (x < 0) down2 += x * x;
  }
  double const sd = std::sqrt(var / double(rets.size() - 1));
  double const dd = std::sqrt(down2 / double(rets.size()));
  r.volatility = sd * std::sqrt(bpy);
  r.sharpe = sd > 0 ? mean / sd * std::sqrt(bpy) : 0;
  r.sortino = dd > 0 ? mean / dd * std::sqrt(bpy) : 0;
  double peak = r.equity[0], mdd = 0;
  for (double e : r.equity) { peak = std::max(peak, e); mdd = std::max(mdd, 1 - e / peak); }
  peak = std::max(peak, cash);
  mdd = std::max(mdd, 1 - cash / peak);
  r.max_drawdown = mdd;
  r.calmar = mdd > 0 ? r.annualized_return / mdd : 0;
  double gp = 0, gl = 0;
  std::size_t wins = 0;
  for (auto const& t : r.trades) {
    if (t.pnl > 0) { ++wins; gp += t.pnl; } else gl -= t.pnl;
  }
  r.win_rate = r.trades.empty() ? 0 : double(wins) / double(r.trades.size());
  r.profit_factor = gl > 0 ? gp / gl : (gp > 0 ? std::numeric_limits<double>::infinity() : 0);
  r.exposure = double(exposed) / double(n);
  r.buy_and_hold_return = b.close[n - 1] / b.open[0] - 1;
  return r;
}

}  // namespace ref
