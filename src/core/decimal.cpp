#include "atb/core/decimal.hpp"

#include <bit>
#include <cstring>

namespace atb {

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

namespace {
constexpr std::int64_t pow10_table[] = {1LL,
                                        10LL,
                                        100LL,
                                        1000LL,
                                        10000LL,
                                        100000LL,
                                        1000000LL,
                                        10000000LL,
                                        100000000LL,
                                        1000000000LL,
                                        10000000000LL,
                                        100000000000LL,
                                        1000000000000LL,
                                        10000000000000LL,
                                        100000000000000LL,
                                        1000000000000000LL,
                                        10000000000000000LL,
                                        100000000000000000LL,
                                        1000000000000000000LL};
}  // namespace

std::int64_t pow10_i64(unsigned n) noexcept { return pow10_table[n > 18 ? 18 : n]; }

namespace {

inline bool is_digit(char c) noexcept { return static_cast<unsigned char>(c - '0') < 10; }

inline std::uint64_t load8(char const* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

/// True when the 8 bytes are all ASCII digits (SWAR, as in fast_float).
inline bool eight_digits(std::uint64_t v) noexcept {
  return (((v & 0xF0F0F0F0F0F0F0F0ULL) | (((v + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4)) ==
          0x3333333333333333ULL);
}

/// The value of 8 ASCII digits (first byte most significant), three multiplications.
inline std::uint64_t eight_digits_value(std::uint64_t v) noexcept {
  constexpr std::uint64_t mask = 0x000000FF000000FFULL;
  constexpr std::uint64_t mul1 = 0x000F424000000064ULL;  // 100 + (1000000ULL << 32)
  constexpr std::uint64_t mul2 = 0x0000271000000001ULL;  // 1 + (10000ULL << 32)
  v -= 0x3030303030303030ULL;
  v = (v * 10) + (v >> 8);
  return (((v & mask) * mul1) + (((v >> 16) & mask) * mul2)) >> 32;
}

/// The general parser: any length, overflow checked digit by digit (128-bit).
bool parse_fixed_checked(std::string_view s, unsigned scale, std::int64_t& out) noexcept {
  std::size_t i = 0;
  bool neg = false;
  if (s[0] == '-') {
    neg = true;
    i = 1;
  }
  u128 v = 0;
  std::size_t int_digits = 0, frac_digits = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++int_digits) {
    v = v * 10 + static_cast<unsigned>(s[i] - '0');
    if (v > (static_cast<u128>(1) << 63)) return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++frac_digits) {
      if (frac_digits < scale) {
        v = v * 10 + static_cast<unsigned>(s[i] - '0');
        if (v > (static_cast<u128>(1) << 63)) return false;
      } else if (s[i] != '0') {
        return false;  // would lose a non-zero digit
      }
    }
    if (frac_digits == 0) return false;  // "1." is not a number Binance sends
  }
  if (i != s.size() || int_digits == 0) return false;
  for (std::size_t k = frac_digits; k < scale; ++k) {
    v *= 10;
    if (v > (static_cast<u128>(1) << 63)) return false;
  }
  if (neg) {
    out = v == (static_cast<u128>(1) << 63) ? INT64_MIN : -static_cast<std::int64_t>(v);
  } else {
    if (v > static_cast<u128>(INT64_MAX)) return false;
    out = static_cast<std::int64_t>(v);
  }
  return true;
}

}  // namespace

// Fast path for what Binance sends ("43210.12000000"): when the integer digits plus the
// scale are at most 18 the value cannot overflow 64 bits, so no per-digit check is
// needed, and the decimals go 8 at a time. Anything else takes the checked parser.
bool parse_fixed(std::string_view s, unsigned scale, std::int64_t& out) noexcept {
  if (s.empty() || scale > max_decimal_scale) return false;
  char const* p = s.data();
  char const* const e = p + s.size();
  bool const neg = *p == '-';
  p += neg;
  char const* const ib = p;
  std::uint64_t v = 0;
  while (p < e && is_digit(*p) && p - ib < 19) v = v * 10 + static_cast<unsigned>(*p++ - '0');
  auto const int_digits = static_cast<std::size_t>(p - ib);
  if (int_digits == 0 || int_digits + scale > 18) return parse_fixed_checked(s, scale, out);
  unsigned frac = 0;
  if (p < e && *p == '.') {
    ++p;
    while (frac + 8 <= scale && e - p >= 8 && eight_digits(load8(p))) {
      v = v * 100000000ULL + eight_digits_value(load8(p));
      p += 8;
      frac += 8;
    }
    for (; p < e && is_digit(*p); ++p, ++frac) {
      if (frac < scale) v = v * 10 + static_cast<unsigned>(*p - '0');
      else if (*p != '0') return false;  // would lose a non-zero digit
    }
    if (frac == 0) return false;  // "1." is not a number Binance sends
  }
  if (p != e) return false;
  for (; frac < scale; ++frac) v *= 10;
  out = neg ? -static_cast<std::int64_t>(v) : static_cast<std::int64_t>(v);
  return true;
}

char* format_fixed(char* out, std::int64_t m, unsigned scale) noexcept {
  u128 v;
  if (m < 0) {
    *out++ = '-';
    v = static_cast<u128>(-(static_cast<i128>(m)));
  } else {
    v = static_cast<u128>(m);
  }
  char tmp[48];
  int n = 0;
  // digits, least significant first; at least scale+1 of them
  do {
    tmp[n++] = static_cast<char>('0' + static_cast<int>(v % 10));
    v /= 10;
  } while (v != 0 || n < static_cast<int>(scale) + 1);
  for (int k = n - 1; k >= 0; --k) {
    *out++ = tmp[k];
    if (k == static_cast<int>(scale) && scale > 0) *out++ = '.';
  }
  return out;
}

result<decimal> decimal::parse(std::string_view text) {
  std::size_t dot = text.find('.');
  unsigned scale = dot == std::string_view::npos ? 0u : static_cast<unsigned>(text.size() - dot - 1);
  std::int64_t m = 0;
  if (scale > max_decimal_scale || !parse_fixed(text, scale, m)) {
    bool overflow = scale <= max_decimal_scale && text.find_first_not_of("-.0123456789") == std::string_view::npos &&
                    text.size() > 18;
    return error{overflow ? core_errc::decimal_overflow : core_errc::invalid_decimal,
                 "invalid decimal '" + std::string(text.substr(0, 40)) +
                     (overflow ? "': out of the exact 64-bit range" : "': expected digits with an optional '.' and up to 18 decimals")};
  }
  return decimal{m, scale};
}

result<decimal> decimal::rescaled(unsigned scale) const {
  if (scale == scale_) return *this;
  if (scale > max_decimal_scale)
    return error{core_errc::decimal_overflow, "decimal scale " + std::to_string(scale) + " exceeds 18"};
  if (scale > scale_) {
    i128 v = static_cast<i128>(mantissa_) * pow10_i64(scale - scale_);
    if (v > INT64_MAX || v < INT64_MIN)
      return error{core_errc::decimal_overflow, to_string() + " does not fit at scale " + std::to_string(scale)};
    return decimal{static_cast<std::int64_t>(v), scale};
  }
  std::int64_t const p = pow10_i64(scale_ - scale);
  if (mantissa_ % p != 0)
    return error{core_errc::invalid_decimal, to_string() + " has more than " + std::to_string(scale) + " decimals"};
  return decimal{mantissa_ / p, scale};
}

std::string decimal::to_string() const {
  char buf[64];
  char* e = format_fixed(buf, mantissa_, scale_);
  return std::string(buf, e);
}

double decimal::to_double() const noexcept {
  return static_cast<double>(mantissa_) / static_cast<double>(pow10_i64(scale_));
}

bool operator==(decimal const& a, decimal const& b) noexcept {
  unsigned s = a.scale_ > b.scale_ ? a.scale_ : b.scale_;
  i128 x = static_cast<i128>(a.mantissa_) * pow10_i64(s - a.scale_);
  i128 y = static_cast<i128>(b.mantissa_) * pow10_i64(s - b.scale_);
  return x == y;
}

}  // namespace atb
