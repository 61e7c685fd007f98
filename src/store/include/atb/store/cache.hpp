#pragma once
// The cache directory: year files under <dir>/market_data, read and merged as ranges.
#include "atb/store/year_file.hpp"

#include <optional>
#include <vector>

namespace atb::store {

struct cache_entry {
  std::filesystem::path path;
  year_header header;
  std::uint64_t bytes = 0;
  std::int64_t mtime_ms = 0;
};

struct merge_report {
  std::size_t added = 0;       ///< rows that were new
  std::size_t duplicates = 0;  ///< rows identical to stored ones
  std::size_t conflicts = 0;   ///< rows that differ from the stored row of the same open time (kept as stored)
  std::vector<std::string> conflict_examples;  ///< first few, one sentence each
  std::size_t files_written = 0;
};

struct merge_options {
  write_options write;
  /// Mark past years complete when the merged rows reach the year's end. Import leaves
  /// this off (a CSV proves nothing about completeness); the downloader sets it.
  bool mark_complete_years = false;
};

class cache {
 public:
  explicit cache(std::filesystem::path dir);
  std::filesystem::path const& dir() const noexcept { return dir_; }

  /// Opens the year file of k; std::nullopt when it does not exist.
  result<std::optional<year_file>> open(year_key const& k) const;

  /// Rows of symbol/interval with open time in [from, to), years joined into contiguous
  /// aligned columns, only `fields` decoded. Missing years are simply absent.
  result<kline_columns> load(atb::symbol const& s, atb::interval iv, timestamp_ms from, timestamp_ms to,
                             field_mask fields = field_mask::all()) const;

  /// Splits rows (any order, may span years) by year and merges them into the year files:
  /// de-duplicated on open time; a differing row is a conflict and the stored row stays.
  result<merge_report> merge(atb::symbol const& s, atb::interval iv, kline_columns const& rows,
                             merge_options const& opt = {});

  /// Every readable year file (header only); unreadable ones are skipped here (atb-verify reports them).
  result<std::vector<cache_entry>> list() const;

 private:
  std::filesystem::path dir_;
};

}  // namespace atb::store
