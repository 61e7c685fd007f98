#pragma once
// A Binance trading pair such as BTCUSDT, validated as ^[A-Z0-9]{2,20}$.
// Only a validated symbol can exist, so a symbol is always safe to put in a file
// name, a cache key or a URL query.
#include "atb/core/error.hpp"

#include <array>
#include <compare>
#include <string>
#include <string_view>

namespace atb {

class symbol {
 public:
  static constexpr std::size_t max_size = 20;
  static constexpr std::size_t min_size = 2;

  /// Parses and validates. Error (core_errc::invalid_symbol) names the input and the rule.
  static result<symbol> parse(std::string_view text);
  /// True iff text matches ^[A-Z0-9]{2,20}$.
  static bool is_valid(std::string_view text) noexcept;

  std::string_view view() const noexcept { return {chars_.data(), size_}; }
  std::string str() const { return std::string(view()); }

  friend bool operator==(symbol const& a, symbol const& b) noexcept { return a.view() == b.view(); }
  friend auto operator<=>(symbol const& a, symbol const& b) noexcept { return a.view() <=> b.view(); }

 private:
  symbol() = default;
  std::array<char, max_size> chars_{};
  unsigned char size_ = 0;
};

}  // namespace atb

template <>
struct std::hash<atb::symbol> {
  std::size_t operator()(atb::symbol const& s) const noexcept { return std::hash<std::string_view>{}(s.view()); }
};
