#include "atb/core/symbol.hpp"

#include <algorithm>

namespace atb {

bool symbol::is_valid(std::string_view text) noexcept {
  if (text.size() < min_size || text.size() > max_size) return false;
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); });
}

result<symbol> symbol::parse(std::string_view text) {
  if (!is_valid(text)) {
    std::string shown(text.substr(0, 40));
    for (char& c : shown)
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    return error{core_errc::invalid_symbol,
                 "invalid symbol '" + shown + (text.size() > 40 ? "…" : "") +
                     "': a symbol is 2 to 20 upper-case letters or digits, such as BTCUSDT"};
  }
  symbol s;
  std::copy(text.begin(), text.end(), s.chars_.begin());
  s.size_ = static_cast<unsigned char>(text.size());
  return s;
}

}  // namespace atb
