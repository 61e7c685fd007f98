#pragma once
// JSON bodies exactly as Binance writes them. Decimals are written straight from the
// fixed-point mantissas (max(8, scale) places), so a kline served from a cache is
// byte-identical, field for field, to the CSV line it was imported from.
#include "atb/core/kline.hpp"
#include "atb/sim/market.hpp"

#include <string>
#include <string_view>

namespace atb::sim {

enum class time_unit { millisecond, microsecond };

/// Appends `[[openTime,"open",…,"0"],…]` for all rows of k (compact, no spaces).
/// With microseconds, open times are ×1000 and close times ×1000 + 999.
void render_klines(std::string& out, kline_columns const& k, time_unit unit = time_unit::millisecond);

/// `{"code":<code>,"msg":"<msg>"}` (msg is escaped).
std::string render_error(int code, std::string_view msg);

/// Appends s as a JSON string literal (quotes included).
void append_json_string(std::string& out, std::string_view s);

}  // namespace atb::sim
