#pragma once
// The download engine behind `atb data preload-offline`, `prefill-cache` and `download`:
// reads the limits (exchangeInfo) and the server time, learns each symbol's first
// candle once (kept in <cache>/meta/first_candles.json), plans per (symbol, interval,
// year) only what is left, and fetches everything concurrently under one rate limiter.
// Each year is written atomically when complete; partial years are saved every few
// pages, so an interrupted run resumes where it stopped.
#include "atb/core/interval.hpp"
#include "atb/core/symbol.hpp"
#include "atb/fetch/backoff.hpp"
#include "atb/fetch/http_client.hpp"
#include "atb/fetch/progress.hpp"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace atb::fetch {

/// The guide's defaults.
std::vector<atb::symbol> default_symbols();
std::vector<atb::interval> default_intervals();
inline constexpr int default_years_back = 10;
/// preload-offline treats the current year as valid for 10 years (the guide's offline TTL).
inline constexpr std::int64_t preload_current_year_ttl_ms = 10 * 365LL * ms_per_day;
/// prefill-cache and download refresh the current year when it is older than an hour.
inline constexpr std::int64_t regular_current_year_ttl_ms = ms_per_hour;

struct live_status {
  progress_snapshot progress;
  std::int64_t window_weight = 0;   ///< weight accounted in the current window
  std::int64_t weight_budget = 0;   ///< floor(limit * share)
  std::int64_t weight_limit = 0;
  std::int64_t window_ms = 0;
  std::int64_t status_429 = 0;
  std::int64_t retries = 0;
};

struct preload_options {
  std::vector<atb::symbol> symbols = default_symbols();
  std::vector<atb::interval> intervals = default_intervals();
  int years_back = default_years_back;
  /// Overrides years_back: [first, last] calendar years (used by `download`).
  std::optional<std::pair<int, int>> years;
  std::filesystem::path cache_dir = "cache";
  std::string base_url = "https://api.binance.com";
  http_options http;
  std::size_t concurrency = 8;     ///< requests in flight
  double weight_share = 0.95;      ///< fraction of each server limit this run may use
  std::int64_t current_year_ttl_ms = preload_current_year_ttl_ms;
  bool force_refresh = false;
  backoff_policy backoff;
  /// 429s in a row for one request before its range is reported failed.
  int max_rate_limited_retries = 20;
  /// A partial year is saved when this many pages arrived since its last save …
  std::size_t save_every_pages = 16;
  /// … and at least this long ago (so fast runs do not rewrite big years over and over).
  std::int64_t save_interval_ms = 5000;
  /// Years held in memory at once are bounded by this estimate (rows × 88 bytes × 1.25);
  /// at least one year is always in progress. 128 MB keeps two 1m years in flight.
  std::uint64_t memory_budget_bytes = 128u << 20;
  /// zstd level of the year files written; unset = the store's default.
  std::optional<int> zstd_level;
  /// Plain log lines (a year written, a range failed, a cache problem).
  std::function<void(std::string const&)> log;
  /// Called about every progress_interval_ms while the run lasts.
  std::function<void(live_status const&)> progress;
  std::int64_t progress_interval_ms = 250;
  /// Set to true (e.g. from a signal handler) to stop: partial years are saved, then the
  /// run returns with interrupted = true.
  std::atomic<bool>* stop = nullptr;
  /// Install SIGINT/SIGTERM handlers for the run's duration (the CLI does).
  bool handle_signals = false;
};

struct failed_range {
  atb::symbol symbol;
  atb::interval interval;
  timestamp_ms from{};
  timestamp_ms to{};
  std::string reason;  ///< one sentence
  std::string describe() const;
};

struct preload_summary {
  std::uint64_t requests = 0;         ///< every HTTP request sent (incl. exchangeInfo, time, retries)
  std::uint64_t klines_requests = 0;  ///< GET /api/v3/klines requests sent
  std::uint64_t weight_used = 0;      ///< weight accounted for the requests sent
  std::uint64_t status_429 = 0;
  std::uint64_t status_418 = 0;
  std::uint64_t retries = 0;
  std::uint64_t candles = 0;          ///< candles received and kept
  std::uint64_t bytes = 0;            ///< HTTP bytes received
  double seconds = 0;
  std::uint64_t files_written = 0;    ///< year files written (complete and partial saves)
  std::uint64_t years_planned = 0;
  std::uint64_t years_skipped = 0;    ///< complete, fresh, before listing or future
  std::uint64_t first_candle_lookups = 0;
  std::int64_t weight_limit = 0;      ///< from exchangeInfo
  std::int64_t window_ms = 0;
  std::int64_t weight_budget = 0;     ///< floor(limit × share)
  std::int64_t max_used_weight_header = 0;  ///< highest X-MBX-USED-WEIGHT-* seen
  /// Weight per second sent from the first moment the limiter held a request back (the
  /// budget was reached) to the last request: the rate sustained at the ceiling. 0 when
  /// the limiter never had to wait.
  double sustained_weight_per_s = 0;
  double weight_share = 0;
  timestamp_ms server_time{};
  bool interrupted = false;
  std::vector<failed_range> failed;
  /// {"requests":…, …} on one line.
  std::string to_json() const;
};

/// Runs a download. Errors (the run could not start or had to stop): the API unreachable
/// (is_unreachable() is true: DNS, connect, TLS), an IP ban (HTTP 418), an invalid base
/// URL or CA file. Failed ranges are not errors: they are listed in the summary.
result<preload_summary> run_preload(preload_options const& opt);

/// One row of the --test-offline table: everything the cache holds for symbol × interval.
struct coverage_row {
  atb::symbol symbol;
  atb::interval interval;
  int years = 0;            ///< year files present
  int complete_years = 0;   ///< with the complete flag
  std::uint64_t candles = 0;
  std::uint64_t gaps = 0;   ///< missing candles between stored ones
  timestamp_ms first{}, last{};
  std::vector<std::string> problems;  ///< unreadable files, one sentence each
};
/// Reads every year file of each symbol × interval back through the offline read path
/// (year_file::open + read), years [first_year, last_year].
std::vector<coverage_row> offline_coverage(std::filesystem::path const& cache_dir, std::vector<atb::symbol> const& symbols,
                                           std::vector<atb::interval> const& intervals, int first_year, int last_year);

/// <cache>/meta/first_candles.json: the learned first open time per symbol and interval
/// (-1 = the symbol has no candles). Missing or unreadable file = empty map.
struct first_candle_book {
  std::map<std::string, std::map<std::string, std::int64_t>> entries;  // symbol → interval → ms
  static first_candle_book load(std::filesystem::path const& cache_dir);
  result<void> save(std::filesystem::path const& cache_dir) const;
  std::optional<std::int64_t> find(atb::symbol const& s, atb::interval iv) const;
  void set(atb::symbol const& s, atb::interval iv, std::int64_t ms);
};
std::filesystem::path first_candles_path(std::filesystem::path const& cache_dir);

}  // namespace atb::fetch
