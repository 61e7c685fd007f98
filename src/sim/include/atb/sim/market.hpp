#pragma once
// What the simulated exchange serves: a list of symbols and, per symbol and interval,
// klines selected by open time. Two implementations: the deterministic synthetic market
// (synthetic_market.hpp) and a cache directory written by the store (cache_market.hpp).
#include "atb/core/decimal.hpp"
#include "atb/core/error.hpp"
#include "atb/core/interval.hpp"
#include "atb/core/kline.hpp"
#include "atb/core/symbol.hpp"
#include "atb/core/time.hpp"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atb::sim {

/// One entry of exchangeInfo.symbols.
struct symbol_info {
  atb::symbol symbol;
  std::string base_asset;
  std::string quote_asset;
  atb::decimal tick_size{1, 8};  ///< PRICE_FILTER.tickSize
  atb::decimal step_size{1, 8};  ///< LOT_SIZE.stepSize
  timestamp_ms listed{};         ///< open time of the first candle of the symbol's history
  std::string status = "TRADING";
};

/// Splits "BTCUSDT" into ("BTC", "USDT") using the common quote assets; ("BTCUSDT", "")
/// when none matches.
std::pair<std::string, std::string> split_assets(std::string_view symbol);

/// Which candles a klines request wants, after Binance's rules were applied.
struct kline_query {
  timestamp_ms from{std::numeric_limits<std::int64_t>::min()};  ///< smallest open time (inclusive)
  timestamp_ms to{std::numeric_limits<std::int64_t>::max()};    ///< largest open time (inclusive)
  std::size_t limit = 500;
  bool newest = true;  ///< take the newest `limit` candles of [from, to], else the oldest
  friend bool operator==(kline_query const&, kline_query const&) = default;
};

/// Binance's selection rules: only startTime → the oldest candles from there; only
/// endTime → the newest up to there; both → from startTime, capped at endTime; neither →
/// the newest. Candles that have not opened at `now` do not exist, so `to` never exceeds
/// now. Precondition: start <= end when both are given (the caller answers -1023).
kline_query plan_selection(std::optional<timestamp_ms> start, std::optional<timestamp_ms> end, std::size_t limit,
                           timestamp_ms now) noexcept;

/// A source of klines. Implementations are safe to call from several threads at once.
class market {
 public:
  virtual ~market() = default;

  /// The symbols served, in a stable order.
  virtual std::vector<symbol_info> const& symbols() const noexcept = 0;
  /// The entry of `name`, or nullptr when the market does not list it.
  symbol_info const* find(std::string_view name) const noexcept;

  /// Candles of s/iv with open time in [q.from, q.to] ascending, at most q.limit (the
  /// oldest or the newest of them, per q.newest). `now` is the exchange clock: no candle
  /// opens after it, and the candle whose close time is >= now is the one in progress.
  /// All 11 columns are filled, decimals at scale 8 unless the source has another scale.
  virtual result<kline_columns> klines(symbol_info const& s, interval iv, kline_query const& q,
                                       timestamp_ms now) const = 0;
};

}  // namespace atb::sim
