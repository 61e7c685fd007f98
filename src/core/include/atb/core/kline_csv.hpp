#pragma once
// Binance kline CSV: the 12 REST fields per line, as in data.binance.vision archives and
// ../shared/data/klines. Shared by import, export, `data download` and the simulator.
#include "atb/core/kline.hpp"

#include <string>
#include <string_view>

namespace atb {

enum class csv_row_kind { kline, header, blank };

/// Parses one line (without or with a trailing '\r') into row fields appended to `out`
/// (which must have all 11 columns and decides the decimal scales).
/// Timestamps are normalised per row: values >= 10^14 are microseconds (the archive's
/// unit from 2025) and are divided by 1000 (exactly for open times; close times ending in
/// 999 µs floor to …999 ms as Binance's ms API reports them).
/// A first line whose first field is not a number is reported as a header.
/// Error (core_errc::invalid_csv) says which field is wrong and why; `out` is unchanged.
result<csv_row_kind> parse_kline_csv_line(std::string_view line, kline_columns& out);

/// Appends row i as a Binance CSV line: 12 fields, ms, decimals with max(8, scale)
/// places, last field "0", terminated by '\n'.
void append_kline_csv_line(std::string& out, kline_columns const& k, std::size_t i);

}  // namespace atb
