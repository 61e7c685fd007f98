#pragma once
// Binance's request-weight limit per client IP: fixed windows aligned on the epoch
// (a 1-minute window resets at every full minute), 429 with Retry-After when a request
// would exceed the limit, and an IP ban (418) for a client that keeps sending after
// 429s in the same window, escalating for repeat offenders. Pure logic: `now` is a
// parameter. Not thread-safe: the server calls it from its one strand.
#include "atb/core/time.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace atb::sim {

struct rate_limit_options {
  std::int64_t weight_limit = 6000;  ///< per window, like Binance's REQUEST_WEIGHT 6000/1m
  std::int64_t window_ms = 60000;    ///< a whole number of seconds
  /// 429s tolerated in one window before the next over-limit request bans the IP.
  std::int64_t ban_after = 10;
  std::int64_t first_ban_ms = 2 * ms_per_minute;  ///< doubles for each repeat offence…
  std::int64_t max_ban_ms = 3 * ms_per_day;       ///< …up to Binance's 3 days
};

/// "X-MBX-USED-WEIGHT-1M" style suffix and exchangeInfo interval of a window length.
struct window_name {
  std::string header;        ///< "X-MBX-USED-WEIGHT-1M"
  std::string interval;      ///< "SECOND" "MINUTE" "HOUR" "DAY"
  std::int64_t interval_num; ///< 1
};
/// Precondition: window_ms is a positive multiple of 1000.
window_name name_window(std::int64_t window_ms);

enum class verdict { allowed, rate_limited, banned };

struct admission {
  verdict v = verdict::allowed;
  std::int64_t used_weight = 0;     ///< weight used by this IP in the current window, this request included
  std::int64_t retry_after_s = 0;   ///< for 429/418: seconds until the window ends / the ban lifts (>= 1)
  bool new_ban = false;             ///< this request started a ban
};

class rate_limiter {
 public:
  explicit rate_limiter(rate_limit_options opt) : opt_(opt) {}
  rate_limit_options const& options() const noexcept { return opt_; }

  /// Charges `weight` to `ip` at `now` and says whether the request may be served.
  /// Rejected requests are charged too (Binance counts them).
  admission admit(std::string_view ip, std::int64_t weight, timestamp_ms now);
  /// Weight `ip` has used in the window containing now (0 when unknown).
  std::int64_t used(std::string_view ip, timestamp_ms now) const;

 private:
  struct client {
    std::int64_t window_start = -1;
    std::int64_t used = 0;
    std::int64_t rejected = 0;   ///< 429s in this window
    std::int64_t offences = 0;   ///< bans so far
    std::int64_t banned_until = 0;
  };
  rate_limit_options opt_;
  std::unordered_map<std::string, client> clients_;
};

}  // namespace atb::sim
