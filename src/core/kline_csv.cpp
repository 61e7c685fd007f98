#include "atb/core/kline_csv.hpp"

#include <array>
#include <charconv>

namespace atb {

namespace {
constexpr std::int64_t microsecond_threshold = 100'000'000'000'000LL;  // 10^14: year 5138 in ms, 1973 in µs

bool parse_int(std::string_view s, std::int64_t& v) noexcept {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && p == s.data() + s.size();
}

// REST field index (0..11) for each of our 11 fields.
constexpr std::array<field, 11> rest_order{field::open_time, field::open, field::high, field::low, field::close,
                                           field::volume, field::close_time, field::quote_volume, field::trades,
                                           field::taker_buy_base_volume, field::taker_buy_quote_volume};
}  // namespace

result<csv_row_kind> parse_kline_csv_line(std::string_view line, kline_columns& out) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find_first_not_of(" \t") == std::string_view::npos) return csv_row_kind::blank;
  if ((line[0] >= 'a' && line[0] <= 'z') || (line[0] >= 'A' && line[0] <= 'Z')) return csv_row_kind::header;

  std::array<std::string_view, 12> f{};
  std::size_t n = 0, start = 0;
  while (true) {
    std::size_t comma = line.find(',', start);
    if (n == f.size())
      return error{core_errc::invalid_csv, "has more than 12 fields; expected the 12 columns of a Binance kline"};
    f[n++] = line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (n != 12 && n != 11)
    return error{core_errc::invalid_csv,
                 "has " + std::to_string(n) + " fields; expected the 12 columns of a Binance kline"};

  std::array<std::int64_t, 11> v{};
  for (std::size_t k = 0; k < 11; ++k) {
    field const fld = rest_order[k];
    bool ok = is_decimal(fld) ? parse_fixed(f[k], out.scale[static_cast<std::size_t>(fld)], v[k]) : parse_int(f[k], v[k]);
    if (!ok)
      return error{core_errc::invalid_csv, "field " + std::to_string(k + 1) + " (" + std::string(to_string(fld)) +
                                               ") '" + std::string(f[k].substr(0, 32)) + "' is not " +
                                               (is_decimal(fld) ? "a decimal with at most " +
                                                                      std::to_string(out.scale[static_cast<std::size_t>(fld)]) +
                                                                      " significant decimals"
                                                                : "an integer")};
  }
  // Per-row unit: the archive switched from ms to µs on 2025-01-01, mixed files exist.
  if (v[0] >= microsecond_threshold) {
    if (v[0] % 1000 != 0)
      return error{core_errc::invalid_csv, "open time " + std::string(f[0]) + " µs is not a whole millisecond"};
    v[0] /= 1000;
    v[6] = v[6] >= microsecond_threshold ? v[6] / 1000 : v[6];
  } else if (v[6] >= microsecond_threshold) {
    v[6] /= 1000;
  }
  if (v[0] < 0 || v[6] < 0)
    return error{core_errc::invalid_csv, "negative timestamp"};
  for (std::size_t k = 0; k < 11; ++k) out[rest_order[k]].push_back(v[k]);
  return csv_row_kind::kline;
}

void append_kline_csv_line(std::string& out, kline_columns const& k, std::size_t i) {
  char buf[512];
  char* p = buf;
  for (std::size_t r = 0; r < 11; ++r) {
    field const fld = rest_order[r];
    std::int64_t const v = k[fld][i];
    if (is_decimal(fld)) {
      unsigned const s = k.scale[static_cast<std::size_t>(fld)];
      if (s < default_decimal_scale) {
        p = format_fixed(p, v * pow10_i64(default_decimal_scale - s), default_decimal_scale);
      } else {
        p = format_fixed(p, v, s);
      }
    } else {
      p = std::to_chars(p, buf + sizeof buf, v).ptr;
    }
    *p++ = ',';
  }
  *p++ = '0';
  *p++ = '\n';
  out.append(buf, p);
}

}  // namespace atb
