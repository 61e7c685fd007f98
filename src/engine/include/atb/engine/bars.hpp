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
  aligned_vector<std::int64_t> close_time;  ///< ms
  aligned_vector<double> open, high, low, close;  ///< price mantissas (or plain prices)
  double price_scale = 1.0;  ///< multiply a price of these arrays by this to get quote units
  atb::interval interval = atb::interval::h1;

  std::size_t size() const noexcept { return close.size(); }
  bool empty() const noexcept { return close.empty(); }
  /// Keeps rows [first, last) only.
  void slice(std::size_t first, std::size_t last);
};

/// The columns a backtest needs: times, open, high, low, close.
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
