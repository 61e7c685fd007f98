#include "atb/sim/synthetic_market.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

namespace atb::sim {

namespace {

__extension__ typedef __int128 i128;

constexpr std::int64_t ms_hour = ms_per_hour;
constexpr std::int64_t ms_day = ms_per_day;

std::uint64_t mix(std::uint64_t x) noexcept {  // splitmix64 finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
std::uint64_t hash3(std::uint64_t salt, std::uint64_t a, std::uint64_t b = 0) noexcept {
  return mix(salt ^ mix(a ^ mix(b + 0x632be59bd9b4e019ULL)));
}
double u01(std::uint64_t h) noexcept { return static_cast<double>(h >> 11) * 0x1.0p-53; }
/// Approximately standard normal (Irwin–Hall of 4 uniforms, rescaled).
double gauss(std::uint64_t salt, std::uint64_t a, std::uint64_t b = 0) noexcept {
  std::uint64_t h = hash3(salt, a, b);
  double s = 0;
  for (int i = 0; i < 4; ++i) {
    s += static_cast<double>(h & 0xffff) / 65536.0;
    h >>= 16;
  }
  return (s - 2.0) * 1.7320508075688772;
}
std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
double value_noise(std::uint64_t salt, double x) noexcept {
  double const fi = std::floor(x);
  auto const i = static_cast<std::int64_t>(fi);
  double const f = x - fi;
  double const v0 = 2 * u01(hash3(salt, static_cast<std::uint64_t>(i))) - 1;
  double const v1 = 2 * u01(hash3(salt, static_cast<std::uint64_t>(i + 1))) - 1;
  double const t = f * f * (3 - 2 * f);
  return v0 + (v1 - v0) * t;
}

/// Splits `total` (>= 0) into out[i] proportional to w[i] (>= 0), exactly summing to total.
void split(std::int64_t total, double const* w, std::size_t n, std::int64_t* out) {
  long double sum_w = 0;
  for (std::size_t i = 0; i < n; ++i) sum_w += w[i];
  if (total <= 0 || sum_w <= 0) {
    for (std::size_t i = 0; i < n; ++i) out[i] = 0;
    if (total > 0) out[n - 1] = total;
    return;
  }
  std::int64_t sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = static_cast<std::int64_t>(std::floor(static_cast<long double>(total) * w[i] / sum_w));
    if (out[i] < 0) out[i] = 0;
    sum += out[i];
  }
  for (std::size_t i = 0; sum > total; i = (i + 1) % n)
    if (out[i] > 0) --out[i], --sum;
  std::int64_t rem = total - sum;
  if (rem > static_cast<std::int64_t>(n)) {  // only after float trouble: give the bulk to the largest weight
    std::size_t big = static_cast<std::size_t>(std::max_element(w, w + n) - w);
    out[big] += rem - static_cast<std::int64_t>(n);
    rem = static_cast<std::int64_t>(n);
  }
  for (std::size_t i = 0; rem > 0; i = (i + 1) % n)
    if (w[i] > 0) ++out[i], --rem;
}

/// As split, with out[i] <= cap[i] (requires sum(cap) >= total).
void split_capped(std::int64_t total, double const* w, std::int64_t const* cap, std::size_t n, std::int64_t* out) {
  split(total, w, n, out);
  std::int64_t excess = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (out[i] > cap[i]) excess += out[i] - cap[i], out[i] = cap[i];
  for (std::size_t i = 0; i < n && excess > 0; ++i) {
    std::int64_t room = cap[i] - out[i];
    std::int64_t add = std::min(room, excess);
    out[i] += add;
    excess -= add;
  }
}

struct sym_state {
  synthetic_symbol p;
  std::uint64_t salt = 0;
  std::int64_t listed_hour = 0;  ///< hour index (ms / 1h) of the first trade
  std::int64_t listed_day = 0;
  double log_p0 = 0;
  double noise0 = 0;
};

struct octave {
  double period_days;
  double amplitude;
};
constexpr std::array<octave, 5> octaves{{{900, 0.9}, {300, 0.45}, {90, 0.25}, {30, 0.12}, {7, 0.06}}};
constexpr double white_noise = 0.022;

/// Aggregates rows into one candle.
struct aggregator {
  bool any = false;
  kline_row r;
  void add(kline_row const& c) {
    if (!any) {
      r = c;
      any = true;
      return;
    }
    r[field::high] = std::max(r[field::high], c[field::high]);
    r[field::low] = std::min(r[field::low], c[field::low]);
    r[field::close] = c[field::close];
    r[field::close_time] = c[field::close_time];
    for (field f : {field::volume, field::quote_volume, field::trades, field::taker_buy_base_volume,
                    field::taker_buy_quote_volume})
      r[f] += c[f];
  }
  std::optional<kline_row> finish(std::int64_t open, std::int64_t close) {
    if (!any) return std::nullopt;
    r[field::open_time] = open;
    r[field::close_time] = close;
    return r;
  }
};

}  // namespace

std::vector<synthetic_symbol> const& builtin_symbols() {
  auto at = [](int y, unsigned m, unsigned d, int h) {
    return timestamp_ms{to_timestamp(civil_date{y, m, d}).ms + h * ms_hour};
  };
  static std::vector<synthetic_symbol> const table{
      {"BTCUSDT", at(2017, 8, 17, 4), 4300.0, 0.30, 1'000'000, 1'000, 2.0e8},
      {"ETHUSDT", at(2017, 8, 17, 4), 300.0, 0.25, 1'000'000, 10'000, 1.0e8},
      {"BNBUSDT", at(2017, 11, 6, 3), 1.5, 0.60, 10'000, 1'000'000, 3.0e7},
      {"ADAUSDT", at(2018, 4, 17, 4), 0.25, 0.10, 10'000, 10'000'000, 2.0e7},
      {"SOLUSDT", at(2020, 8, 11, 6), 3.0, 0.60, 1'000'000, 100'000, 5.0e7},
      {"XRPUSDT", at(2018, 5, 4, 8), 0.9, 0.00, 10'000, 100'000'000, 3.0e7},
      {"DOTUSDT", at(2020, 8, 18, 23), 2.9, 0.15, 100'000, 1'000'000, 2.0e7},
      {"LINKUSDT", at(2019, 1, 16, 10), 0.5, 0.40, 10'000, 1'000'000, 1.0e7},
      {"LTCUSDT", at(2017, 12, 13, 3), 290.0, -0.10, 1'000'000, 100'000, 3.0e7},
      {"AVAXUSDT", at(2020, 9, 22, 6), 4.5, 0.30, 1'000'000, 1'000'000, 2.0e7},
  };
  return table;
}

std::vector<std::string> default_symbol_names() {
  std::vector<std::string> v;
  for (auto const& s : builtin_symbols()) v.push_back(s.name);
  return v;
}

struct synthetic_market::impl {
  synthetic_options opt;
  std::vector<sym_state> syms;

  // Cached splits: level 0 = hours of a day, 1 = minutes of an hour, 2 = seconds of a minute.
  mutable std::mutex mu;
  mutable std::unordered_map<std::uint64_t, std::shared_ptr<std::vector<kline_row> const>> cache[3];

  // ---- the tree ---------------------------------------------------------------------
  double log_price(sym_state const& s, std::int64_t day) const noexcept {
    double const x = static_cast<double>(day - s.listed_day);
    double lp = s.log_p0 + s.p.yearly_growth * x / 365.25 - s.noise0;
    for (std::size_t k = 0; k < octaves.size(); ++k)
      lp += octaves[k].amplitude * value_noise(s.salt ^ (0x100 + k), x / octaves[k].period_days);
    lp += white_noise * gauss(s.salt, 0x77, static_cast<std::uint64_t>(day));
    return lp;
  }
  std::int64_t to_ticks(sym_state const& s, double price) const noexcept {
    auto const t = static_cast<std::int64_t>(std::llround(price * 1e8 / static_cast<double>(s.p.tick_mantissa)));
    return std::max<std::int64_t>(100, t);
  }

  kline_row full_day(sym_state const& s, std::int64_t day) const {
    std::int64_t const tick = s.p.tick_mantissa;
    std::int64_t const o = to_ticks(s, std::exp(log_price(s, day)));
    std::int64_t const c = to_ticks(s, std::exp(log_price(s, day + 1)));
    auto const ud = static_cast<std::uint64_t>(day);
    double const u1 = u01(hash3(s.salt, 0x11, ud)), u2 = u01(hash3(s.salt, 0x12, ud));
    double const u3 = u01(hash3(s.salt, 0x13, ud)), u4 = u01(hash3(s.salt, 0x14, ud));
    auto h = static_cast<std::int64_t>(std::ceil(static_cast<double>(std::max(o, c)) * (1.004 + 0.025 * u1)));
    auto l = static_cast<std::int64_t>(std::floor(static_cast<double>(std::min(o, c)) * (0.996 - 0.025 * u2)));
    l = std::max<std::int64_t>(1, l);
    kline_row r;
    r[field::open_time] = day * ms_day;
    r[field::close_time] = day * ms_day + ms_day - 1;
    r[field::open] = o * tick;
    r[field::high] = h * tick;
    r[field::low] = l * tick;
    r[field::close] = c * tick;
    double const vwap = static_cast<double>(o + h + l + c) / 4.0 * static_cast<double>(tick) / 1e8;
    double const move = std::abs(static_cast<double>(c - o)) / static_cast<double>(o);
    double q_usd = s.p.daily_quote_volume * std::exp(0.35 * gauss(s.salt, 0x15, ud)) * (1 + 4 * move);
    q_usd = std::clamp(q_usd, s.p.daily_quote_volume / 5, s.p.daily_quote_volume * 4);
    double const step = static_cast<double>(s.p.step_mantissa) / 1e8;
    auto const v_units = std::max<std::int64_t>(1, std::llround(q_usd / vwap / step));
    std::int64_t const v = v_units * s.p.step_mantissa;
    auto const q = static_cast<std::int64_t>(std::llround(static_cast<long double>(v) * vwap));
    auto const tb_units = static_cast<std::int64_t>(std::floor(static_cast<double>(v_units) * (0.42 + 0.16 * u3)));
    std::int64_t const tb = tb_units * s.p.step_mantissa;
    auto const tq = static_cast<std::int64_t>(static_cast<i128>(q) * tb / v);
    r[field::volume] = v;
    r[field::quote_volume] = q;
    r[field::taker_buy_base_volume] = tb;
    r[field::taker_buy_quote_volume] = tq;
    r[field::trades] = std::max<std::int64_t>(1, std::llround(q_usd / (250 + 500 * u4)));
    return r;
  }

  /// Splits `parent` into n children of child_ms each, exactly aggregating to it.
  /// Children without trades are flat at the previous close with no volume (quiet seconds
  /// of a small coin look like Binance's: O=H=L=C, volume 0, trades 0).
  std::vector<kline_row> subdivide(sym_state const& s, kline_row const& parent, std::size_t n, std::int64_t child_ms,
                                   std::uint64_t key) const {
    std::int64_t const tick = s.p.tick_mantissa;
    std::int64_t const O = parent[field::open] / tick, C = parent[field::close] / tick;
    std::int64_t const H = parent[field::high] / tick, L = parent[field::low] / tick;

    // 1. Trades decide which children are active at all.
    std::vector<double> act(n);
    for (std::size_t i = 0; i < n; ++i) act[i] = 0.3 + u01(hash3(s.salt ^ 0xB4, key, i));
    std::vector<std::int64_t> tr(n);
    split(parent[field::trades], act.data(), n, tr.data());
    std::vector<bool> active(n);
    std::size_t m = 0;
    for (std::size_t i = 0; i < n; ++i) m += (active[i] = tr[i] > 0) ? 1 : 0;
    if (m == 0) {  // a parent without trades: the price can still only move in one child
      active[n - 1] = true;
      m = 1;
    }

    // 2. A Brownian bridge from O to C over the active children, scaled into [L, H].
    std::vector<double> walk(m + 1, 0.0), lin(m + 1), bridge(m + 1);
    for (std::size_t j = 1; j <= m; ++j) walk[j] = walk[j - 1] + gauss(s.salt ^ 0xB1, key, j);
    double scale = std::numeric_limits<double>::infinity();
    for (std::size_t j = 0; j <= m; ++j) {
      double const f = static_cast<double>(j) / static_cast<double>(m);
      lin[j] = static_cast<double>(O) + static_cast<double>(C - O) * f;
      bridge[j] = walk[j] - f * walk[m];
      if (bridge[j] > 1e-12) scale = std::min(scale, (static_cast<double>(H) - lin[j]) / bridge[j]);
      if (bridge[j] < -1e-12) scale = std::min(scale, (lin[j] - static_cast<double>(L)) / -bridge[j]);
    }
    if (!std::isfinite(scale)) scale = 0;
    scale *= 0.55 + 0.4 * u01(hash3(s.salt ^ 0xB2, key));
    std::vector<std::int64_t> b(n + 1);
    b[0] = O;
    for (std::size_t i = 0, j = 0; i < n; ++i) {
      if (!active[i]) {
        b[i + 1] = b[i];
        continue;
      }
      ++j;
      b[i + 1] = j == m ? C : std::clamp<std::int64_t>(std::llround(lin[j] + scale * bridge[j]), L, H);
    }

    // 3. Prices: wicks on active children; the parent's high and low land on the active
    //    children nearest to them.
    std::vector<kline_row> out(n);
    double const wick = static_cast<double>(H - L) * 0.25 / std::sqrt(static_cast<double>(m));
    std::size_t ih = n, il = n;
    std::vector<double> w(n, 0.0), wq(n);
    for (std::size_t i = 0; i < n; ++i) {
      kline_row& r = out[i];
      std::int64_t const o = b[i], c = b[i + 1];
      r[field::open] = o;
      r[field::close] = c;
      r[field::high] = std::max(o, c);
      r[field::low] = std::min(o, c);
      if (!active[i]) continue;
      std::uint64_t const hh = hash3(s.salt ^ 0xB3, key, i);
      double const a = u01(hh), bb = u01(mix(hh));
      r[field::high] = std::min(H, std::max(o, c) + static_cast<std::int64_t>(wick * a * a));
      r[field::low] = std::max(L, std::min(o, c) - static_cast<std::int64_t>(wick * bb * bb));
      if (ih == n || std::max(o, c) > std::max(out[ih][field::open], out[ih][field::close])) ih = i;
      if (il == n || std::min(o, c) < std::min(out[il][field::open], out[il][field::close])) il = i;
      w[i] = act[i] * (1.0 + 3.0 * std::abs(static_cast<double>(c - o)) /
                                 static_cast<double>(std::max<std::int64_t>(1, H - L)));
    }
    out[ih][field::high] = H;
    out[il][field::low] = L;

    // 4. Volumes on the active children, exact sums, taker parts within their totals.
    std::int64_t const step = s.p.step_mantissa;
    std::vector<std::int64_t> vu(n), q(n), tbu(n), tq(n);
    split(parent[field::volume] / step, w.data(), n, vu.data());
    std::vector<double> wv(n);
    for (std::size_t i = 0; i < n; ++i) {
      wv[i] = static_cast<double>(vu[i]);
      auto const& r = out[i];
      wq[i] = wv[i] * static_cast<double>(r[field::open] + r[field::high] + r[field::low] + r[field::close]);
    }
    split(parent[field::quote_volume], wq.data(), n, q.data());
    split_capped(parent[field::taker_buy_base_volume] / step, wv.data(), vu.data(), n, tbu.data());
    std::vector<double> wqq(q.begin(), q.end());
    split_capped(parent[field::taker_buy_quote_volume], wqq.data(), q.data(), n, tq.data());
    std::int64_t const open0 = parent[field::open_time];
    for (std::size_t i = 0; i < n; ++i) {
      kline_row& r = out[i];
      for (field f : {field::open, field::high, field::low, field::close}) r[f] *= tick;
      r[field::open_time] = open0 + static_cast<std::int64_t>(i) * child_ms;
      r[field::close_time] = r[field::open_time] + child_ms - 1;
      r[field::volume] = vu[i] * step;
      r[field::quote_volume] = q[i];
      r[field::taker_buy_base_volume] = tbu[i] * step;
      r[field::taker_buy_quote_volume] = tq[i];
      r[field::trades] = tr[i];
    }
    return out;
  }

  // Consecutive candles of a page mostly share a split (24 hours of a day, 60 minutes of
  // an hour): each thread remembers its last one per level, so a page costs one locked
  // lookup per day instead of one per candle. `id` tells market instances apart.
  std::uint64_t const id = next_id();
  static std::uint64_t next_id() {
    static std::atomic<std::uint64_t> n{0};
    return ++n;
  }
  struct last_split {
    std::uint64_t owner = 0, key = 0;
    std::shared_ptr<std::vector<kline_row> const> v;
  };

  std::shared_ptr<std::vector<kline_row> const> const& cached(int level, std::size_t sym, std::int64_t index) const {
    std::uint64_t const key = (static_cast<std::uint64_t>(sym) << 44) ^ static_cast<std::uint64_t>(index);
    thread_local last_split last[3];
    last_split& l = last[level];
    if (l.owner == id && l.key == key && l.v) return l.v;
    l.v = lookup(level, sym, index, key);
    l.owner = id;
    l.key = key;
    return l.v;
  }

  std::shared_ptr<std::vector<kline_row> const> lookup(int level, std::size_t sym, std::int64_t index, std::uint64_t key) const {
    {
      std::lock_guard lock(mu);
      auto it = cache[level].find(key);
      if (it != cache[level].end()) return it->second;
    }
    sym_state const& s = syms[sym];
    std::shared_ptr<std::vector<kline_row> const> v;
    if (level == 0) {
      v = std::make_shared<std::vector<kline_row> const>(
          subdivide(s, full_day(s, index), 24, ms_hour, static_cast<std::uint64_t>(index)));
    } else if (level == 1) {
      auto const day = cached(0, sym, floor_div(index, 24));
      kline_row const& hr = (*day)[static_cast<std::size_t>(index - floor_div(index, 24) * 24)];
      v = std::make_shared<std::vector<kline_row> const>(
          subdivide(s, hr, 60, ms_per_minute, static_cast<std::uint64_t>(index) | (1ULL << 62)));
    } else {
      auto const hour = cached(1, sym, floor_div(index, 60));
      kline_row const& mr = (*hour)[static_cast<std::size_t>(index - floor_div(index, 60) * 60)];
      v = std::make_shared<std::vector<kline_row> const>(
          subdivide(s, mr, 60, ms_per_second, static_cast<std::uint64_t>(index) | (2ULL << 62)));
    }
    std::lock_guard lock(mu);
    if (cache[level].size() >= opt.cache_entries) cache[level].clear();
    cache[level].emplace(key, v);
    return v;
  }

  // ---- presence: listing and maintenance gaps (whole hours) ---------------------------
  std::optional<std::pair<std::int64_t, std::int64_t>> gap_of_block(sym_state const& s, std::int64_t block) const {
    std::uint64_t const h = hash3(s.salt, 0x6A9, static_cast<std::uint64_t>(block));
    if (u01(h) >= 0.3) return std::nullopt;
    std::int64_t const start = block * 720 + static_cast<std::int64_t>((h >> 20) % 717);
    if (start < s.listed_hour + 24) return std::nullopt;
    return std::pair{start, static_cast<std::int64_t>(1 + (h >> 40) % 3)};
  }
  bool hour_present(sym_state const& s, std::int64_t hour) const {
    if (hour < s.listed_hour) return false;
    auto g = gap_of_block(s, floor_div(hour, 720));
    return !(g && hour >= g->first && hour < g->first + g->second);
  }
  bool day_complete(sym_state const& s, std::int64_t day) const {
    std::int64_t const h0 = day * 24, h1 = h0 + 24;
    if (h0 < s.listed_hour) return false;
    for (std::int64_t b = floor_div(h0, 720); b <= floor_div(h1 - 1, 720); ++b)
      if (auto g = gap_of_block(s, b); g && g->first < h1 && g->first + g->second > h0) return false;
    return true;
  }

  // ---- rows as seen at `now` ------------------------------------------------------------
  std::optional<kline_row> second_row(std::size_t sym, std::int64_t sec, std::int64_t now) const {
    std::int64_t const open = sec * ms_per_second;
    if (open > now || !hour_present(syms[sym], floor_div(open, ms_hour))) return std::nullopt;
    auto const& m = cached(2, sym, floor_div(sec, 60));
    return (*m)[static_cast<std::size_t>(sec - floor_div(sec, 60) * 60)];
  }
  std::optional<kline_row> minute_row(std::size_t sym, std::int64_t minute, std::int64_t now) const {
    std::int64_t const open = minute * ms_per_minute;
    if (open > now || !hour_present(syms[sym], floor_div(open, ms_hour))) return std::nullopt;
    if (open + ms_per_minute - 1 < now) {
      auto const& h = cached(1, sym, floor_div(minute, 60));
      return (*h)[static_cast<std::size_t>(minute - floor_div(minute, 60) * 60)];
    }
    aggregator a;
    for (std::int64_t k = 0; k < 60; ++k)
      if (auto r = second_row(sym, minute * 60 + k, now)) a.add(*r);
    return a.finish(open, open + ms_per_minute - 1);
  }
  std::optional<kline_row> hour_row(std::size_t sym, std::int64_t hour, std::int64_t now) const {
    std::int64_t const open = hour * ms_hour;
    if (open > now || !hour_present(syms[sym], hour)) return std::nullopt;
    if (open + ms_hour - 1 < now) {
      auto const& d = cached(0, sym, floor_div(hour, 24));
      return (*d)[static_cast<std::size_t>(hour - floor_div(hour, 24) * 24)];
    }
    aggregator a;
    for (std::int64_t k = 0; k < 60; ++k)
      if (auto r = minute_row(sym, hour * 60 + k, now)) a.add(*r);
    return a.finish(open, open + ms_hour - 1);
  }
  std::optional<kline_row> day_row(std::size_t sym, std::int64_t day, std::int64_t now) const {
    std::int64_t const open = day * ms_day;
    sym_state const& s = syms[sym];
    if (open > now || (day + 1) * 24 <= s.listed_hour) return std::nullopt;
    if (open + ms_day - 1 < now && day_complete(s, day)) return full_day(s, day);
    aggregator a;
    for (std::int64_t k = 0; k < 24; ++k)
      if (auto r = hour_row(sym, day * 24 + k, now)) a.add(*r);
    return a.finish(open, open + ms_day - 1);
  }
};

synthetic_market::synthetic_market(synthetic_options opt, std::vector<synthetic_symbol> params)
    : impl_(std::make_unique<impl>()) {
  impl_->opt = std::move(opt);
  for (auto& p : params) {
    sym_state s;
    // std::hash is not specified across library versions: derive the salt from the bytes.
    std::uint64_t hs = 0xcbf29ce484222325ULL;
    for (char ch : p.name) hs = (hs ^ static_cast<unsigned char>(ch)) * 0x100000001b3ULL;
    s.salt = mix(impl_->opt.seed * 0x9e3779b97f4a7c15ULL ^ mix(hs));
    s.listed_hour = floor_div(p.listed.ms, ms_hour);
    s.listed_day = floor_div(p.listed.ms, ms_day);
    s.log_p0 = std::log(p.start_price);
    s.p = p;
    s.noise0 = 0;
    for (std::size_t k = 0; k < octaves.size(); ++k)
      s.noise0 += octaves[k].amplitude * value_noise(s.salt ^ (0x100 + k), 0.0);
    symbol_info info{symbol::parse(p.name).value(), {}, {}, decimal{p.tick_mantissa, 8}, decimal{p.step_mantissa, 8},
                     timestamp_ms{s.listed_hour * ms_hour}, "TRADING"};
    std::tie(info.base_asset, info.quote_asset) = split_assets(p.name);
    infos_.push_back(std::move(info));
    impl_->syms.push_back(std::move(s));
  }
}

synthetic_market::~synthetic_market() = default;

result<std::unique_ptr<synthetic_market>> synthetic_market::create(synthetic_options opt) {
  if (opt.symbols.empty()) opt.symbols = default_symbol_names();
  if (opt.cache_entries < 16) opt.cache_entries = 16;
  std::vector<synthetic_symbol> params;
  for (auto const& name : opt.symbols) {
    if (!symbol::is_valid(name))
      return error{core_errc::invalid_symbol,
                   "symbol '" + name.substr(0, 40) + "' is not valid: use 2 to 20 characters A-Z or 0-9, e.g. BTCUSDT"};
    if (std::any_of(params.begin(), params.end(), [&](auto const& p) { return p.name == name; })) continue;
    auto const& table = builtin_symbols();
    auto it = std::find_if(table.begin(), table.end(), [&](auto const& p) { return p.name == name; });
    if (it != table.end()) {
      params.push_back(*it);
      continue;
    }
    std::uint64_t hs = 0xcbf29ce484222325ULL;
    for (char ch : name) hs = (hs ^ static_cast<unsigned char>(ch)) * 0x100000001b3ULL;
    double const u = u01(mix(hs ^ opt.seed));
    params.push_back({name, to_timestamp(civil_date{2019, 1, 1}), 1.0 + 99.0 * u, 0.1, 10'000, 1'000'000, 1.0e7});
  }
  return std::make_unique<synthetic_market>(std::move(opt), std::move(params));
}

timestamp_ms synthetic_market::floor_open(std::size_t sym, interval iv, timestamp_ms t) const noexcept {
  if (iv == interval::d3) {
    std::int64_t const anchor = impl_->syms[sym].listed_day * ms_day;
    return timestamp_ms{anchor + floor_div(t.ms - anchor, 3 * ms_day) * 3 * ms_day};
  }
  return grid_floor(iv, t);
}

bool synthetic_market::is_gap_hour(std::size_t sym, timestamp_ms hour_open) const noexcept {
  auto const& s = impl_->syms[sym];
  std::int64_t const h = floor_div(hour_open.ms, ms_hour);
  return h >= s.listed_hour && !impl_->hour_present(s, h);
}

std::optional<kline_row> synthetic_market::candle_at(std::size_t sym, interval iv, timestamp_ms open,
                                                     timestamp_ms now) const {
  impl const& m = *impl_;
  std::int64_t const t = open.ms, n = now.ms;
  std::int64_t const close = regular_close(iv, open).ms;
  aggregator a;
  switch (iv) {
    case interval::s1: return m.second_row(sym, floor_div(t, ms_per_second), n);
    case interval::m1: return m.minute_row(sym, floor_div(t, ms_per_minute), n);
    case interval::m3: case interval::m5: case interval::m15: case interval::m30:
      for (std::int64_t x = t; x <= close && x <= n; x += ms_per_minute)
        if (auto r = m.minute_row(sym, floor_div(x, ms_per_minute), n)) a.add(*r);
      return a.finish(t, close);
    case interval::h1: return m.hour_row(sym, floor_div(t, ms_hour), n);
    case interval::h2: case interval::h4: case interval::h6: case interval::h8: case interval::h12:
      for (std::int64_t x = t; x <= close && x <= n; x += ms_hour)
        if (auto r = m.hour_row(sym, floor_div(x, ms_hour), n)) a.add(*r);
      return a.finish(t, close);
    case interval::d1: return m.day_row(sym, floor_div(t, ms_day), n);
    case interval::d3: case interval::w1: case interval::mo1:
      for (std::int64_t x = t; x <= close && x <= n; x += ms_day)
        if (auto r = m.day_row(sym, floor_div(x, ms_day), n)) a.add(*r);
      return a.finish(t, close);
  }
  return std::nullopt;
}

result<kline_columns> synthetic_market::klines(symbol_info const& s, interval iv, kline_query const& q,
                                               timestamp_ms now) const {
  std::size_t sym = infos_.size();
  for (std::size_t i = 0; i < infos_.size(); ++i)
    if (infos_[i].symbol == s.symbol) sym = i;
  kline_columns out;
  if (sym == infos_.size() || q.limit == 0) return out;
  timestamp_ms const first = floor_open(sym, iv, s.listed);
  timestamp_ms const lower = std::max(q.from, first);
  timestamp_ms const upper = std::min(q.to, now);
  if (upper < lower) return out;
  std::vector<kline_row> rows;
  rows.reserve(std::min<std::size_t>(q.limit, 1000));
  if (!q.newest) {
    timestamp_ms t = floor_open(sym, iv, lower);
    if (t < lower) t = next_open(iv, t);
    for (; t <= upper && rows.size() < q.limit; t = next_open(iv, t))
      if (auto r = candle_at(sym, iv, t, now)) rows.push_back(*r);
  } else {
    timestamp_ms t = floor_open(sym, iv, upper);
    for (; t >= lower && rows.size() < q.limit;
         t = iv == interval::mo1 ? grid_floor(iv, timestamp_ms{t.ms - 1}) : timestamp_ms{t.ms - nominal_ms(iv)})
      if (auto r = candle_at(sym, iv, t, now)) rows.push_back(*r);
    std::reverse(rows.begin(), rows.end());
  }
  out.reserve(rows.size());
  for (auto const& r : rows)
    for (std::size_t f = 0; f < field_count; ++f) out.cols[f].push_back(r.f[f]);
  return out;
}

}  // namespace atb::sim
