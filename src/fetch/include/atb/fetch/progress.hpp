#pragma once
// Live progress figures (candles, requests/s, ETA) from counters. Pure: `now` is a
// parameter (a monotonic millisecond clock), so tests use a fake clock.
#include "atb/core/time.hpp"

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

namespace atb::fetch {

struct progress_snapshot {
  std::int64_t candles = 0;
  std::int64_t candles_total_estimate = 0;
  std::int64_t requests = 0;
  double requests_per_s = 0;
  double candles_per_s = 0;
  std::optional<std::int64_t> eta_ms;  ///< absent until a rate is known
};

class progress_meter {
 public:
  /// Rates are averaged over the last `window_ms` (default 5 s).
  explicit progress_meter(std::int64_t window_ms = 5000) : window_ms_(window_ms) {}

  void set_total_estimate(std::int64_t candles) noexcept { total_ = candles; }
  void add_total_estimate(std::int64_t candles) noexcept { total_ += candles; }
  /// Adds finished work observed at `now`.
  void add(std::int64_t candles, std::int64_t requests, timestamp_ms now);
  progress_snapshot snapshot(timestamp_ms now);

 private:
  struct sample { std::int64_t t, candles, requests; };
  std::int64_t window_ms_;
  std::int64_t total_ = 0, candles_ = 0, requests_ = 0;
  std::deque<sample> samples_;
  void trim(timestamp_ms now);
};

/// "1h02m", "3m05s", "42s".
std::string format_duration_ms(std::int64_t ms);
/// "1,234,567".
std::string format_count(std::int64_t n);

}  // namespace atb::fetch
