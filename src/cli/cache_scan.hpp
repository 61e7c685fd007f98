#pragma once
// What is in <cache>/market_data, as `atb data cache-manager` and `atb-verify` see it:
// year files (sha256 hex + ".atb"), leftover temp files of the store's writers, and
// anything else ("foreign"). Header-only: shared by the atb and atb-verify programs.
#include "atb/core/error.hpp"
#include "atb/store/year_file.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace atb::cli {

enum class cache_file_kind { year_file, temp_file, foreign };

struct cache_file {
  std::filesystem::path path;
  cache_file_kind kind = cache_file_kind::foreign;
  bool is_directory = false;
  std::uint64_t bytes = 0;
  std::int64_t mtime_ms = 0;  ///< last modification, ms since the epoch
};

/// True for "<64 lowercase hex digits>.atb", the only names the store writes for year files.
inline bool is_year_file_name(std::string_view name) noexcept {
  if (name.size() != 64 + 4 || name.substr(64) != ".atb") return false;
  return std::all_of(name.begin(), name.begin() + 64, [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

inline std::int64_t file_mtime_ms(std::filesystem::file_time_type t) {
  auto const sys = std::chrono::file_clock::to_sys(t);
  return std::chrono::duration_cast<std::chrono::milliseconds>(sys.time_since_epoch()).count();
}

/// Lists market_data (not recursively), sorted by file name. A missing market_data
/// directory is an empty cache. Error (core_errc::io_error) when it cannot be read.
inline result<std::vector<cache_file>> scan_market_data(std::filesystem::path const& cache_dir) {
  std::vector<cache_file> out;
  std::filesystem::path const dir = atb::store::market_data_dir(cache_dir);
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return out;
  std::filesystem::directory_iterator it(dir, ec), end;
  if (ec) return error{core_errc::io_error, "cannot read the directory " + dir.string() + ": " + ec.message() + "."};
  for (; it != end; it.increment(ec)) {
    if (ec) return error{core_errc::io_error, "cannot read the directory " + dir.string() + ": " + ec.message() + "."};
    cache_file f;
    f.path = it->path();
    std::string const name = f.path.filename().string();
    std::error_code e2;
    f.is_directory = it->is_directory(e2);
    bool const regular = it->is_regular_file(e2);
    if (regular) {
      f.bytes = it->file_size(e2);
      if (e2) f.bytes = 0;
    }
    auto const t = it->last_write_time(e2);
    f.mtime_ms = e2 ? 0 : file_mtime_ms(t);
    if (regular && is_year_file_name(name))
      f.kind = cache_file_kind::year_file;
    else if (regular && atb::store::is_temp_file_name(name))
      f.kind = cache_file_kind::temp_file;
    else
      f.kind = cache_file_kind::foreign;
    out.push_back(std::move(f));
  }
  std::sort(out.begin(), out.end(), [](cache_file const& a, cache_file const& b) { return a.path < b.path; });
  return out;
}

/// "42s", "17m", "5h", "31d": how long ago mtime_ms was, relative to now_ms.
inline std::string format_age(std::int64_t mtime_ms, std::int64_t now_ms) {
  std::int64_t const s = std::max<std::int64_t>(0, (now_ms - mtime_ms) / 1000);
  if (s < 120) return std::to_string(s) + "s";
  if (s < 2 * 3600) return std::to_string(s / 60) + "m";
  if (s < 2 * 86400) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

/// "1.23 MiB": a byte count for people (exact counts go in JSON and --bytes outputs).
inline std::string format_bytes(std::uint64_t b) {
  char buf[32];
  if (b < 1024) return std::to_string(b) + " B";
  double v = static_cast<double>(b);
  char const* units[] = {"KiB", "MiB", "GiB", "TiB"};
  int u = -1;
  while (v >= 1024 && u < 3) v /= 1024, ++u;
  std::snprintf(buf, sizeof buf, "%.2f %s", v, units[u]);
  return buf;
}

}  // namespace atb::cli
