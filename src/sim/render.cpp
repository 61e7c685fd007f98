#include "atb/sim/render.hpp"

#include <array>
#include <charconv>

namespace atb::sim {

namespace {
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
        p = s < default_decimal_scale ? format_fixed(p, v * pow10_i64(default_decimal_scale - s), default_decimal_scale)
                                      : format_fixed(p, v, s);
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
