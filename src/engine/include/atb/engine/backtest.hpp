#pragma once
// Execution rules and metrics of an atb backtest (docs/BACKTEST.md states them in full).
//
// A strategy produces a target position per bar (+1 long, 0 flat, −1 short) computed
// from that bar's close; the simulator fills it at the next bar's open. Everything here
// is deterministic and single-threaded; functions are thread-safe on distinct outputs.
#include "atb/engine/bars.hpp"

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace atb::engine {

struct exec_options {
  double capital = 10000.0;     ///< starting cash, quote units
  double fee = 0.001;           ///< fraction of traded notional, charged on buys and sells
  double slippage_bps = 0.0;    ///< buys fill this many bps above the price, sells below
  std::optional<double> stop_loss;    ///< fraction of the entry fill price, e.g. 0.05
  std::optional<double> take_profit;  ///< fraction of the entry fill price
  bool allow_short = false;     ///< when false, a −1 target means flat
};

enum class exit_reason : std::uint8_t { signal, stop_loss, take_profit, end_of_data };
std::string_view to_string(exit_reason r) noexcept;

/// One completed round trip. Prices are in the bar_series' units (mantissas).
struct trade {
  std::size_t entry_bar = 0;  ///< bar whose open filled the entry
  std::size_t exit_bar = 0;   ///< bar in which the exit filled (its open, intrabar stop, or last close)
  int side = 1;               ///< +1 long, −1 short
  double entry_price = 0;     ///< fill price incl. slippage, before fee
  double exit_price = 0;
  double quantity = 0;        ///< in units of 1 / price unit
  double entry_value = 0;     ///< cash committed at entry (equity at entry)
  double exit_value = 0;      ///< cash after the exit
  double pnl = 0;             ///< exit_value − entry_value (both fees included)
  exit_reason reason = exit_reason::signal;
  double ret() const noexcept { return entry_value != 0 ? pnl / entry_value : 0.0; }
};

struct metrics {
  std::size_t bars = 0;
  std::size_t trades = 0;
  double total_return = 0;
  double annualized_return = 0;
  double volatility = 0;
  double sharpe = 0;
  double sortino = 0;
  double max_drawdown = 0;
  double calmar = 0;
  double win_rate = 0;
  double profit_factor = 0;   ///< +inf when there are winning trades and no losing ones
  double exposure = 0;
  double final_equity = 0;
  double buy_and_hold_return = 0;
};

/// Running sums from which metrics are finished; produced by both the simulator and the
/// fast kernels so that both finish metrics the same way.
struct metric_sums {
  std::size_t bars = 0;
  std::size_t returns = 0;     ///< per-bar returns counted (bars − 1)
  double sum_r = 0, sum_r2 = 0, sum_neg2 = 0;
  double max_drawdown = 0;
  std::size_t exposed_bars = 0;
  std::size_t trades = 0, wins = 0;
  double gross_profit = 0, gross_loss = 0;  ///< gross_loss ≥ 0
  double final_equity = 0;
};

/// Finishes metrics: span = last close time + 1 ms − first open time; bars_per_year for
/// annualising; bh = buy-and-hold price return (last close / first open − 1).
metrics finish_metrics(metric_sums const& s, double capital, std::int64_t span_ms, double bars_per_year, double bh);

struct backtest_result {
  metrics m;
  std::vector<trade> trades;
  aligned_vector<double> equity;  ///< marked at each bar's close (only if requested)
};

/// The reference simulator: any target, every execution rule (fills at the next open,
/// fees on both sides, slippage, stop-loss/take-profit intrabar incl. the entry bar with
/// the stop first, shorts, the closing sale at the last close).
/// Preconditions: target.size() == bars.size(); bars non-empty; high/low present when
/// a stop-loss or take-profit is set.
backtest_result simulate(bar_series const& bars, std::span<std::int8_t const> target, exec_options const& opt,
                         bool keep_equity = false, bool keep_trades = true);

/// Price return of holding from the first open to the last close, no fees.
double buy_and_hold_price_return(bar_series const& bars) noexcept;
/// Last close time + 1 − first open time (ms).
std::int64_t span_ms(bar_series const& bars) noexcept;

}  // namespace atb::engine
