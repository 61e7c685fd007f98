#pragma once
// One file per (symbol, interval, UTC calendar year): the unit of the atb cache.
// Format: docs/FORMAT.md. Reading memory-maps the file, validates the header once, checks
// each block's XXH3-64 before decompressing it, bounds every size by the header and the
// file size, and decodes only the requested columns into 64-byte aligned arrays.
#include "atb/core/kline.hpp"
#include "atb/store/errors.hpp"

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace atb::store {

struct year_key {
  atb::symbol symbol;
  atb::interval interval;
  int year;
  friend bool operator==(year_key const&, year_key const&) = default;
};

/// "BTCUSDT_1h_2023": the Python tool's cache key string.
std::string key_string(year_key const& k);
/// sha256hex(key_string(k)) + ".atb".
std::string file_name(year_key const& k);
/// <cache_dir>/market_data
std::filesystem::path market_data_dir(std::filesystem::path const& cache_dir);
/// <cache_dir>/market_data/<file_name(k)>
std::filesystem::path year_file_path(std::filesystem::path const& cache_dir, year_key const& k);

/// The year-file format version this build writes, and the newest it reads.
inline constexpr std::uint16_t format_version = 1;
inline constexpr std::uint16_t max_readable_format_version = 1;

/// Header flag: the writer had every candle of the year that the exchange will ever
/// serve (the year is over and was fetched or imported to its end). Past years with this
/// flag are never fetched again.
inline constexpr std::uint32_t flag_complete = 1u << 0;

struct year_header {
  std::uint16_t version = 0;
  year_key key;
  std::uint32_t rows = 0;
  timestamp_ms first_open{};   ///< open time of the first row (0 if rows == 0)
  timestamp_ms last_open{};    ///< open time of the last row
  timestamp_ms last_close{};   ///< close time of the last row
  timestamp_ms written_at{};   ///< when the file was written (wall clock of the writer)
  std::uint32_t flags = 0;
  bool complete() const noexcept { return flags & flag_complete; }
};

struct write_options {
  /// zstd level for column blocks. 19 is for archives; the default balances the
  /// downloader's throughput (≥ 500k candles/s) against size: on the shared klines,
  /// level 9 encodes ~0.8-1.2M candles/s per core at 0.545× of `zstd -19` CSV, level 12
  /// about half as fast at 0.541× (bench/store_year_file_bench.cpp, BM_Store_Encode).
  int zstd_level = 9;
  std::uint32_t flags = 0;
  timestamp_ms written_at = system_now();
};

/// Writes `rows` (all 11 columns, strictly increasing open times inside k.year) to
/// year_file_path(cache_dir, k) atomically: temp file in the same directory, fsync,
/// rename, fsync of the directory. Creates market_data/ if needed. On error nothing
/// at the destination has changed.
result<void> write_year_file(std::filesystem::path const& cache_dir, year_key const& k, kline_columns const& rows,
                             write_options const& opt = {});

/// The bytes of the year file write_year_file would write (no I/O). Same validation and
/// errors (invalid_input) as write_year_file. For tests, fuzz seeds and tools.
result<std::string> encode_year_file(year_key const& k, kline_columns const& rows, write_options const& opt = {});

/// A validated, memory-mapped year file. Move-only; thread-safe for concurrent reads.
class year_file {
 public:
  /// Maps the file and validates magic, version, header checksum and the column
  /// directory against the file size. Cheap: no block is read.
  static result<year_file> open(std::filesystem::path const& path);
  /// The same checks on bytes held in memory (fuzzing, tests). `path` is only used in
  /// messages and by verify()'s file-name check.
  static result<year_file> from_bytes(std::string bytes, std::filesystem::path path);

  year_header const& header() const noexcept;
  std::filesystem::path const& path() const noexcept;
  std::uint64_t file_size() const noexcept;

  /// Decodes the requested columns into `out` (cleared first; other columns left empty,
  /// scales set). Every block read is checksum-verified before decompression.
  result<void> read(field_mask fields, kline_columns& out) const;

  /// Decimal scale of each column as stored (what read() puts into kline_columns::scale).
  std::array<std::uint8_t, field_count> const& scales() const noexcept;

  /// One destination of read_into(): the values of `field` for the rows asked for, either
  /// as the int64 values read() gives (ms, trade counts, fixed-point mantissas) or as
  /// those values converted to double (static_cast<double>: exact below 2^53).
  struct column_target {
    atb::field field = atb::field::close;
    std::span<std::int64_t> i64;  ///< exactly one of i64 and f64 is non-empty,
    std::span<double> f64;        ///< and it holds exactly `count` values
  };
  /// Decodes rows [first, first + count) of the targets' columns straight into caller
  /// memory, without building columns of the whole year first: for the times and prices
  /// of fixed-length intervals (the backtest columns), byte planes, predictor and
  /// conversion run in one pass over small blocks of rows; other columns go through
  /// read(). Values are identical to read()'s (tests/store/year_file_test.cpp checks it).
  /// Every block read is checksum-verified before decompression, as in read().
  /// Errors: store_errc::invalid_input when [first, first + count) is not inside
  /// [0, header().rows) or a target has no, two or a wrongly sized destination (nothing
  /// written); the errors of read() (targets may then be partly written).
  /// Thread-safe like read(); the caller may let threads fill disjoint rows of one array.
  result<void> read_into(std::size_t first, std::size_t count, std::span<column_target const> targets) const;

  /// Full check as atb-verify does it: every checksum, decompression, the file name
  /// against the header key, and row invariants. `gaps` receives the number of missing
  /// candles against the interval grid (information, not an error).
  struct verify_report {
    std::uint64_t decoded_bytes = 0;
    std::uint64_t gaps = 0;            ///< candles missing between consecutive rows
    std::vector<std::string> gap_examples;  ///< a few "2023-03-24 13:00:00 (1 candle)" strings
  };
  result<verify_report> verify() const;

  year_file(year_file&&) noexcept;
  year_file& operator=(year_file&&) noexcept;
  ~year_file();

 private:
  struct impl;
  explicit year_file(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// True for the names atomic_write_file uses for its temp files ("<name>.tmp-XXXXXX"):
/// a leftover one is the trace of an interrupted write (atb-verify warns about it).
bool is_temp_file_name(std::string_view file_name) noexcept;

/// Writes bytes to path atomically (temp in the same directory, fsync, rename, fsync dir).
/// For small side files of the cache (e.g. learned first candles).
result<void> atomic_write_file(std::filesystem::path const& path, std::string_view bytes);

}  // namespace atb::store
