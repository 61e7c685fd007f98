#pragma once
// Client-side accounting of Binance's per-IP limits (REQUEST_WEIGHT, RAW_REQUESTS).
//
// Pure logic: every call takes `now` (a monotonic millisecond clock of the caller's
// choice), so tests drive it with a fake clock. Not thread-safe: the downloader uses it
// from its single I/O thread.
//
// Model: a sliding window per rule. A request is admitted only if, counting it, the
// weight sent in the last window stays within floor(limit * share). A sliding window is
// never looser than the server's fixed or sliding windows, so the client cannot
// provoke a 429 through its own traffic; X-MBX-USED-WEIGHT-* headers add "phantom"
// weight when the server counts more than we sent (other programs on the same IP).
#include "atb/core/time.hpp"

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atb::fetch {

enum class limit_kind { request_weight, raw_requests };

struct rate_limit_rule {
  limit_kind kind = limit_kind::request_weight;
  std::int64_t window_ms = 60'000;
  std::int64_t limit = 6000;
  /// Suffix of the X-MBX-USED-WEIGHT-<suffix> header for this window ("1M"), weight rules only.
  std::string header_suffix = "1M";
};

/// Binance's documented defaults (6000 weight / 1 min, 300000 raw requests / 5 min),
/// used only when exchangeInfo cannot be read.
std::vector<rate_limit_rule> binance_default_limits();

/// "1M" for (1, MINUTE): the header suffix Binance uses for a window.
std::string header_suffix_for(int interval_num, char letter);

class weight_limiter {
 public:
  /// share in (0, 1]: the fraction of each limit this client may use.
  weight_limiter(std::vector<rate_limit_rule> rules, double share);

  /// If the request (weight, and 1 raw request) fits every window now, accounts it and
  /// returns `now`. Otherwise accounts nothing and returns the earliest instant (> now)
  /// at which it may fit; the caller waits and calls again.
  timestamp_ms try_acquire(std::int64_t weight, timestamp_ms now);

  /// The server reported `used` weight in the window of header suffix `suffix` (it
  /// includes the request just answered). If that is more than this client has
  /// accounted in its own window, the difference is accounted now.
  void observe_used_weight(std::string_view suffix, std::int64_t used, timestamp_ms now);

  /// After a 429/418: nothing is admitted before `until`.
  void pause_until(timestamp_ms until);
  timestamp_ms paused_until() const noexcept { return paused_until_; }

  /// Weight accounted in the current window of the first weight rule (for progress).
  std::int64_t window_weight(timestamp_ms now);
  /// floor(limit * share) of the first weight rule; 0 when there is no weight rule.
  std::int64_t weight_budget() const noexcept;
  std::int64_t weight_limit() const noexcept;
  std::int64_t weight_window_ms() const noexcept;
  std::vector<rate_limit_rule> const& rules() const noexcept { return rules_; }

 private:
  struct window {
    rate_limit_rule rule;
    std::int64_t budget = 0;
    std::deque<std::pair<std::int64_t, std::int64_t>> entries;  // (time ms, amount)
    std::int64_t sum = 0;
    void expire(timestamp_ms now);
  };
  std::vector<rate_limit_rule> rules_;
  std::vector<window> windows_;
  timestamp_ms paused_until_{};
};

}  // namespace atb::fetch
