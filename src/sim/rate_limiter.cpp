#include "atb/sim/rate_limiter.hpp"

#include <algorithm>

namespace atb::sim {

window_name name_window(std::int64_t w) {
  struct unit {
    std::int64_t ms;
    char letter;
    char const* name;
  };
  static constexpr unit units[] = {{ms_per_day, 'D', "DAY"}, {ms_per_hour, 'H', "HOUR"},
                                   {ms_per_minute, 'M', "MINUTE"}, {ms_per_second, 'S', "SECOND"}};
  for (auto const& u : units)
    if (w % u.ms == 0)
      return {"X-MBX-USED-WEIGHT-" + std::to_string(w / u.ms) + u.letter, u.name, w / u.ms};
  return {"X-MBX-USED-WEIGHT-" + std::to_string(w) + "MS", "SECOND", 1};
}

namespace {
std::int64_t ceil_seconds(std::int64_t ms) { return std::max<std::int64_t>(1, (ms + 999) / 1000); }
std::int64_t window_of(std::int64_t now, std::int64_t w) {
  std::int64_t q = now / w;
  if (now % w < 0) --q;
  return q * w;
}
}  // namespace

admission rate_limiter::admit(std::string_view ip, std::int64_t weight, timestamp_ms now) {
  client& c = clients_[std::string(ip)];
  std::int64_t const ws = window_of(now.ms, opt_.window_ms);
  if (c.window_start != ws) {
    c.window_start = ws;
    c.used = 0;
    c.rejected = 0;
  }
  c.used += weight;
  admission a;
  a.used_weight = c.used;
  if (c.banned_until > now.ms) {
    a.v = verdict::banned;
    a.retry_after_s = ceil_seconds(c.banned_until - now.ms);
    return a;
  }
  if (c.used <= opt_.weight_limit) return a;
  if (c.rejected >= opt_.ban_after) {
    ++c.offences;
    std::int64_t ban = opt_.first_ban_ms;
    for (std::int64_t i = 1; i < c.offences && ban < opt_.max_ban_ms; ++i) ban *= 2;
    ban = std::min(ban, opt_.max_ban_ms);
    c.banned_until = now.ms + ban;
    c.rejected = 0;
    a.v = verdict::banned;
    a.new_ban = true;
    a.retry_after_s = ceil_seconds(ban);
    return a;
  }
  ++c.rejected;
  a.v = verdict::rate_limited;
  a.retry_after_s = ceil_seconds(ws + opt_.window_ms - now.ms);
  return a;
}

std::int64_t rate_limiter::used(std::string_view ip, timestamp_ms now) const {
  auto it = clients_.find(std::string(ip));
  if (it == clients_.end() || it->second.window_start != window_of(now.ms, opt_.window_ms)) return 0;
  return it->second.used;
}

}  // namespace atb::sim
