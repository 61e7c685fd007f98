#pragma once
// The strategies of atb backtest: names, parameters with defaults, and their targets.
// docs/STRATEGIES.md describes each rule; the code below is its single implementation.
#include "atb/engine/bars.hpp"
#include "atb/engine/errors.hpp"

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace atb::engine {

enum class strategy_id : std::uint8_t { buy_and_hold, sma_cross, ema_cross, rsi_reversion, bollinger_breakout, ml_basic };

struct param_spec {
  std::string_view name;
  double default_value;
  double min_value;  ///< inclusive
  double max_value;  ///< inclusive
  bool integer;      ///< must be a whole number (window lengths)
  std::string_view help;
};

inline constexpr std::size_t max_params = 8;

struct strategy_info {
  strategy_id id;
  std::string_view name;
  std::string_view summary;
  std::span<param_spec const> params;
};

/// Every strategy, in documentation order.
std::span<strategy_info const> all_strategies() noexcept;
/// nullptr when unknown.
strategy_info const* find_strategy(std::string_view name) noexcept;
strategy_info const& info(strategy_id id) noexcept;

/// A strategy with one value per parameter (in the order of its param_spec list).
struct strategy_params {
  strategy_id id = strategy_id::sma_cross;
  std::array<double, max_params> values{};
  double get(std::string_view name) const noexcept;  ///< 0 if no such parameter
  /// "fast=10 slow=50"
  std::string to_string() const;
};

/// Defaults of a strategy.
strategy_params default_params(strategy_id id) noexcept;
/// Sets one parameter from text. Errors (engine_errc::invalid_parameter): unknown name
/// (listing the valid ones), not a number, out of range, not whole.
result<void> set_param(strategy_params& p, std::string_view name, std::string_view text);
/// Checks relations between parameters (fast < slow, lower < upper).
result<void> validate(strategy_params const& p);

/// Fills out[i] ∈ {+1, 0, −1} = the position the strategy wants after bar i's close
/// (−1 only when allow_short). Precondition: out.size() == bars.size().
void compute_targets(strategy_params const& p, bar_series const& bars, bool allow_short, std::span<std::int8_t> out);

}  // namespace atb::engine
