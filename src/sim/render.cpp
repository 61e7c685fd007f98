#include "atb/sim/render.hpp"

#include <array>
#include <bit>
#include <charconv>
#include <cstring>

namespace atb::sim {

namespace {

constexpr char digit_pairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/// Writes v < 10^8 as exactly 8 ASCII digits: SWAR, splitting into 4-digit, 2-digit and
/// 1-digit lanes with multiply-shift divisions exact in these ranges (little-endian).
inline void write8(char* p, std::uint32_t v) noexcept {
  std::uint64_t const pack = (v / 10000) | (static_cast<std::uint64_t>(v % 10000) << 32);
  std::uint64_t const hundreds = ((pack * 10486) >> 20) & 0x0000007F0000007FULL;
  std::uint64_t const pairs = hundreds | ((pack - hundreds * 100) << 16);
  std::uint64_t const tens = ((pairs * 103) >> 10) & 0x000F000F000F000FULL;
  std::uint64_t digits = (tens | ((pairs - tens * 10) << 8)) + 0x3030303030303030ULL;
  if constexpr (std::endian::native == std::endian::big) digits = __builtin_bswap64(digits);
  std::memcpy(p, &digits, 8);
}

/// Writes mantissa m at `scale` decimals ("46216.93000000"), like core's format_fixed but
/// with 64-bit arithmetic only: this is the hot loop of every klines response.
char* write_fixed(char* p, std::int64_t m, unsigned scale) noexcept {
  std::uint64_t v;
  if (m < 0) {
    *p++ = '-';
    v = std::uint64_t{0} - static_cast<std::uint64_t>(m);
  } else {
    v = static_cast<std::uint64_t>(m);
  }
  if (scale == 0) return std::to_chars(p, p + 24, v).ptr;
  std::uint64_t const div = static_cast<std::uint64_t>(pow10_i64(scale));
  std::uint64_t whole = v / div, frac = v % div;
  p = std::to_chars(p, p + 24, whole).ptr;
  *p++ = '.';
  if (scale == 8) {  // Binance's scale: the 8 decimals in one go
    write8(p, static_cast<std::uint32_t>(frac));
    return p + 8;
  }
  char* const end = p + scale;
  char* q = end;
  while (q - p >= 2) {
    q -= 2;
    std::memcpy(q, digit_pairs + 2 * (frac % 100), 2);
    frac /= 100;
  }
  if (q > p) *--q = static_cast<char>('0' + frac % 10);
  return end;
}

constexpr std::array<field, 11> rest_order{field::open_time, field::open, field::high, field::low, field::close,
                                           field::volume, field::close_time, field::quote_volume, field::trades,
                                           field::taker_buy_base_volume, field::taker_buy_quote_volume};
}

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

void render_klines(std::string& out, kline_columns const& k, time_unit unit) {
  std::size_t const n = k.size();
  out.reserve(out.size() + 2 + n * 200);
  out.push_back('[');
  char buf[512];
  for (std::size_t i = 0; i < n; ++i) {
    char* p = buf;
    *p++ = i ? ',' : '[';
    if (i) *p++ = '[';
    for (std::size_t r = 0; r < rest_order.size(); ++r) {
      field const f = rest_order[r];
      std::int64_t v = k[f][i];
      if (r) *p++ = ',';
      if (is_decimal(f)) {
        unsigned const s = k.scale[static_cast<std::size_t>(f)];
        *p++ = '"';
        p = s < default_decimal_scale ? write_fixed(p, v * pow10_i64(default_decimal_scale - s), default_decimal_scale)
                                      : write_fixed(p, v, s);
        *p++ = '"';
      } else {
        if (unit == time_unit::microsecond) {
          if (f == field::open_time) v = v * 1000;
          else if (f == field::close_time) v = v * 1000 + 999;
        }
        p = std::to_chars(p, buf + sizeof buf, v).ptr;
      }
    }
    for (char c : std::string_view(",\"0\"]")) *p++ = c;
    out.append(buf, static_cast<std::size_t>(p - buf));
  }
  out.push_back(']');
}

std::string render_error(int code, std::string_view msg) {
  std::string s = "{\"code\":";
  s += std::to_string(code);
  s += ",\"msg\":";
  append_json_string(s, msg);
  s += '}';
  return s;
}

}  // namespace atb::sim
