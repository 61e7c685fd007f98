#pragma once
// Bounded exponential backoff with jitter for 5xx and network errors. Pure: the caller
// supplies the random number, so tests are exact.
#include <cstdint>

namespace atb::fetch {

struct backoff_policy {
  std::int64_t base_ms = 250;    ///< delay before the first retry (before jitter)
  std::int64_t max_ms = 8'000;   ///< no single delay exceeds this
  int max_retries = 6;           ///< after this many retries the range is reported failed
};

/// Delay before retry number `retry` (1-based): d = min(max_ms, base_ms * 2^(retry-1)),
/// returned as d/2 + u*d/2 ("equal jitter"), u in [0, 1). Never negative, never > max_ms.
std::int64_t backoff_delay_ms(backoff_policy const& p, int retry, double u) noexcept;

/// True while another retry is allowed after `retries_done` retries.
inline bool may_retry(backoff_policy const& p, int retries_done) noexcept { return retries_done < p.max_retries; }

}  // namespace atb::fetch
