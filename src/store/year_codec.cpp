// Lossless column transforms of the year file. All arithmetic on stored values wraps
// (done in uint64), so any bytes decode without undefined behaviour; the predictors that
// use binary64 are plain IEEE-754 operations in a fixed order (no fused multiply-add is
// possible in them), hence identical on every conforming platform.
#include "year_codec.hpp"

#include <algorithm>
#include <cmath>
#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace atb::store::detail {

namespace {

using i64 = std::int64_t;
using u64 = std::uint64_t;

constexpr std::size_t F(field f) noexcept { return static_cast<std::size_t>(f); }


inline i64 trunc_i64(double d) noexcept {
  return (d > -9.0e18 && d < 9.0e18) ? static_cast<i64>(d) : 0;  // NaN/inf/huge: 0
}

constexpr double exact_pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/// Successor of an open time; defined for every int64 (far-out values step by the nominal length).
inline i64 safe_next_open(interval iv, i64 t) noexcept {
  if (iv == interval::mo1 && t >= 0 && t < 253402300800000LL) return next_open(iv, timestamp_ms{t}).ms;
  return wadd(t, nominal_ms(iv));
}

/// Quote-volume predictor in the quote column's reduced units: volume × (high+low)/2 × 10^e.
struct quote_predictor {
  int e = 0;
  bool usable = false;
  double factor = 1.0;
  quote_predictor(std::array<std::uint8_t, field_count> const& scale, std::array<std::uint8_t, field_count> const& dx) {
    e = int{dx[F(field::volume)]} + int{dx[F(field::high)]} + int{scale[F(field::quote_volume)]} -
        int{scale[F(field::volume)]} - int{scale[F(field::high)]} - int{dx[F(field::quote_volume)]};
    usable = e >= -22 && e <= 22;
  }
  i64 operator()(i64 v, i64 h, i64 l) const noexcept {
    if (!usable) return 0;
    double const mid = static_cast<double>(wadd(h, l)) * 0.5;
    double p = static_cast<double>(v) * mid;
    if (e > 0) p = p * exact_pow10[e];
    else if (e < 0) p = p / exact_pow10[-e];
    return trunc_i64(p);
  }
};

/// a × b / c: taker quote = taker base × quote / volume (the candle's average price).
inline i64 ratio_pred(i64 a, i64 b, i64 c) noexcept {
  if (c == 0) return 0;
  double const p = static_cast<double>(a) * static_cast<double>(b);
  return trunc_i64(p / static_cast<double>(c));
}

/// Largest k <= 18 such that 10^k divides every value.
std::uint8_t common_pow10(aligned_vector<i64> const& col) noexcept {
  unsigned k = 18;
  for (i64 x : col) {
    while (k > 0 && x % pow10_i64(k) != 0) --k;
    if (k == 0) break;
  }
  return static_cast<std::uint8_t>(k);
}

constexpr field price_group[] = {field::open, field::high, field::low, field::close};
constexpr field volume_group[] = {field::volume, field::taker_buy_base_volume};
constexpr field quote_group[] = {field::quote_volume, field::taker_buy_quote_volume};

template <unsigned W>
void gather(std::uint8_t const* __restrict p, std::size_t stride, std::size_t n, u64* __restrict out) noexcept {
  std::size_t i = 0;
#if defined(__SSE2__)
  if constexpr (W >= 2) {
    // 16 rows at a time: a byte transpose of the W planes with unpack shuffles.
    __m128i const z = _mm_setzero_si128();
    auto ld = [&](unsigned b) {
      return b < W ? _mm_loadu_si128(reinterpret_cast<__m128i const*>(p + std::size_t{b} * stride + i)) : z;
    };
    for (; i + 16 <= n; i += 16) {
      __m128i const b0 = ld(0), b1 = ld(1), b2 = ld(2), b3 = ld(3), b4 = ld(4), b5 = ld(5), b6 = ld(6), b7 = ld(7);
      __m128i const w01l = _mm_unpacklo_epi8(b0, b1), w01h = _mm_unpackhi_epi8(b0, b1);
      __m128i const w23l = _mm_unpacklo_epi8(b2, b3), w23h = _mm_unpackhi_epi8(b2, b3);
      __m128i const w45l = _mm_unpacklo_epi8(b4, b5), w45h = _mm_unpackhi_epi8(b4, b5);
      __m128i const w67l = _mm_unpacklo_epi8(b6, b7), w67h = _mm_unpackhi_epi8(b6, b7);
      __m128i const lo[4] = {_mm_unpacklo_epi16(w01l, w23l), _mm_unpackhi_epi16(w01l, w23l),
                             _mm_unpacklo_epi16(w01h, w23h), _mm_unpackhi_epi16(w01h, w23h)};
      __m128i const hi[4] = {_mm_unpacklo_epi16(w45l, w67l), _mm_unpackhi_epi16(w45l, w67l),
                             _mm_unpacklo_epi16(w45h, w67h), _mm_unpackhi_epi16(w45h, w67h)};
      auto* o = reinterpret_cast<__m128i*>(out + i);
      for (unsigned q = 0; q < 4; ++q) {
        _mm_storeu_si128(o + 2 * q, _mm_unpacklo_epi32(lo[q], hi[q]));
        _mm_storeu_si128(o + 2 * q + 1, _mm_unpackhi_epi32(lo[q], hi[q]));
      }
    }
  }
#endif
  for (; i < n; ++i) {
    u64 v = 0;
    for (unsigned b = 0; b < W; ++b) v |= static_cast<u64>(p[b * stride + i]) << (8 * b);
    out[i] = v;
  }
}

}  // namespace

std::uint8_t expected_transform(field f) noexcept {
  switch (f) {
    case field::open_time: return t_time_grid;
    case field::open: return t_vs_prev_close;
    case field::high: return t_over_max_oc;
    case field::low: return t_under_min_oc;
    case field::close: return t_delta;
    case field::volume: return t_raw;
    case field::close_time: return t_close_vs_regular;
    case field::quote_volume: return t_quote_vs_mid;
    case field::trades: return t_delta;
    case field::taker_buy_base_volume: return t_half_volume;
    case field::taker_buy_quote_volume: return t_taker_quote_vs_vwap;
  }
  return 0;
}

column_plan plan_columns(year_key const&, kline_columns const& rows) {
  column_plan p;
  for (std::size_t c = 0; c < field_count; ++c) p.transform[c] = expected_transform(static_cast<field>(c));
  auto group = [&](auto const& fields) {
    std::uint8_t k = 18;
    for (field f : fields) k = std::min(k, common_pow10(rows[f]));
    for (field f : fields) p.divexp[F(f)] = k;
  };
  group(price_group);
  group(volume_group);
  group(quote_group);
  return p;
}

void compute_residuals(year_key const& k, kline_columns const& rows, column_plan const& plan, field f,
                       aligned_vector<std::uint64_t>& out) {
  std::size_t const n = rows[f].size();
  out.resize(n);
  // Values of column g in its reduced units (exact: the divisor divides every value).
  auto red = [&](field g, std::size_t i) -> i64 {
    std::uint8_t const d = plan.divexp[F(g)];
    return d ? rows[g][i] / pow10_i64(d) : rows[g][i];
  };
  auto const& x = rows[f];
  switch (f) {
    case field::open_time: {
      i64 pred = year_start(k.year).ms;
      for (std::size_t i = 0; i < n; ++i) {
        out[i] = zz(wsub(x[i], pred));
        pred = safe_next_open(k.interval, x[i]);
      }
      break;
    }
    case field::close_time: {
      auto const& ot = rows[field::open_time];
      for (std::size_t i = 0; i < n; ++i) out[i] = zz(wsub(x[i], wsub(safe_next_open(k.interval, ot[i]), 1)));
      break;
    }
    case field::close: {
      i64 prev = 0;
      for (std::size_t i = 0; i < n; ++i) {
        i64 const v = red(f, i);
        out[i] = zz(wsub(v, prev));
        prev = v;
      }
      break;
    }
    case field::open: {
      i64 prev = 0;
      for (std::size_t i = 0; i < n; ++i) {
        out[i] = zz(wsub(red(field::open, i), prev));
        prev = red(field::close, i);
      }
      break;
    }
    case field::high:  // >= 0 for valid rows: stored without zigzag
      for (std::size_t i = 0; i < n; ++i)
        out[i] = static_cast<u64>(wsub(red(field::high, i), std::max(red(field::open, i), red(field::close, i))));
      break;
    case field::low:
      for (std::size_t i = 0; i < n; ++i)
        out[i] = static_cast<u64>(wsub(std::min(red(field::open, i), red(field::close, i)), red(field::low, i)));
      break;
    case field::volume:
      for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<u64>(red(f, i));
      break;
    case field::taker_buy_base_volume:
      for (std::size_t i = 0; i < n; ++i) out[i] = zz(wsub(red(f, i), red(field::volume, i) >> 1));
      break;
    case field::trades: {
      i64 prev = 0;
      for (std::size_t i = 0; i < n; ++i) {
        out[i] = zz(wsub(x[i], prev));
        prev = x[i];
      }
      break;
    }
    case field::quote_volume: {
      quote_predictor const qp(rows.scale, plan.divexp);
      for (std::size_t i = 0; i < n; ++i)
        out[i] = zz(wsub(red(f, i), qp(red(field::volume, i), red(field::high, i), red(field::low, i))));
      break;
    }
    case field::taker_buy_quote_volume:
      for (std::size_t i = 0; i < n; ++i)
        out[i] = zz(wsub(red(f, i), ratio_pred(red(field::taker_buy_base_volume, i), red(field::quote_volume, i),
                                               red(field::volume, i))));
      break;
  }
}

bool same_group_divexp(std::array<dir_entry, field_count> const& dir) noexcept {
  auto same = [&](auto const& fields) {
    for (field f : fields)
      if (dir[F(f)].divexp != dir[F(fields[0])].divexp) return false;
    return true;
  };
  return same(price_group) && same(volume_group) && same(quote_group);
}

field_mask dependency_closure(field_mask m) noexcept {
  std::uint16_t b = m.bits();
  auto has = [&](field f) { return (b >> F(f)) & 1u; };
  auto add = [&](std::initializer_list<field> fs) {
    for (field f : fs) b = static_cast<std::uint16_t>(b | (1u << F(f)));
  };
  if (has(field::taker_buy_quote_volume)) add({field::taker_buy_base_volume, field::quote_volume, field::volume});
  if (has(field::quote_volume)) add({field::volume, field::high, field::low});
  if (has(field::taker_buy_base_volume)) add({field::volume});
  if (has(field::high) || has(field::low)) add({field::open, field::close});
  if (has(field::open)) add({field::close});
  if (has(field::close_time)) add({field::open_time});
  return field_mask{b};
}

void gather_planes(std::uint8_t const* p, std::size_t stride, unsigned width, std::size_t n, std::uint64_t* out) noexcept {
  switch (width) {
    case 0: std::fill(out, out + n, u64{0}); break;
    case 1: gather<1>(p, stride, n, out); break;
    case 2: gather<2>(p, stride, n, out); break;
    case 3: gather<3>(p, stride, n, out); break;
    case 4: gather<4>(p, stride, n, out); break;
    case 5: gather<5>(p, stride, n, out); break;
    case 6: gather<6>(p, stride, n, out); break;
    case 7: gather<7>(p, stride, n, out); break;
    default: gather<8>(p, stride, n, out); break;
  }
}

void gather_planes(std::uint8_t const* p, std::size_t n, unsigned width, std::uint64_t* out) noexcept {
  gather_planes(p, n, width, n, out);
}

void decode_columns(year_key const& k, std::array<dir_entry, field_count> const& dir, field_mask need,
                    kline_columns& out) noexcept {
  std::size_t n = 0;
  for (auto const& c : out.cols) n = std::max(n, c.size());
  auto col = [&](field f) { return out[f].data(); };

  if (need.has(field::open_time)) {
    i64* t = col(field::open_time);
    i64 pred = year_start(k.year).ms;
    if (has_fixed_length(k.interval)) {
      i64 const len = nominal_ms(k.interval);
      for (std::size_t i = 0; i < n; ++i) {
        t[i] = wadd(pred, unzz(static_cast<u64>(t[i])));
        pred = wadd(t[i], len);
      }
    } else {
      for (std::size_t i = 0; i < n; ++i) {
        t[i] = wadd(pred, unzz(static_cast<u64>(t[i])));
        pred = safe_next_open(k.interval, t[i]);
      }
    }
  }
  if (need.has(field::close_time)) {
    i64 const* t = col(field::open_time);
    i64* c = col(field::close_time);
    if (has_fixed_length(k.interval)) {
      i64 const len1 = nominal_ms(k.interval) - 1;
      for (std::size_t i = 0; i < n; ++i) c[i] = wadd(wadd(t[i], len1), unzz(static_cast<u64>(c[i])));
    } else {
      for (std::size_t i = 0; i < n; ++i)
        c[i] = wadd(wsub(safe_next_open(k.interval, t[i]), 1), unzz(static_cast<u64>(c[i])));
    }
  }
  if (need.has(field::close)) {
    i64* x = col(field::close);
    i64 prev = 0;
    for (std::size_t i = 0; i < n; ++i) x[i] = prev = wadd(prev, unzz(static_cast<u64>(x[i])));
  }
  if (need.has(field::open)) {
    i64* o = col(field::open);
    i64 const* c = col(field::close);
    if (n > 0) o[0] = unzz(static_cast<u64>(o[0]));
    for (std::size_t i = 1; i < n; ++i) o[i] = wadd(c[i - 1], unzz(static_cast<u64>(o[i])));
  }
  if (need.has(field::high)) {
    i64* h = col(field::high);
    i64 const *o = col(field::open), *c = col(field::close);
    for (std::size_t i = 0; i < n; ++i) h[i] = wadd(std::max(o[i], c[i]), h[i]);
  }
  if (need.has(field::low)) {
    i64* l = col(field::low);
    i64 const *o = col(field::open), *c = col(field::close);
    for (std::size_t i = 0; i < n; ++i) l[i] = wsub(std::min(o[i], c[i]), l[i]);
  }
  // volume (t_raw) is stored as is
  if (need.has(field::taker_buy_base_volume)) {
    i64* tb = col(field::taker_buy_base_volume);
    i64 const* v = col(field::volume);
    for (std::size_t i = 0; i < n; ++i) tb[i] = wadd(v[i] >> 1, unzz(static_cast<u64>(tb[i])));
  }
  if (need.has(field::trades)) {
    i64* t = col(field::trades);
    i64 prev = 0;
    for (std::size_t i = 0; i < n; ++i) t[i] = prev = wadd(prev, unzz(static_cast<u64>(t[i])));
  }
  std::array<std::uint8_t, field_count> scale{}, dx{};
  for (std::size_t c = 0; c < field_count; ++c) scale[c] = dir[c].scale, dx[c] = dir[c].divexp;
  // Back from reduced units: x × 10^divexp. The scalar predictor loops below do it for the
  // columns whose reduced values they read last (cheap there); a final pass does the rest.
  std::array<i64, field_count> mul{};
  std::array<bool, field_count> scaled{};
  for (std::size_t c = 0; c < field_count; ++c) mul[c] = dx[c] ? pow10_i64(dx[c]) : 1;
  bool const need_tq = need.has(field::taker_buy_quote_volume);
  if (need.has(field::quote_volume)) {
    quote_predictor const qp(scale, dx);
    i64* q = col(field::quote_volume);
    i64 *v = col(field::volume), *h = col(field::high), *l = col(field::low);
    // h and l are final after this loop; q and v too unless the taker quote still needs them.
    i64 const mh = mul[F(field::high)], ml = mul[F(field::low)];
    i64 const mq = need_tq ? 1 : mul[F(field::quote_volume)], mv = need_tq ? 1 : mul[F(field::volume)];
    for (std::size_t i = 0; i < n; ++i) {
      i64 const vi = v[i], hi = h[i], li = l[i];
      q[i] = wmul(wadd(qp(vi, hi, li), unzz(static_cast<u64>(q[i]))), mq);
      v[i] = wmul(vi, mv);
      h[i] = wmul(hi, mh);
      l[i] = wmul(li, ml);
    }
    scaled[F(field::high)] = scaled[F(field::low)] = true;
    scaled[F(field::quote_volume)] = scaled[F(field::volume)] = !need_tq;
  }
  if (need_tq) {
    i64* tq = col(field::taker_buy_quote_volume);
    i64 *tb = col(field::taker_buy_base_volume), *q = col(field::quote_volume), *v = col(field::volume);
    i64 const mtq = mul[F(field::taker_buy_quote_volume)], mtb = mul[F(field::taker_buy_base_volume)],
              mq = mul[F(field::quote_volume)], mv = mul[F(field::volume)];
    for (std::size_t i = 0; i < n; ++i) {
      i64 const tbi = tb[i], qi = q[i], vi = v[i];
      tq[i] = wmul(wadd(ratio_pred(tbi, qi, vi), unzz(static_cast<u64>(tq[i]))), mtq);
      tb[i] = wmul(tbi, mtb);
      q[i] = wmul(qi, mq);
      v[i] = wmul(vi, mv);
    }
    scaled[F(field::taker_buy_quote_volume)] = scaled[F(field::taker_buy_base_volume)] = true;
    scaled[F(field::quote_volume)] = scaled[F(field::volume)] = true;
  }
  for (std::size_t c = 0; c < field_count; ++c) {
    if (!need.has(static_cast<field>(c)) || dx[c] == 0 || scaled[c]) continue;
    i64 const p = mul[c];
    i64* x = out.cols[c].data();
    for (std::size_t i = 0; i < n; ++i) x[i] = wmul(x[i], p);
  }
}

}  // namespace atb::store::detail
