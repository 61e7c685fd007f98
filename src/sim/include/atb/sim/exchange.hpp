#pragma once
// The request logic of the simulated exchange, independent of sockets: one HTTP request
// (method, target, client IP, time-unit header) and the exchange clock in, one response
// out — status, headers, body, and the wire-level fault the server must act out.
// Thread-safe: the server may call handle() from several io threads.
#include "atb/sim/faults.hpp"
#include "atb/sim/market.hpp"
#include "atb/sim/rate_limiter.hpp"
#include "atb/sim/render.hpp"

#include <atomic>
#include <array>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace atb::sim {

struct exchange_options {
  rate_limit_options limits;
  std::uint64_t seed = 1;
  double fault_rate = 0;                 ///< share of API responses that get a fault, [0, 1]
  std::vector<fault_kind> faults;        ///< enabled kinds (empty: all)
  /// Rendered klines pages of closed candles are kept up to this many bytes (0: off).
  /// A page is cached only if no future tick of the clock can change it.
  std::size_t page_cache_bytes = 256u << 20;
};

struct request_view {
  std::string_view method = "GET";
  std::string_view target;             ///< path and query, e.g. "/api/v3/klines?symbol=BTCUSDT&interval=1h"
  std::string_view client_ip = "127.0.0.1";
  time_unit unit = time_unit::millisecond;  ///< from X-MBX-TIME-UNIT
};

struct response {
  int status = 200;
  std::string content_type = "application/json;charset=UTF-8";
  std::vector<std::pair<std::string, std::string>> headers;  ///< besides Content-Type/Content-Length
  std::shared_ptr<std::string const> body;
  /// A fault to act out on the wire (reset_before, reset_mid_body, truncated_body, stall);
  /// body-level faults (5xx, bad_json, 429_no_retry_after) are already in status/body.
  std::optional<fault_kind> fault;
  std::uint64_t request_number = 0;     ///< arrival number of API requests (for jitter)
  bool counted = true;                  ///< false for /__stats (not an API request)
};

/// Counters for GET /__stats. All relaxed atomics: they are statistics, not synchronisation.
struct exchange_stats {
  std::atomic<std::uint64_t> requests{0}, klines_requests{0}, weight_used{0};
  std::atomic<std::uint64_t> status_2xx{0}, status_400{0}, status_404{0}, status_429{0}, status_418{0}, status_5xx{0};
  std::atomic<std::uint64_t> bans{0}, faults_injected{0}, bytes_sent{0};
  std::atomic<std::uint64_t> page_cache_hits{0}, page_cache_misses{0};
  std::atomic<std::uint64_t> connections_accepted{0}, connections_active{0}, connections_refused{0};
  std::atomic<std::uint64_t> session_errors{0};
  std::array<std::atomic<std::uint64_t>, fault_kind_count> faults_by_kind{};
};

class exchange {
 public:
  /// `m` must outlive the exchange.
  exchange(market const& m, exchange_options opt);

  response handle(request_view const& req, timestamp_ms now);

  exchange_stats& stats() noexcept { return stats_; }
  std::string stats_json() const;
  window_name const& window() const noexcept { return window_; }
  exchange_options const& options() const noexcept { return opt_; }

 private:
  response klines(std::string_view query, time_unit unit, timestamp_ms now);
  response exchange_info(std::string_view query, timestamp_ms now);

  market const& market_;
  exchange_options opt_;
  window_name window_;
  fault_plan faults_;
  std::mutex limiter_mu_;
  rate_limiter limiter_;
  std::atomic<std::uint64_t> next_request_{0};
  exchange_stats stats_;

  std::mutex cache_mu_;
  std::unordered_map<std::string, std::shared_ptr<std::string const>> page_cache_;
  std::size_t page_cache_size_ = 0;
};

/// Splits a query string into (name, value) pairs, percent-decoding both ('+' is a space).
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query);

}  // namespace atb::sim
