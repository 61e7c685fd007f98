#pragma once
// Candles as the engine reads them: contiguous, 64-byte aligned double columns.
//
// Prices are the store's fixed-point mantissas converted once to double (exact: every
// mantissa below 2^53 is an integer-valued double). Keeping the mantissa rather than
// the scaled price keeps sums of closes exact (the strict SMA comparison of sma_cross
// must not depend on rounding) and costs nothing elsewhere: every rule of the engine is
// a ratio of prices, so the scale cancels. `price_scale` converts to quote units for
// display (trades CSV, text output).
#include "atb/core/aligned.hpp"
#include "atb/core/interval.hpp"
#include "atb/core/kline.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

namespace atb::engine {

struct bar_series {
  aligned_vector<std::int64_t> open_time;   ///< ms
  /// ms; empty when not loaded (load_bars decodes it only when asked: a backtest needs
  /// only the last one, kept in last_close_ms — 42 MB less to decode for 10 years of 1m).
  aligned_vector<std::int64_t> close_time;
  std::int64_t last_close_ms = 0;  ///< close time of the last bar, loaded or not
  aligned_vector<double> open, high, low, close;  ///< price mantissas (or plain prices)
  double price_scale = 1.0;  ///< multiply a price of these arrays by this to get quote units
  atb::interval interval = atb::interval::h1;

  std::size_t size() const noexcept { return close.size(); }
  bool empty() const noexcept { return close.empty(); }
  /// Close time of bar i: the stored one when the column is loaded; else that of the last
  /// bar for the last, and the regular close time (next open − 1 ms) for the others.
  std::int64_t close_time_at(std::size_t i) const noexcept;
  std::int64_t last_close() const noexcept { return close_time.empty() ? last_close_ms : close_time.back(); }
  /// Keeps rows [first, last) only.
  void slice(std::size_t first, std::size_t last);
};

/// The columns a backtest needs: open time, open, high, low, close (close times only for
/// an equity curve: add field::close_time).
field_mask backtest_fields() noexcept;
/// Without high and low: enough when no stop-loss/take-profit is set (less to decode).
field_mask sma_fields() noexcept;

/// Converts loaded columns (times, open and close required; high/low when present) once
/// into doubles; missing high/low stay empty. All price columns share the close's scale
/// (the store writes scale 8 for every price).
bar_series to_bar_series(kline_columns const& k, atb::interval iv);
/// Same, but takes over the time columns instead of copying them.
bar_series to_bar_series(kline_columns&& k, atb::interval iv);

/// Bars per year for annualising volatility, Sharpe and Sortino: 365.25 days divided by
/// the interval's nominal length (12 for 1M).
double bars_per_year(atb::interval iv) noexcept;

}  // namespace atb::engine
