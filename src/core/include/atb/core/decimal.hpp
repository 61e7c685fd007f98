#pragma once
// Exact fixed-point decimals: an integer mantissa and a power-of-ten scale.
// "46216.93000000" is mantissa 4621693000000 at scale 8 and formats back to the
// identical string. Binance sends prices and volumes as such strings; atb never
// passes them through a binary floating-point type.
#include "atb/core/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace atb {

inline constexpr unsigned max_decimal_scale = 18;

class decimal {
 public:
  constexpr decimal() = default;
  constexpr decimal(std::int64_t mantissa, unsigned scale) : mantissa_(mantissa), scale_(static_cast<std::uint8_t>(scale)) {}

  /// Parses [-]digits[.digits] keeping the number of decimals written as the scale.
  /// Errors: core_errc::invalid_decimal (not a decimal), core_errc::decimal_overflow.
  static result<decimal> parse(std::string_view text);

  constexpr std::int64_t mantissa() const noexcept { return mantissa_; }
  constexpr unsigned scale() const noexcept { return scale_; }

  /// The same value at another scale; error if decimals would be lost or it overflows.
  result<decimal> rescaled(unsigned scale) const;
  /// Formats with exactly scale() decimals ("46216.93000000").
  std::string to_string() const;
  /// Approximate value for display and statistics only.
  double to_double() const noexcept;

  /// Exact comparison of values, whatever their scales (1.50 == 1.5).
  friend bool operator==(decimal const& a, decimal const& b) noexcept;

 private:
  std::int64_t mantissa_ = 0;
  std::uint8_t scale_ = 0;
};

/// Parses text as a mantissa at exactly `scale` decimals: "1.5" at scale 8 gives 150000000.
/// Fewer decimals are padded; more decimals are accepted only if the extra digits are 0.
/// This is the hot path of CSV import and JSON klines parsing: no allocation.
/// Returns false on malformed text or overflow (the caller owns the error message).
bool parse_fixed(std::string_view text, unsigned scale, std::int64_t& mantissa) noexcept;

/// Writes mantissa at `scale` decimals into out (at least 21 + scale bytes);
/// returns the end. format_fixed(…, 4621693000000, 8) writes "46216.93000000".
char* format_fixed(char* out, std::int64_t mantissa, unsigned scale) noexcept;

/// 10^n for n <= 18.
std::int64_t pow10_i64(unsigned n) noexcept;

}  // namespace atb
