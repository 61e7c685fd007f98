#pragma once
// A deterministic synthetic Binance market for offline tests and demos.
//
// Prices are generated top-down: a day candle from a smooth multi-scale noise curve,
// split into 24 hour candles, each split into 60 minute candles, each into 60 second
// candles, every split exact (first open, last close, max high, min low, sums of volumes
// and trades equal the parent). Every interval is then an aggregate of that one tree
// (1h = aggregate of its 1m candles, 1M = aggregate of its days, …), so the market is
// consistent across intervals by construction. Maintenance gaps remove whole hours.
// Nothing is materialised ahead: a candle is computed on demand from the seed, with a
// small bounded cache of split hours and minutes.
#include "atb/sim/market.hpp"

#include <array>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace atb::sim {

/// One kline row in REST field order (field enum order), decimals at scale 8.
struct kline_row {
  std::array<std::int64_t, field_count> f{};
  std::int64_t& operator[](field x) noexcept { return f[static_cast<std::size_t>(x)]; }
  std::int64_t operator[](field x) const noexcept { return f[static_cast<std::size_t>(x)]; }
  friend bool operator==(kline_row const&, kline_row const&) = default;
};

/// Parameters of one synthetic symbol.
struct synthetic_symbol {
  std::string name;
  timestamp_ms listed;         ///< first trade: the first candle of every interval contains it
  double start_price;          ///< price at listing
  double yearly_growth;        ///< drift of the log price per year
  std::int64_t tick_mantissa;  ///< price tick at scale 8 (0.01 → 1000000)
  std::int64_t step_mantissa;  ///< quantity step at scale 8
  double daily_quote_volume;   ///< typical quote volume of a day
};

/// The built-in table: BTCUSDT (2017-08-17), ETHUSDT (2017-08-17), BNBUSDT (2017-11-06),
/// ADAUSDT (2018-04-17), SOLUSDT (2020-08-11), XRPUSDT (2018-05-04), DOTUSDT (2020-08-18),
/// LINKUSDT (2019-01-16), LTCUSDT (2017-12-13), AVAXUSDT (2020-09-22).
std::vector<synthetic_symbol> const& builtin_symbols();
/// The default --symbols list (the ten above, in that order).
std::vector<std::string> default_symbol_names();

struct synthetic_options {
  std::uint64_t seed = 1;
  /// Symbols to list; names outside the built-in table get generic parameters derived
  /// from the seed and a listing date of 2019-01-01. Empty: default_symbol_names().
  std::vector<std::string> symbols;
  /// Upper bound of cached split hours/minutes (entries); bounds memory, not results.
  std::size_t cache_entries = 4096;
};

class synthetic_market final : public market {
 public:
  /// Error (core_errc::invalid_symbol) when a name is not a valid symbol.
  static result<std::unique_ptr<synthetic_market>> create(synthetic_options opt);

  std::vector<symbol_info> const& symbols() const noexcept override { return infos_; }
  result<kline_columns> klines(symbol_info const& s, interval iv, kline_query const& q,
                               timestamp_ms now) const override;

  /// The candle of symbol index `sym` and interval iv that opens at `open` (which must be
  /// on the symbol's grid for iv), as seen at `now`: nullopt when it has no trade yet or
  /// lies inside a maintenance gap; partial when it is still in progress.
  std::optional<kline_row> candle_at(std::size_t sym, interval iv, timestamp_ms open, timestamp_ms now) const;
  /// Open time of the candle of iv containing t for symbol `sym` (3d is anchored on the listing day).
  timestamp_ms floor_open(std::size_t sym, interval iv, timestamp_ms t) const noexcept;
  /// True when the hour starting at hour_open is a maintenance gap of symbol `sym`.
  bool is_gap_hour(std::size_t sym, timestamp_ms hour_open) const noexcept;

  synthetic_market(synthetic_options opt, std::vector<synthetic_symbol> params);
  ~synthetic_market() override;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::vector<symbol_info> infos_;
};

}  // namespace atb::sim
