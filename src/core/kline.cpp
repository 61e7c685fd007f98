#include "atb/core/kline.hpp"

namespace atb {

std::string_view to_string(field f) noexcept {
  static constexpr std::string_view names[] = {
      "open_time", "open",         "high",   "low", "close", "volume", "close_time",
      "quote_volume", "trades", "taker_buy_base_volume", "taker_buy_quote_volume"};
  return names[static_cast<std::size_t>(f)];
}

void kline_columns::push_row(kline_columns const& other, std::size_t i) {
  for (std::size_t c = 0; c < field_count; ++c) cols[c].push_back(other.cols[c][i]);
}

bool kline_columns::rows_equal(kline_columns const& a, std::size_t i, kline_columns const& b, std::size_t j) noexcept {
  for (std::size_t c = 0; c < field_count; ++c) {
    if (a.scale[c] == b.scale[c]) {
      if (a.cols[c][i] != b.cols[c][j]) return false;
    } else if (!(decimal{a.cols[c][i], a.scale[c]} == decimal{b.cols[c][j], b.scale[c]})) {
      return false;
    }
  }
  return true;
}

}  // namespace atb
