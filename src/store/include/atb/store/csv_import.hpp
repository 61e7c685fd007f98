#pragma once
// Binance kline CSV in and out of the cache: the logic of `atb data import` and
// `atb data export`, kept out of the CLI so that it can be unit-tested and fuzzed.
//
// Input: the 12 REST columns per line (data.binance.vision archives, ../shared/data/klines),
// an optional header row (first non-blank line only), ms or µs timestamps decided per row
// (core's parse_kline_csv_line). Output: 12 columns, ms, no header, ascending, 8 decimals,
// last field 0 (core's append_kline_csv_line).
#include "atb/core/kline_csv.hpp"
#include "atb/store/cache.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atb::store {

/// Symbol and interval read from a data.binance.vision style file name.
struct csv_name_info {
  atb::symbol symbol;
  atb::interval interval;
};

/// Parses "SYMBOL-INTERVAL[-…].csv" (only the file name part of `file` is looked at;
/// "1mo" means 1M as in the archive's names). Error (core_errc::invalid_csv): one sentence
/// naming the file and suggesting --symbol/--timeframe.
result<csv_name_info> parse_csv_file_name(std::filesystem::path const& file);

/// Splits a byte stream fed in arbitrary chunks into lines ('\n', a trailing '\r' is
/// removed by the row parser). Holds at most one partial line, capped at max_line_bytes:
/// a longer line is reported with too_long = true and its text truncated.
class csv_line_splitter {
 public:
  /// A kline line is < 250 bytes; this limit exists so that a binary file cannot make
  /// the importer buffer it whole.
  static constexpr std::size_t max_line_bytes = 4096;
  using line_fn = std::function<void(std::string_view line, bool too_long)>;

  /// Calls on_line for every complete line in chunk (with what earlier chunks left over).
  void feed(std::string_view chunk, line_fn const& on_line);
  /// Emits the last line if the stream did not end with '\n'.
  void finish(line_fn const& on_line);

 private:
  std::string carry_;
  bool carry_too_long_ = false;
};

/// One parsed row's verdict from csv_row_parser.
enum class csv_line_result { row, header, blank, bad };

/// The importer's rules for one file's lines: a header only as the first non-blank line,
/// blank lines skipped, each row's fields parsed (core), then checked against the kline
/// invariants that atb-verify enforces (close time not before the open time and inside the candle
/// of `iv`, low <= open, close <= high, volumes and trades >= 0, taker <= total), so that
/// no imported row can make a year file fail verification.
class csv_row_parser {
 public:
  explicit csv_row_parser(atb::interval iv) : interval_(iv) {}

  /// Parses the next line. On row, one row was appended to `out` (which must hold all 11
  /// columns at the default scales). On bad, `why` is set to a sentence fragment naming the
  /// field ("field 5 (close) 'x' is not a decimal …") and `out` is unchanged.
  csv_line_result parse(std::string_view line, kline_columns& out, std::string& why);

 private:
  atb::interval interval_;
  bool seen_content_ = false;
};

/// Compares row i of a with row j of b field by field; returns "" when equal, else e.g.
/// "close 46216.93000000 vs 46216.94000000, volume 1.00000000 vs 2.00000000".
std::string describe_row_difference(kline_columns const& a, std::size_t i, kline_columns const& b, std::size_t j);

struct csv_import_options {
  std::optional<atb::symbol> symbol;      ///< else from the file name
  std::optional<atb::interval> interval;  ///< else from the file name
  /// Rows buffered before they are merged. Sorted input is also merged at every year
  /// boundary, so a year is written once when it fits; this cap bounds memory for
  /// unsorted files (about 100 bytes per row).
  std::size_t batch_rows = 4'000'000;
  /// Problems (bad rows, conflicts) kept per file as sentences; the rest are only counted.
  std::size_t max_reported = 20;
  merge_options merge;
};

struct csv_import_report {
  std::filesystem::path file;
  std::optional<atb::symbol> symbol;
  atb::interval interval = atb::interval::h1;
  std::uint64_t lines = 0;         ///< lines read, header and blank lines included
  std::uint64_t rows_read = 0;     ///< well-formed kline rows
  std::uint64_t added = 0;         ///< rows new to the cache
  std::uint64_t duplicates = 0;    ///< identical to a cached row or to an earlier line of the file
  std::uint64_t conflicts = 0;     ///< same open time, different fields: kept as stored / as the earlier line
  std::uint64_t bad_rows = 0;      ///< lines that are not valid klines (skipped)
  std::uint64_t files_written = 0; ///< year files (re)written
  std::vector<std::string> problems;  ///< first max_reported sentences ("file:line: …")
  std::uint64_t problems_not_shown = 0;
  bool has_problems() const noexcept { return conflicts != 0 || bad_rows != 0; }
};

/// Imports one CSV file into the cache, streaming it in blocks. Bad rows and conflicts are
/// counted and described in the report (the file continues). Errors: the symbol/interval
/// cannot be told (core_errc::invalid_csv), the file cannot be read or the cache cannot be
/// written (store_errc::io_error or the store's error), each one sentence naming the file.
result<csv_import_report> import_csv_file(cache& c, std::filesystem::path const& file,
                                          csv_import_options const& opt = {});

/// The in-memory part of the importer, usable without a cache (tests, fuzzing): feeds
/// `bytes` as one file's content; `on_batch` receives each batch after in-file duplicates and
/// conflicts were removed (rows ascending by open time, with their line numbers), and
/// returns an error to stop.
using csv_batch_fn = std::function<result<void>(kline_columns const& rows, std::vector<std::uint64_t> const& lines)>;
result<void> import_csv_bytes(std::string_view bytes, std::string const& source_name, atb::interval iv,
                              csv_import_options const& opt, csv_import_report& report,
                              csv_batch_fn const& on_batch);

struct csv_export_report {
  std::uint64_t rows = 0;
  std::uint64_t bytes = 0;
  timestamp_ms first_open{};
  timestamp_ms last_open{};
};

/// Writes the cached rows of s/iv with open time in [from, to) as Binance CSV to `sink`,
/// one year at a time (memory: one year of rows and a 1 MiB text buffer). `sink` returns
/// an error to stop (e.g. disk full).
result<csv_export_report> export_csv(cache const& c, atb::symbol const& s, atb::interval iv, timestamp_ms from,
                                     timestamp_ms to, std::function<result<void>(std::string_view)> const& sink);

/// A file written in pieces and published atomically: a hidden temp file beside `path`,
/// fsync, rename onto `path`, fsync of the directory. Destroying it uncommitted removes the
/// temp file and leaves `path` as it was. Not thread-safe.
class atomic_output_file {
 public:
  static result<atomic_output_file> create(std::filesystem::path path);
  result<void> write(std::string_view bytes);
  result<void> commit();

  atomic_output_file(atomic_output_file&&) noexcept;
  atomic_output_file& operator=(atomic_output_file&&) noexcept;
  ~atomic_output_file();

 private:
  atomic_output_file(std::filesystem::path path, std::filesystem::path temp, int fd) noexcept
      : path_(std::move(path)), temp_(std::move(temp)), fd_(fd) {}
  void abandon() noexcept;
  std::filesystem::path path_;
  std::filesystem::path temp_;
  int fd_ = -1;
};

}  // namespace atb::store
