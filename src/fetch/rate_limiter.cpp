#include "atb/fetch/rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace atb::fetch {

std::vector<rate_limit_rule> binance_default_limits() {
  return {rate_limit_rule{limit_kind::request_weight, 60'000, 6000, "1M"},
          rate_limit_rule{limit_kind::raw_requests, 300'000, 300'000, ""}};
}

std::string header_suffix_for(int interval_num, char letter) { return std::to_string(interval_num) + letter; }

weight_limiter::weight_limiter(std::vector<rate_limit_rule> rules, double share) : rules_(std::move(rules)) {
  if (!(share > 0.0) || share > 1.0) share = 1.0;
  for (auto const& r : rules_) {
    if (r.limit <= 0 || r.window_ms <= 0) continue;
    window w;
    w.rule = r;
    w.budget = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::floor(static_cast<double>(r.limit) * share)));
    windows_.push_back(std::move(w));
  }
}

void weight_limiter::window::expire(timestamp_ms now) {
  // An entry sent at t counts in every window (now - window_ms, now].
  while (!entries.empty() && entries.front().first <= now.ms - rule.window_ms) {
    sum -= entries.front().second;
    entries.pop_front();
  }
}

timestamp_ms weight_limiter::try_acquire(std::int64_t weight, timestamp_ms now) {
  if (now < paused_until_) return paused_until_;
  std::int64_t ready = now.ms;
  for (auto& w : windows_) {
    w.expire(now);
    std::int64_t const amount = w.rule.kind == limit_kind::raw_requests ? 1 : weight;
    std::int64_t need = w.sum + amount - w.budget;
    if (need <= 0) continue;
    if (amount > w.budget) {  // can never fit beside anything: wait for an empty window
      need = w.sum;
    }
    std::int64_t freed = 0;
    for (auto const& [t, a] : w.entries) {
      freed += a;
      if (freed >= need) {
        ready = std::max(ready, t + w.rule.window_ms);
        break;
      }
    }
  }
  if (ready > now.ms) return timestamp_ms{ready};
  for (auto& w : windows_) {
    std::int64_t const amount = w.rule.kind == limit_kind::raw_requests ? 1 : weight;
    w.entries.emplace_back(now.ms, amount);
    w.sum += amount;
  }
  return now;
}

void weight_limiter::observe_used_weight(std::string_view suffix, std::int64_t used, timestamp_ms now) {
  for (auto& w : windows_) {
    if (w.rule.kind != limit_kind::request_weight || w.rule.header_suffix != suffix) continue;
    w.expire(now);
    if (used > w.sum) {
      w.entries.emplace_back(now.ms, used - w.sum);
      w.sum = used;
    }
  }
}

void weight_limiter::pause_until(timestamp_ms until) { paused_until_ = std::max(paused_until_, until); }

std::int64_t weight_limiter::window_weight(timestamp_ms now) {
  for (auto& w : windows_)
    if (w.rule.kind == limit_kind::request_weight) {
      w.expire(now);
      return w.sum;
    }
  return 0;
}

std::int64_t weight_limiter::weight_budget() const noexcept {
  for (auto const& w : windows_)
    if (w.rule.kind == limit_kind::request_weight) return w.budget;
  return 0;
}
std::int64_t weight_limiter::weight_limit() const noexcept {
  for (auto const& w : windows_)
    if (w.rule.kind == limit_kind::request_weight) return w.rule.limit;
  return 0;
}
std::int64_t weight_limiter::weight_window_ms() const noexcept {
  for (auto const& w : windows_)
    if (w.rule.kind == limit_kind::request_weight) return w.rule.window_ms;
  return 0;
}

}  // namespace atb::fetch
