// Strategy registry and target computation (rules: docs/STRATEGIES.md).
#include "atb/engine/strategy.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fmt/format.h>

namespace atb::engine {
namespace {

constexpr param_spec no_params[1] = {{"", 0, 0, 0, false, ""}};
constexpr param_spec sma_params[] = {
    {"fast", 10, 1, 100000, true, "length of the fast simple moving average (closes)"},
    {"slow", 50, 2, 100000, true, "length of the slow simple moving average (closes)"},
};
constexpr param_spec ema_params[] = {
    {"fast", 12, 1, 100000, true, "span of the fast exponential moving average (alpha = 2/(span+1))"},
    {"slow", 26, 2, 100000, true, "span of the slow exponential moving average"},
};
constexpr param_spec rsi_params[] = {
    {"period", 14, 1, 100000, true, "Wilder RSI period"},
    {"lower", 30, 0, 100, false, "enter long when RSI falls below this"},
    {"upper", 70, 0, 100, false, "exit (or go short) when RSI rises above this"},
};
constexpr param_spec boll_params[] = {
    {"period", 20, 2, 100000, true, "window of the middle band (simple moving average)"},
    {"k", 2, 0, 100, false, "band width in population standard deviations"},
};
constexpr param_spec ml_params[] = {
    {"lags", 5, 1, 50, true, "lagged returns used as features"},
    {"lr", 0.05, 0, 10, false, "SGD learning rate"},
    {"l2", 0.0001, 0, 1, false, "L2 penalty on the weights"},
    {"warmup", 200, 0, 1e9, true, "bars before the model may trade"},
    {"threshold", 0.55, 0.5, 1, false, "go long when P(up) exceeds this"},
};

constexpr strategy_info strategies[] = {
    {strategy_id::buy_and_hold, "buy_and_hold", "long from the first fill to the end", std::span<param_spec const>(no_params, 0)},
    {strategy_id::sma_cross, "sma_cross", "long while SMA(fast) > SMA(slow)", sma_params},
    {strategy_id::ema_cross, "ema_cross", "long while EMA(fast) > EMA(slow)", ema_params},
    {strategy_id::rsi_reversion, "rsi_reversion", "buy when RSI < lower, sell when RSI > upper", rsi_params},
    {strategy_id::bollinger_breakout, "bollinger_breakout", "buy a close above the upper band, exit below the middle", boll_params},
    {strategy_id::ml_basic, "ml_basic", "walk-forward online logistic regression on lagged returns", ml_params},
};

atb::error bad_param(std::string msg) { return atb::error(engine_errc::invalid_parameter, std::move(msg)); }

void sma_cross_targets(bar_series const& b, std::size_t fast, std::size_t slow, bool allow_short, std::span<std::int8_t> out) {
  std::size_t const n = b.size();
  double const* c = b.close.data();
  std::fill(out.begin(), out.end(), std::int8_t{0});
  if (n < slow) return;
  // Rolling sums; exact while closes are integer-valued (mantissas) and sums < 2^53.
  double sf = 0, ss = 0;
  for (std::size_t i = 0; i < slow; ++i) {
    ss += c[i];
    if (i + fast >= slow) sf += c[i];
  }
  double const df = static_cast<double>(fast), ds = static_cast<double>(slow);
  for (std::size_t i = slow - 1; i < n; ++i) {
    if (i >= slow) {
      sf += c[i] - c[i - fast];
      ss += c[i] - c[i - slow];
    }
    // SMA(fast) > SMA(slow)  <=>  sf*slow > ss*fast, compared exactly (two-product).
    double const p1 = sf * ds, e1 = std::fma(sf, ds, -p1);
    double const p2 = ss * df, e2 = std::fma(ss, df, -p2);
    bool const gt = p1 > p2 || (p1 == p2 && e1 > e2);
    bool const lt = p1 < p2 || (p1 == p2 && e1 < e2);
    out[i] = gt ? std::int8_t{1} : (allow_short && lt ? std::int8_t{-1} : std::int8_t{0});
  }
}

void ema_cross_targets(bar_series const& b, std::size_t fast, std::size_t slow, bool allow_short, std::span<std::int8_t> out) {
  std::size_t const n = b.size();
  double const* c = b.close.data();
  double const af = 2.0 / (static_cast<double>(fast) + 1.0), as = 2.0 / (static_cast<double>(slow) + 1.0);
  double ef = n ? c[0] : 0, es = ef;
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0) {
      ef += af * (c[i] - ef);
      es += as * (c[i] - es);
    }
    std::int8_t t = 0;
    if (i + 1 >= slow) t = ef > es ? 1 : (allow_short && ef < es ? -1 : 0);
    out[i] = t;
  }
}

void rsi_targets(bar_series const& b, std::size_t period, double lower, double upper, bool allow_short, std::span<std::int8_t> out) {
  std::size_t const n = b.size();
  double const* c = b.close.data();
  double const p = static_cast<double>(period);
  double ag = 0, al = 0;
  std::int8_t s = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (i >= 1) {
      double const d = c[i] - c[i - 1];
      double const g = d > 0 ? d : 0.0, l = d < 0 ? -d : 0.0;
      if (i <= period) {
        ag += g;
        al += l;
        if (i == period) {
          ag /= p;
          al /= p;
        }
      } else {
        ag = (ag * (p - 1) + g) / p;
        al = (al * (p - 1) + l) / p;
      }
    }
    if (i >= period) {
      double const rsi = al == 0 ? (ag == 0 ? 50.0 : 100.0) : 100.0 - 100.0 / (1.0 + ag / al);
      if (rsi < lower) s = 1;
      else if (rsi > upper) s = allow_short ? std::int8_t{-1} : std::int8_t{0};
    }
    out[i] = s;
  }
}

void bollinger_targets(bar_series const& b, std::size_t period, double k, bool allow_short, std::span<std::int8_t> out) {
  std::size_t const n = b.size();
  double const* c = b.close.data();
  double const p = static_cast<double>(period);
  std::int8_t s = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (i + 1 >= period) {
      double sum = 0;
      for (std::size_t j = i + 1 - period; j <= i; ++j) sum += c[j];
      double const m = sum / p;
      double var = 0;
      for (std::size_t j = i + 1 - period; j <= i; ++j) var += (c[j] - m) * (c[j] - m);
      double const sd = std::sqrt(var / p);
      double const up = m + k * sd, lo = m - k * sd;
      if (c[i] > up) s = 1;
      else if (c[i] < lo) s = allow_short ? std::int8_t{-1} : std::int8_t{0};
      else if (s == 1 && c[i] < m) s = 0;
      else if (s == -1 && c[i] > m) s = 0;
    }
    out[i] = s;
  }
}

// Online logistic regression, one SGD step per bar on the sample whose label has just
// become known; prediction for bar i uses only closes up to i.
void ml_targets(bar_series const& b, strategy_params const& prm, bool allow_short, std::span<std::int8_t> out) {
  std::size_t const n = b.size();
  double const* c = b.close.data();
  std::size_t const lags = static_cast<std::size_t>(prm.values[0]);
  double const lr = prm.values[1], l2 = prm.values[2];
  std::size_t const warmup = static_cast<std::size_t>(prm.values[3]);
  double const thr = prm.values[4];
  constexpr std::size_t sma_len = 20;
  std::size_t const nf = lags + 2;  // bias, lags, distance to SMA(20)
  std::size_t const first = std::max(lags, sma_len - 1);
  std::vector<double> w(nf, 0.0), x(nf, 0.0), xprev(nf, 0.0);
  auto features = [&](std::size_t i, std::vector<double>& f) {
    f[0] = 1.0;
    for (std::size_t l = 0; l < lags; ++l) {
      double const r = (c[i - l] / c[i - l - 1] - 1.0) * 100.0;
      f[1 + l] = std::clamp(r, -10.0, 10.0);
    }
    double sum = 0;
    for (std::size_t j = i + 1 - sma_len; j <= i; ++j) sum += c[j];
    double const d = (c[i] / (sum / static_cast<double>(sma_len)) - 1.0) * 100.0;
    f[1 + lags] = std::clamp(d, -10.0, 10.0);
  };
  auto prob = [&](std::vector<double> const& f) {
    double z = 0;
    for (std::size_t k = 0; k < nf; ++k) z += w[k] * f[k];
    return 1.0 / (1.0 + std::exp(-z));
  };
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = 0;
    if (i < first) continue;
    features(i, x);
    if (i > first) {  // learn from (x_{i-1}, did close rise from i-1 to i)
      double const y = c[i] > c[i - 1] ? 1.0 : 0.0;
      double const g = prob(xprev) - y;
      for (std::size_t k = 0; k < nf; ++k) w[k] -= lr * (g * xprev[k] + l2 * w[k]);
    }
    if (i >= warmup) {
      double const pu = prob(x);
      if (pu > thr) out[i] = 1;
      else if (allow_short && pu < 1.0 - thr) out[i] = -1;
    }
    std::swap(x, xprev);
  }
}

}  // namespace

std::span<strategy_info const> all_strategies() noexcept { return strategies; }

strategy_info const* find_strategy(std::string_view name) noexcept {
  for (auto const& s : strategies)
    if (s.name == name) return &s;
  return nullptr;
}

strategy_info const& info(strategy_id id) noexcept { return strategies[static_cast<std::size_t>(id)]; }

double strategy_params::get(std::string_view name) const noexcept {
  auto ps = info(id).params;
  for (std::size_t i = 0; i < ps.size(); ++i)
    if (ps[i].name == name) return values[i];
  return 0;
}

std::string strategy_params::to_string() const {
  std::string s;
  auto ps = info(id).params;
  for (std::size_t i = 0; i < ps.size(); ++i) {
    if (!s.empty()) s += ' ';
    s += fmt::format("{}={}", ps[i].name, values[i]);
  }
  return s;
}

strategy_params default_params(strategy_id id) noexcept {
  strategy_params p;
  p.id = id;
  auto ps = info(id).params;
  for (std::size_t i = 0; i < ps.size(); ++i) p.values[i] = ps[i].default_value;
  return p;
}

result<void> set_param(strategy_params& p, std::string_view name, std::string_view text) {
  auto const& si = info(p.id);
  auto ps = si.params;
  for (std::size_t i = 0; i < ps.size(); ++i) {
    if (ps[i].name != name) continue;
    double v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || ptr != text.data() + text.size() || !std::isfinite(v))
      return bad_param(fmt::format("parameter {} of {} must be a number, not '{}'.", name, si.name, text));
    if (ps[i].integer && v != std::floor(v))
      return bad_param(fmt::format("parameter {} of {} must be a whole number, not '{}'.", name, si.name, text));
    if (v < ps[i].min_value || v > ps[i].max_value)
      return bad_param(fmt::format("parameter {} of {} must be between {} and {}, not {}.", name, si.name,
                                   ps[i].min_value, ps[i].max_value, text));
    p.values[i] = v;
    return {};
  }
  std::string valid;
  for (auto const& s : ps) valid += (valid.empty() ? "" : ", ") + std::string(s.name);
  if (valid.empty()) return bad_param(fmt::format("{} takes no parameters, but '{}' was given.", si.name, name));
  return bad_param(fmt::format("{} has no parameter '{}'; its parameters are: {}.", si.name, name, valid));
}

result<void> validate(strategy_params const& p) {
  auto const& si = info(p.id);
  if (p.id == strategy_id::sma_cross || p.id == strategy_id::ema_cross) {
    if (p.values[0] >= p.values[1])
      return bad_param(fmt::format("{} needs fast < slow, but fast={} and slow={}.", si.name, p.values[0], p.values[1]));
  }
  if (p.id == strategy_id::rsi_reversion && p.values[1] >= p.values[2])
    return bad_param(fmt::format("rsi_reversion needs lower < upper, but lower={} and upper={}.", p.values[1], p.values[2]));
  return {};
}

void compute_targets(strategy_params const& p, bar_series const& bars, bool allow_short, std::span<std::int8_t> out) {
  auto const sz = [](double v) { return static_cast<std::size_t>(v); };
  switch (p.id) {
    case strategy_id::buy_and_hold: std::fill(out.begin(), out.end(), std::int8_t{1}); return;
    case strategy_id::sma_cross: sma_cross_targets(bars, sz(p.values[0]), sz(p.values[1]), allow_short, out); return;
    case strategy_id::ema_cross: ema_cross_targets(bars, sz(p.values[0]), sz(p.values[1]), allow_short, out); return;
    case strategy_id::rsi_reversion:
      rsi_targets(bars, sz(p.values[0]), p.values[1], p.values[2], allow_short, out);
      return;
    case strategy_id::bollinger_breakout: bollinger_targets(bars, sz(p.values[0]), p.values[1], allow_short, out); return;
    case strategy_id::ml_basic: ml_targets(bars, p, allow_short, out); return;
  }
}

}  // namespace atb::engine
