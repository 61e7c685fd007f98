#include "atb/fetch/backoff.hpp"

#include <algorithm>

namespace atb::fetch {

std::int64_t backoff_delay_ms(backoff_policy const& p, int retry, double u) noexcept {
  if (retry < 1) retry = 1;
  std::int64_t d = std::max<std::int64_t>(0, p.base_ms);
  for (int i = 1; i < retry && d < p.max_ms; ++i) d *= 2;
  d = std::min(d, std::max<std::int64_t>(0, p.max_ms));
  u = std::clamp(u, 0.0, 1.0);
  auto const half = d / 2;
  return std::min(d, half + static_cast<std::int64_t>(u * static_cast<double>(d - half)));
}

}  // namespace atb::fetch
