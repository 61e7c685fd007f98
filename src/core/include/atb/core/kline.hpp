#pragma once
// Klines as columns: the shape in which atb stores, transfers and backtests candles.
// All 11 Binance fields are kept, each as an int64 column: times in ms, the trade count
// as an integer, prices and volumes as fixed-point mantissas at the column's scale.
#include "atb/core/aligned.hpp"
#include "atb/core/decimal.hpp"
#include "atb/core/interval.hpp"
#include "atb/core/symbol.hpp"
#include "atb/core/time.hpp"

#include <array>
#include <cstdint>
#include <string_view>

namespace atb {

/// The 11 fields of a Binance kline, in REST order (the 12th REST field is unused).
enum class field : std::uint8_t {
  open_time = 0,
  open,
  high,
  low,
  close,
  volume,
  close_time,
  quote_volume,
  trades,
  taker_buy_base_volume,
  taker_buy_quote_volume,
};
inline constexpr std::size_t field_count = 11;

/// "open_time", "open", …, "taker_buy_quote_volume".
std::string_view to_string(field f) noexcept;
/// True for the fixed-point fields (prices and volumes).
constexpr bool is_decimal(field f) noexcept {
  return f != field::open_time && f != field::close_time && f != field::trades;
}

/// A set of fields (bit i = field i), to decode only the columns a caller needs.
class field_mask {
 public:
  constexpr field_mask() = default;
  constexpr explicit field_mask(std::uint16_t bits) : bits_(bits) {}
  constexpr field_mask(std::initializer_list<field> fs) {
    for (field f : fs) bits_ = static_cast<std::uint16_t>(bits_ | (1u << static_cast<unsigned>(f)));
  }
  static constexpr field_mask all() { return field_mask{std::uint16_t((1u << field_count) - 1)}; }
  constexpr bool has(field f) const noexcept { return (bits_ >> static_cast<unsigned>(f)) & 1u; }
  constexpr std::uint16_t bits() const noexcept { return bits_; }
  constexpr field_mask operator|(field_mask o) const noexcept { return field_mask{std::uint16_t(bits_ | o.bits_)}; }
  friend constexpr bool operator==(field_mask, field_mask) = default;

 private:
  std::uint16_t bits_ = 0;
};

/// Binance sends at most 8 decimals; columns use scale 8 unless a file says otherwise.
inline constexpr unsigned default_decimal_scale = 8;

/// A batch of klines in columns, ascending by open time. Columns not requested by a
/// reader are empty; every non-empty column has size() rows.
struct kline_columns {
  std::array<aligned_vector<std::int64_t>, field_count> cols;
  /// Decimal scale per column (0 for times and trades).
  std::array<std::uint8_t, field_count> scale = default_scales();

  static constexpr std::array<std::uint8_t, field_count> default_scales() {
    std::array<std::uint8_t, field_count> s{};
    for (std::size_t i = 0; i < field_count; ++i)
      s[i] = is_decimal(static_cast<field>(i)) ? default_decimal_scale : 0;
    return s;
  }

  aligned_vector<std::int64_t>& operator[](field f) noexcept { return cols[static_cast<std::size_t>(f)]; }
  aligned_vector<std::int64_t> const& operator[](field f) const noexcept { return cols[static_cast<std::size_t>(f)]; }

  /// Rows: the size of the first non-empty column (0 if all are empty).
  std::size_t size() const noexcept {
    for (auto const& c : cols)
      if (!c.empty()) return c.size();
    return 0;
  }
  bool empty() const noexcept { return size() == 0; }
  void clear() noexcept { for (auto& c : cols) c.clear(); }
  void reserve(std::size_t n) { for (auto& c : cols) c.reserve(n); }

  timestamp_ms open_time(std::size_t i) const noexcept { return timestamp_ms{(*this)[field::open_time][i]}; }
  timestamp_ms close_time(std::size_t i) const noexcept { return timestamp_ms{(*this)[field::close_time][i]}; }
  decimal value(field f, std::size_t i) const noexcept { return decimal{(*this)[f][i], scale[static_cast<std::size_t>(f)]}; }

  /// Appends row i of `other` (all 11 columns present in both, same scales).
  void push_row(kline_columns const& other, std::size_t i);
  /// True if row i of a equals row j of b in all 11 fields (exact values).
  static bool rows_equal(kline_columns const& a, std::size_t i, kline_columns const& b, std::size_t j) noexcept;
};

}  // namespace atb
