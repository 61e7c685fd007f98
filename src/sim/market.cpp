#include "atb/sim/market.hpp"

#include <algorithm>
#include <array>

namespace atb::sim {

std::pair<std::string, std::string> split_assets(std::string_view s) {
  static constexpr std::array<std::string_view, 12> quotes{"FDUSD", "USDT", "USDC", "BUSD", "TUSD", "BTC",
                                                            "ETH",   "BNB",  "EUR",  "TRY",  "BRL", "DAI"};
  for (std::string_view q : quotes)
    if (s.size() > q.size() && s.substr(s.size() - q.size()) == q)
      return {std::string(s.substr(0, s.size() - q.size())), std::string(q)};
  return {std::string(s), std::string()};
}

kline_query plan_selection(std::optional<timestamp_ms> start, std::optional<timestamp_ms> end, std::size_t limit,
                           timestamp_ms now) noexcept {
  kline_query q;
  q.limit = limit;
  q.newest = !start.has_value();
  if (start) q.from = *start;
  q.to = end ? std::min(*end, now) : now;
  return q;
}

symbol_info const* market::find(std::string_view name) const noexcept {
  for (auto const& s : symbols())
    if (s.symbol.view() == name) return &s;
  return nullptr;
}

}  // namespace atb::sim
