// The reference simulator and metric finishing (rules: docs/BACKTEST.md).
#include "atb/engine/backtest.hpp"
#include "atb/engine/errors.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace atb::engine {

std::string_view to_string(exit_reason r) noexcept {
  switch (r) {
    case exit_reason::signal: return "signal";
    case exit_reason::stop_loss: return "stop_loss";
    case exit_reason::take_profit: return "take_profit";
    case exit_reason::end_of_data: return "end_of_data";
  }
  return "?";
}

// ---- bars ----------------------------------------------------------------------------

void bar_series::slice(std::size_t first, std::size_t last) {
  auto cut = [&](auto& v) {
    if (v.empty()) return;
    std::copy(v.begin() + static_cast<std::ptrdiff_t>(first), v.begin() + static_cast<std::ptrdiff_t>(last), v.begin());
    v.resize(last - first);
  };
  if (last > first && last < size() && !open_time.empty()) last_close_ms = close_time_at(last - 1);
  cut(open_time); cut(close_time); cut(open); cut(high); cut(low); cut(close);
}

std::int64_t bar_series::close_time_at(std::size_t i) const noexcept {
  if (!close_time.empty()) return close_time[i];
  if (i + 1 == size()) return last_close_ms;
  return next_open(interval, timestamp_ms{open_time[i]}).ms - 1;
}

field_mask sma_fields() noexcept {
  return field_mask{field::open_time, field::open, field::close};
}

field_mask backtest_fields() noexcept {
  return field_mask{field::open_time, field::open, field::high, field::low, field::close};
}

bar_series to_bar_series(kline_columns&& k, atb::interval iv) {
  aligned_vector<std::int64_t> ot = std::move(k[field::open_time]), ct = std::move(k[field::close_time]);
  k[field::open_time].clear();
  k[field::close_time].clear();
  bar_series b = to_bar_series(static_cast<kline_columns const&>(k), iv);
  b.open_time = std::move(ot);
  b.close_time = std::move(ct);
  if (!b.close_time.empty()) b.last_close_ms = b.close_time.back();
  return b;
}

bar_series to_bar_series(kline_columns const& k, atb::interval iv) {
  bar_series b;
  b.interval = iv;
  std::size_t const n = k[field::close].size();
  auto conv = [&](field f, aligned_vector<double>& out) {
    auto const& src = k[f];
    if (src.empty() && (f == field::high || f == field::low)) return;
    if (src.size() != n) throw std::invalid_argument("to_bar_series: a price column is missing");
    out.resize(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<double>(src[i]);
  };
  conv(field::open, b.open);
  conv(field::high, b.high);
  conv(field::low, b.low);
  conv(field::close, b.close);
  b.open_time.assign(k[field::open_time].begin(), k[field::open_time].end());
  b.close_time.assign(k[field::close_time].begin(), k[field::close_time].end());
  if (!b.close_time.empty()) b.last_close_ms = b.close_time.back();
  unsigned const sc = k.scale[static_cast<std::size_t>(field::close)];
  b.price_scale = std::pow(10.0, -static_cast<double>(sc));
  return b;
}

double bars_per_year(atb::interval iv) noexcept {
  return 365.25 * static_cast<double>(ms_per_day) / static_cast<double>(nominal_ms(iv));
}

double buy_and_hold_price_return(bar_series const& b) noexcept {
  if (b.empty()) return 0;
  return b.close.back() / b.open.front() - 1.0;
}

std::int64_t span_ms(bar_series const& b) noexcept {
  if (b.empty()) return 0;
  return b.last_close() + 1 - b.open_time.front();
}

// ---- metrics -------------------------------------------------------------------------

metrics finish_metrics(metric_sums const& s, double capital, std::int64_t span, double bpy, double bh) {
  metrics m;
  m.bars = s.bars;
  m.trades = s.trades;
  m.final_equity = s.final_equity;
  m.total_return = s.final_equity / capital - 1.0;
  double const year_ms = 365.25 * static_cast<double>(ms_per_day);
  if (span > 0 && 1.0 + m.total_return > 0)
    m.annualized_return = std::pow(1.0 + m.total_return, year_ms / static_cast<double>(span)) - 1.0;
  else if (span > 0)
    m.annualized_return = -1.0;
  if (s.returns >= 2) {
    double const nr = static_cast<double>(s.returns);
    double const mean = s.sum_r / nr;
    double const var = std::max(0.0, (s.sum_r2 - nr * mean * mean) / (nr - 1.0));
    double const sd = std::sqrt(var);
    m.volatility = sd * std::sqrt(bpy);
    m.sharpe = sd > 0 ? mean / sd * std::sqrt(bpy) : 0.0;
    double const dd = std::sqrt(s.sum_neg2 / nr);
    m.sortino = dd > 0 ? mean / dd * std::sqrt(bpy) : 0.0;
  }
  m.max_drawdown = s.max_drawdown;
  m.calmar = m.max_drawdown > 0 ? m.annualized_return / m.max_drawdown : 0.0;
  m.win_rate = s.trades ? static_cast<double>(s.wins) / static_cast<double>(s.trades) : 0.0;
  if (s.gross_loss > 0) m.profit_factor = s.gross_profit / s.gross_loss;
  else m.profit_factor = s.gross_profit > 0 ? std::numeric_limits<double>::infinity() : 0.0;
  m.exposure = s.bars ? static_cast<double>(s.exposed_bars) / static_cast<double>(s.bars) : 0.0;
  m.buy_and_hold_return = bh;
  return m;
}

// ---- simulator -----------------------------------------------------------------------

namespace {

struct sim_state {
  exec_options const& opt;
  double slip_up, slip_down;  // price multipliers for buys and sells
  double cash;
  double qty = 0;
  int side = 0;
  double entry_price = 0, entry_value = 0;
  std::size_t entry_bar = 0;
  metric_sums sums;
  std::vector<trade>* trades;

  void open_pos(int s, double price, std::size_t bar) {
    entry_value = cash;
    if (s > 0) {
      entry_price = price * slip_up;
      qty = cash / (entry_price * (1.0 + opt.fee));
      cash = 0;
    } else {
      entry_price = price * slip_down;
      qty = cash / (entry_price * (1.0 + opt.fee));
      cash += qty * entry_price * (1.0 - opt.fee);
    }
    side = s;
    entry_bar = bar;
  }
  void close_pos(double price, std::size_t bar, exit_reason why) {
    double exit_price;
    if (side > 0) {
      exit_price = price * slip_down;
      cash += qty * exit_price * (1.0 - opt.fee);
    } else {
      exit_price = price * slip_up;
      cash -= qty * exit_price * (1.0 + opt.fee);
    }
    double const pnl = cash - entry_value;
    ++sums.trades;
    if (pnl > 0) { ++sums.wins; sums.gross_profit += pnl; }
    else sums.gross_loss -= pnl;
    if (trades)
      trades->push_back(trade{entry_bar, bar, side, entry_price, exit_price, qty, entry_value, cash, pnl, why});
    side = 0;
    qty = 0;
  }
};

}  // namespace

backtest_result simulate(bar_series const& b, std::span<std::int8_t const> target, exec_options const& opt,
                         bool keep_equity, bool keep_trades) {
  backtest_result res;
  std::size_t const n = b.size();
  sim_state st{opt, 1.0 + opt.slippage_bps / 1e4, 1.0 - opt.slippage_bps / 1e4, opt.capital, 0.0, 0, 0.0, 0.0, 0, {}, nullptr};
  st.trades = keep_trades ? &res.trades : nullptr;
  if (keep_equity) res.equity.resize(n);
  double const sl = opt.stop_loss.value_or(0), tp = opt.take_profit.value_or(0);
  bool const has_sl = opt.stop_loss.has_value(), has_tp = opt.take_profit.has_value();
  if ((has_sl || has_tp) && (b.high.size() != n || b.low.size() != n))
    throw std::invalid_argument("simulate: stop-loss/take-profit need the high and low columns");
  int blocked = 0;  // side closed by a stop/take-profit: not re-entered until the target changes
  double prev_e = opt.capital, peak = opt.capital, mdd = 0;
  for (std::size_t j = 0; j < n; ++j) {
    int want = j > 0 ? target[j - 1] : 0;
    if (!opt.allow_short && want < 0) want = 0;
    if (blocked != 0 && want != blocked) blocked = 0;
    if (blocked != 0) want = 0;
    if (want != st.side) {
      if (st.side != 0) st.close_pos(b.open[j], j, exit_reason::signal);
      if (want != 0) st.open_pos(want, b.open[j], j);
    }
    if (st.side != 0) ++st.sums.exposed_bars;
    if (st.side > 0 && (has_sl || has_tp)) {
      double const slp = st.entry_price * (1.0 - sl), tpp = st.entry_price * (1.0 + tp);
      if (has_sl && b.low[j] <= slp) {
        blocked = 1;
        st.close_pos(std::min(b.open[j], slp), j, exit_reason::stop_loss);
      } else if (has_tp && b.high[j] >= tpp) {
        blocked = 1;
        st.close_pos(std::max(b.open[j], tpp), j, exit_reason::take_profit);
      }
    } else if (st.side < 0 && (has_sl || has_tp)) {
      double const slp = st.entry_price * (1.0 + sl), tpp = st.entry_price * (1.0 - tp);
      if (has_sl && b.high[j] >= slp) {
        blocked = -1;
        st.close_pos(std::max(b.open[j], slp), j, exit_reason::stop_loss);
      } else if (has_tp && b.low[j] <= tpp) {
        blocked = -1;
        st.close_pos(std::min(b.open[j], tpp), j, exit_reason::take_profit);
      }
    }
    double const e = st.cash + static_cast<double>(st.side) * st.qty * b.close[j];
    if (keep_equity) res.equity[j] = e;
    if (j > 0) {
      double const r = e / prev_e - 1.0;
      st.sums.sum_r += r;
      st.sums.sum_r2 += r * r;
      double const neg = r < 0 ? r : 0.0;
      st.sums.sum_neg2 += neg * neg;
      ++st.sums.returns;
    }
    prev_e = e;
    peak = std::max(peak, e);
    mdd = std::max(mdd, 1.0 - e / peak);
  }
  if (st.side != 0 && n > 0) st.close_pos(b.close[n - 1], n - 1, exit_reason::end_of_data);
  double const fin = st.cash;
  peak = std::max(peak, fin);
  mdd = std::max(mdd, 1.0 - fin / peak);
  st.sums.bars = n;
  st.sums.max_drawdown = mdd;
  st.sums.final_equity = fin;
  res.m = finish_metrics(st.sums, opt.capital, span_ms(b), bars_per_year(b.interval), buy_and_hold_price_return(b));
  return res;
}

// ---- errors --------------------------------------------------------------------------

namespace {
struct engine_category_impl final : boost::system::error_category {
  char const* name() const noexcept override { return "atb.engine"; }
  std::string message(int ev) const override {
    switch (static_cast<engine_errc>(ev)) {
      case engine_errc::ok: return "ok";
      case engine_errc::unknown_strategy: return "unknown strategy";
      case engine_errc::invalid_parameter: return "invalid strategy parameter";
      case engine_errc::invalid_range: return "invalid date range";
      case engine_errc::no_data: return "no cached data in range";
    }
    return "unknown engine error";
  }
};
}  // namespace

boost::system::error_category const& engine_category() noexcept {
  static engine_category_impl const c;
  return c;
}

}  // namespace atb::engine
