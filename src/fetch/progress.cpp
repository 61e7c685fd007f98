#include "atb/fetch/progress.hpp"

#include <cstdio>

namespace atb::fetch {

void progress_meter::add(std::int64_t candles, std::int64_t requests, timestamp_ms now) {
  candles_ += candles;
  requests_ += requests;
  if (samples_.empty() || samples_.back().t != now.ms)
    samples_.push_back({now.ms, candles_, requests_});
  else
    samples_.back() = {now.ms, candles_, requests_};
  trim(now);
}

void progress_meter::trim(timestamp_ms now) {
  // Keep one sample at or before the window start so the rate spans the whole window.
  while (samples_.size() > 2 && samples_[1].t <= now.ms - window_ms_) samples_.pop_front();
}

progress_snapshot progress_meter::snapshot(timestamp_ms now) {
  trim(now);
  progress_snapshot s;
  s.candles = candles_;
  s.requests = requests_;
  s.candles_total_estimate = total_;
  if (samples_.size() >= 2) {
    auto const& a = samples_.front();
    auto const dt = now.ms - a.t;
    if (dt > 0) {
      s.candles_per_s = static_cast<double>(candles_ - a.candles) * 1000.0 / static_cast<double>(dt);
      s.requests_per_s = static_cast<double>(requests_ - a.requests) * 1000.0 / static_cast<double>(dt);
    }
  }
  if (total_ > 0 && candles_ >= total_)
    s.eta_ms = 0;
  else if (s.candles_per_s > 0 && total_ > 0)
    s.eta_ms = static_cast<std::int64_t>(static_cast<double>(total_ - candles_) * 1000.0 / s.candles_per_s);
  return s;
}

std::string format_duration_ms(std::int64_t ms) {
  if (ms < 0) ms = 0;
  auto const s = (ms + 999) / 1000;
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600), static_cast<long long>(s / 60 % 60));
  else if (s >= 60)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  return buf;
}

std::string format_count(std::int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  int c = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (c && c % 3 == 0) out.push_back(',');
    out.push_back(*it);
    ++c;
  }
  if (n < 0) out.push_back('-');
  return {out.rbegin(), out.rend()};
}

}  // namespace atb::fetch
