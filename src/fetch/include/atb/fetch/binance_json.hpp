#pragma once
// Parsers for Binance REST bodies, built on simdjson on-demand. Prices and volumes go
// from their JSON strings straight to fixed-point mantissas (core's parse_fixed): no
// binary floating point anywhere. Malformed input is an error value, never a crash.
#include "atb/core/kline.hpp"
#include "atb/fetch/rate_limiter.hpp"

#include <memory>
#include <string>

namespace atb::fetch {

/// Holds a reusable simdjson parser (one per thread; not thread-safe).
class json_parser {
 public:
  json_parser();
  ~json_parser();
  json_parser(json_parser&&) noexcept;
  json_parser& operator=(json_parser&&) noexcept;

  /// Parses a GET /api/v3/klines body, appending rows to `out` (which decides the decimal
  /// scales; all 11 columns are filled). `body` gets simdjson's padding reserved (its
  /// size is unchanged). Checks: an array of 12-element arrays, times and trade counts
  /// integers, prices/volumes exact decimals at the column scale, open times strictly
  /// increasing, close >= open. Error fetch_errc::malformed_body names the row and field;
  /// on error `out` is left as it was. Returns the number of rows appended.
  result<std::size_t> parse_klines(std::string& body, kline_columns& out);

  /// GET /api/v3/exchangeInfo → rateLimits (REQUEST_WEIGHT and RAW_REQUESTS rules).
  result<std::vector<rate_limit_rule>> parse_rate_limits(std::string& body);

  /// GET /api/v3/time → serverTime.
  result<timestamp_ms> parse_server_time(std::string& body);

  /// A Binance error body {"code":-1121,"msg":"Invalid symbol."}: "Binance error -1121: Invalid symbol."
  /// or a short excerpt of the body when it is not such an object.
  std::string describe_error_body(std::string& body);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace atb::fetch
