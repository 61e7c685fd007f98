// Block-fused, AVX2 sma_cross backtests and sweeps (see fast_sma.hpp for the design).
#include "atb/engine/fast_sma.hpp"
#include "atb/engine/strategy.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <immintrin.h>
#include <memory>

namespace atb::engine {
namespace {

constexpr std::size_t block = 1024;  // bars per block (multiple of 64 and of group)
constexpr std::size_t group = 16;    // bars per drawdown group
constexpr std::size_t words = block / 64;

#define ATB_AVX2 __attribute__((target("avx2,fma")))

ATB_AVX2 inline __m256d shl1(__m256d x) {  // [0, x0, x1, x2]
  __m256d const t = _mm256_permute2f128_pd(x, x, 0x08);
  return _mm256_shuffle_pd(t, x, 0x5);
}
ATB_AVX2 inline __m256d shl2(__m256d x) { return _mm256_permute2f128_pd(x, x, 0x08); }  // [0, 0, x0, x1]
ATB_AVX2 inline __m256d scan4(__m256d x) {
  x = _mm256_add_pd(x, shl1(x));
  return _mm256_add_pd(x, shl2(x));
}
ATB_AVX2 inline __m256d last_lane(__m256d x) { return _mm256_permute4x64_pd(x, 0xFF); }

/// out[i-b0] = sum of the (up to) w closes ending at i; carry = that sum at b0-1 on entry
/// and at b1-1 on return. Exact: all values are integers below 2^53.
ATB_AVX2 void window_sums(double const* c, std::size_t b0, std::size_t b1, std::size_t w, double* out, double& carry) {
  std::size_t i = b0;
  while (i < b1 && (i < w || ((i - b0) & 3))) {
    carry += c[i] - (i >= w ? c[i - w] : 0.0);
    out[i - b0] = carry;
    ++i;
  }
  __m256d cv = _mm256_set1_pd(carry);
  for (; i + 4 <= b1; i += 4) {
    __m256d const d = scan4(_mm256_sub_pd(_mm256_loadu_pd(c + i), _mm256_loadu_pd(c + i - w)));
    _mm256_storeu_pd(out + (i - b0), _mm256_add_pd(d, cv));
    cv = _mm256_add_pd(cv, last_lane(d));
  }
  carry = _mm256_cvtsd_f64(cv);
  for (; i < b1; ++i) {
    carry += c[i] - c[i - w];
    out[i - b0] = carry;
  }
}

/// Shared per block: prefix sums of r, r^2, min(r,0)^2 (p[k] = sum over [b0, b0+k)), and
/// per-group min/max of closes.
struct block_shared {
  alignas(64) double pr[block + 4];
  alignas(64) double pr2[block + 4];
  alignas(64) double pn2[block + 4];
  alignas(64) double gmin[block / group];
  alignas(64) double gmax[block / group];
  // Within each group: min/max of the closes from the group's start to k (pre_*) and
  // from k to the group's end (suf_*), so that partial groups at run edges cost O(1).
  alignas(64) double pre_min[block];
  alignas(64) double pre_max[block];
  alignas(64) double suf_min[block];
  alignas(64) double suf_max[block];
};

ATB_AVX2 void shared_prep(double const* c, std::size_t b0, std::size_t b1, block_shared& s) {
  s.pr[0] = s.pr2[0] = s.pn2[0] = 0;
  std::size_t i = b0;
  double a1 = 0, a2 = 0, a3 = 0;
  auto scalar = [&](std::size_t j) {
    double const r = j > 0 ? c[j] / c[j - 1] - 1.0 : 0.0;
    double const ng = r < 0 ? r : 0.0;
    a1 += r;
    a2 += r * r;
    a3 += ng * ng;
    s.pr[j - b0 + 1] = a1;
    s.pr2[j - b0 + 1] = a2;
    s.pn2[j - b0 + 1] = a3;
  };
  if (i == 0 && i < b1) scalar(i++);
  while (i < b1 && ((i - b0) & 3)) scalar(i++);
  __m256d c1 = _mm256_set1_pd(a1), c2 = _mm256_set1_pd(a2), c3 = _mm256_set1_pd(a3);
  __m256d const one = _mm256_set1_pd(1.0), zero = _mm256_setzero_pd();
  for (; i + 4 <= b1; i += 4) {
    __m256d const r = _mm256_sub_pd(_mm256_div_pd(_mm256_loadu_pd(c + i), _mm256_loadu_pd(c + i - 1)), one);
    __m256d const ng = _mm256_min_pd(r, zero);
    __m256d const s1 = scan4(r), s2 = scan4(_mm256_mul_pd(r, r)), s3 = scan4(_mm256_mul_pd(ng, ng));
    std::size_t const k = i - b0 + 1;
    _mm256_storeu_pd(s.pr + k, _mm256_add_pd(s1, c1));
    _mm256_storeu_pd(s.pr2 + k, _mm256_add_pd(s2, c2));
    _mm256_storeu_pd(s.pn2 + k, _mm256_add_pd(s3, c3));
    c1 = _mm256_add_pd(c1, last_lane(s1));
    c2 = _mm256_add_pd(c2, last_lane(s2));
    c3 = _mm256_add_pd(c3, last_lane(s3));
  }
  a1 = s.pr[i - b0];
  a2 = s.pr2[i - b0];
  a3 = s.pn2[i - b0];
  while (i < b1) scalar(i++);
  std::size_t const ng = (b1 - b0) / group;
  for (std::size_t g = 0; g < ng; ++g) {
    double const* p = c + b0 + g * group;
    __m256d mn = _mm256_loadu_pd(p), mx = mn;
    for (std::size_t k = 4; k < group; k += 4) {
      __m256d const v = _mm256_loadu_pd(p + k);
      mn = _mm256_min_pd(mn, v);
      mx = _mm256_max_pd(mx, v);
    }
    alignas(32) double a[4], b[4];
    _mm256_store_pd(a, mn);
    _mm256_store_pd(b, mx);
    s.gmin[g] = std::min(std::min(a[0], a[1]), std::min(a[2], a[3]));
    s.gmax[g] = std::max(std::max(b[0], b[1]), std::max(b[2], b[3]));
  }
  // Prefix/suffix extremes per group, including a last partial group.
  for (std::size_t o = 0; o < b1 - b0; o += group) {
    double const* p = c + b0 + o;
    std::size_t const m = std::min(group, b1 - b0 - o);
    double lo = p[0], hi = p[0];
    for (std::size_t k = 0; k < m; ++k) {
      lo = std::min(lo, p[k]);
      hi = std::max(hi, p[k]);
      s.pre_min[o + k] = lo;
      s.pre_max[o + k] = hi;
    }
    lo = hi = p[m - 1];
    for (std::size_t k = m; k-- > 0;) {
      lo = std::min(lo, p[k]);
      hi = std::max(hi, p[k]);
      s.suf_min[o + k] = lo;
      s.suf_max[o + k] = hi;
    }
  }
}

inline bool exact_gt(double sf, double ss, double df, double ds) {
  double const p1 = sf * ds, e1 = std::fma(sf, ds, -p1);
  double const p2 = ss * df, e2 = std::fma(ss, df, -p2);
  return p1 > p2 || (p1 == p2 && e1 > e2);
}

/// Exact bits of 4 bars: SMA(fast) > SMA(slow) as sf·slow > ss·fast. Rounded products
/// decide unless they are equal (rounding is monotone); equal products are settled by the
/// exact rounding errors (two-product with FMA).
ATB_AVX2 inline std::uint64_t gt_exact4(__m256d f, __m256d s, __m256d vf, __m256d vs) {
  __m256d const p1 = _mm256_mul_pd(f, vs), p2 = _mm256_mul_pd(s, vf);
  __m256d const e1 = _mm256_fmsub_pd(f, vs, p1), e2 = _mm256_fmsub_pd(s, vf, p2);
  __m256d const gt = _mm256_or_pd(_mm256_cmp_pd(p1, p2, _CMP_GT_OQ),
                                  _mm256_and_pd(_mm256_cmp_pd(p1, p2, _CMP_EQ_OQ), _mm256_cmp_pd(e1, e2, _CMP_GT_OQ)));
  return static_cast<std::uint64_t>(_mm256_movemask_pd(gt));
}

/// Target bits t_i (i in block) = i >= slow-1 && SMA(fast) > SMA(slow), from window sums.
/// Fast pass: rounded products only, noting whether any pair of products was equal; the
/// (rare) words with such a tie are redone exactly.
ATB_AVX2 void signal_bits(double const* sf, double const* ss, std::size_t b0, std::size_t len, std::size_t slow,
                          double df, double ds, std::uint64_t* bits) {
  __m256d const vf = _mm256_set1_pd(df), vs = _mm256_set1_pd(ds);
  std::size_t k = 0;
  for (; k + 64 <= len; k += 64) {
    std::uint64_t acc = 0;
    __m256d tie = _mm256_setzero_pd();
    for (unsigned u = 0; u < 64; u += 4) {
      __m256d const p1 = _mm256_mul_pd(_mm256_loadu_pd(sf + k + u), vs);
      __m256d const p2 = _mm256_mul_pd(_mm256_loadu_pd(ss + k + u), vf);
      tie = _mm256_or_pd(tie, _mm256_cmp_pd(p1, p2, _CMP_EQ_OQ));
      acc |= static_cast<std::uint64_t>(_mm256_movemask_pd(_mm256_cmp_pd(p1, p2, _CMP_GT_OQ))) << u;
    }
    if (_mm256_movemask_pd(tie)) {
      acc = 0;
      for (unsigned u = 0; u < 64; u += 4)
        acc |= gt_exact4(_mm256_loadu_pd(sf + k + u), _mm256_loadu_pd(ss + k + u), vf, vs) << u;
    }
    bits[k >> 6] = acc;
  }
  if (k < len) {
    std::uint64_t acc = 0;
    std::size_t const w = k;
    for (; k + 4 <= len; k += 4) acc |= gt_exact4(_mm256_loadu_pd(sf + k), _mm256_loadu_pd(ss + k), vf, vs) << (k - w);
    for (; k < len; ++k)
      if (exact_gt(sf[k], ss[k], df, ds)) acc |= std::uint64_t{1} << (k - w);
    bits[w >> 6] = acc;
  }
  for (std::size_t w = (len + 63) / 64; w < words; ++w) bits[w] = 0;
  if (b0 + 1 < slow) {  // warm-up: no position before bar slow-1
    std::size_t const stop = std::min(len, slow - 1 - b0);
    for (std::size_t q = 0; q < stop; ++q) bits[q >> 6] &= ~(std::uint64_t{1} << (q & 63));
  }
}

struct combo {
  sma_pair p;
  double df, ds;
  std::size_t fi, si;  // indexes into the distinct-window list
  bool last_t = false;
  int pos = 0;
  double cash, qty = 0, entry_price = 0, entry_value = 0;
  std::size_t entry_bar = 0;
  double peak, mdd = 0;
  metric_sums sums;
  std::vector<trade>* trades = nullptr;
};

struct ctx {
  double const* c;
  double const* o;
  double buy_mul, sell_mul, fee;
  std::size_t n = 0;  ///< bars in c and o (0: unknown, no reads past a run's end)
};

// Same result as peak = max(peak, e); mdd = max(mdd, 1 − e/peak), but divides only when
// the drawdown can grow (rare once a drawdown exists).
inline void dd_point(combo& k, double e) {
  k.peak = std::max(k.peak, e);
  if (e < k.peak * (1.0 - k.mdd)) k.mdd = std::max(k.mdd, 1.0 - e / k.peak);
}

inline void add_r(combo& k, double r) {
  double const ng = r < 0 ? r : 0.0;
  k.sums.sum_r += r;
  k.sums.sum_r2 += r * r;
  k.sums.sum_neg2 += ng * ng;
}

/// Drawdown over bars [x, y) of a long run whose closes have min `lo` and max `hi`:
/// skipped when provably no new maximum drawdown (peak then = max(peak, q·hi), exactly
/// as bar-by-bar), else bar by bar.
inline void dd_range(combo& k, double const* c, std::size_t x, std::size_t y, double lo, double hi) {
  double const q = k.qty, qh = q * hi;
  if (q * lo >= (1.0 - k.mdd) * std::max(k.peak, qh)) {
    k.peak = std::max(k.peak, qh);
    return;
  }
  for (std::size_t j = x; j < y; ++j) dd_point(k, q * c[j]);
}

/// Long interior [x, y) of block starting at b0: returns from prefix sums, drawdown by groups.
inline void long_interior(combo& k, ctx const& cx, block_shared const& s, std::size_t b0, std::size_t x, std::size_t y) {
  if (x >= y) return;
  k.sums.sum_r += s.pr[y - b0] - s.pr[x - b0];
  k.sums.sum_r2 += s.pr2[y - b0] - s.pr2[x - b0];
  k.sums.sum_neg2 += s.pn2[y - b0] - s.pn2[x - b0];
  std::size_t j = x;
  if ((j - b0) % group) {
    std::size_t const gend = b0 + ((j - b0) / group + 1) * group;
    if (y < gend) {  // the whole range inside one group
      for (; j < y; ++j) dd_point(k, k.qty * cx.c[j]);
      return;
    }
    dd_range(k, cx.c, j, gend, s.suf_min[j - b0], s.suf_max[j - b0]);
    j = gend;
  }
  for (; j + group <= y; j += group) {
    std::size_t const g = (j - b0) / group;
    dd_range(k, cx.c, j, j + group, s.gmin[g], s.gmax[g]);
  }
  if (j < y) dd_range(k, cx.c, j, y, s.pre_min[y - 1 - b0], s.pre_max[y - 1 - b0]);
}

inline void close_long(combo& k, ctx const& cx, double price, std::size_t bar, exit_reason why) {
  double const xp = price * cx.sell_mul;
  k.cash += k.qty * xp * (1.0 - cx.fee);
  double const pnl = k.cash - k.entry_value;
  ++k.sums.trades;
  // Branch-free: a trade is a win or a loss at random, which a branch mispredicts.
  k.sums.wins += pnl > 0 ? 1u : 0u;
  k.sums.gross_profit += pnl > 0 ? pnl : 0.0;
  k.sums.gross_loss -= pnl > 0 ? 0.0 : pnl;
  if (k.trades) k.trades->push_back(trade{k.entry_bar, bar, 1, k.entry_price, xp, k.qty, k.entry_value, k.cash, pnl, why});
  k.qty = 0;
  k.pos = 0;
}

ATB_AVX2 inline double hsum(__m256d v) {
  __m128d const lo = _mm256_castpd256_pd128(v), hi = _mm256_extractf128_pd(v, 1);
  __m128d const s2 = _mm_add_pd(lo, hi);
  return _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));
}
ATB_AVX2 inline double hmin(__m256d v) {
  __m128d const m = _mm_min_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_min_sd(m, _mm_unpackhi_pd(m, m)));
}
ATB_AVX2 inline double hmax(__m256d v) {
  __m128d const m = _mm_max_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_max_sd(m, _mm_unpackhi_pd(m, m)));
}

/// Single-run variant of long_interior: returns and drawdown straight from the closes of
/// [x, y) (no shared prefix arrays), 16 bars per step.
ATB_AVX2 inline void long_interior_direct(combo& k, ctx const& cx, std::size_t x, std::size_t y) {
  double const* c = cx.c;
  double const q = k.qty;
  std::size_t j = x;
  __m256d s1 = _mm256_setzero_pd(), s2 = s1, s3 = s1;
  __m256d const one = _mm256_set1_pd(1.0), zero = _mm256_setzero_pd();
  for (; j + group <= y; j += group) {
    __m256d mn = _mm256_set1_pd(std::numeric_limits<double>::infinity());
    __m256d mx = _mm256_set1_pd(-std::numeric_limits<double>::infinity());
    for (std::size_t u = 0; u < group; u += 4) {
      __m256d const cur = _mm256_loadu_pd(c + j + u);
      __m256d const r = _mm256_sub_pd(_mm256_div_pd(cur, _mm256_loadu_pd(c + j + u - 1)), one);
      __m256d const ng = _mm256_min_pd(r, zero);
      s1 = _mm256_add_pd(s1, r);
      s2 = _mm256_fmadd_pd(r, r, s2);
      s3 = _mm256_fmadd_pd(ng, ng, s3);
      mn = _mm256_min_pd(mn, cur);
      mx = _mm256_max_pd(mx, cur);
    }
    double const hi = q * hmax(mx);
    if (q * hmin(mn) >= (1.0 - k.mdd) * std::max(k.peak, hi)) {
      k.peak = std::max(k.peak, hi);
    } else {
      for (std::size_t u = 0; u < group; ++u) dd_point(k, q * c[j + u]);
    }
  }
  // The last < 16 bars of the run: 4 lanes at a time, lanes at or past y masked out
  // (reads up to 3 closes past y, so only when they exist), one drawdown test for all.
  if (j < y && y + 3 <= cx.n) {
    std::size_t const t0 = j;
    __m256d const inf = _mm256_set1_pd(std::numeric_limits<double>::infinity());
    __m256d const ninf = _mm256_set1_pd(-std::numeric_limits<double>::infinity());
    __m256d mn = inf, mx = ninf;
    __m256i const lanes = _mm256_set_epi64x(3, 2, 1, 0);
    for (; j < y; j += 4) {
      __m256d const live = _mm256_castsi256_pd(
          _mm256_cmpgt_epi64(_mm256_set1_epi64x(static_cast<long long>(y - j)), lanes));
      __m256d const cur = _mm256_loadu_pd(c + j);
      __m256d const r = _mm256_and_pd(_mm256_sub_pd(_mm256_div_pd(cur, _mm256_loadu_pd(c + j - 1)), one), live);
      __m256d const ng = _mm256_min_pd(r, zero);
      s1 = _mm256_add_pd(s1, r);
      s2 = _mm256_fmadd_pd(r, r, s2);
      s3 = _mm256_fmadd_pd(ng, ng, s3);
      mn = _mm256_min_pd(mn, _mm256_blendv_pd(inf, cur, live));
      mx = _mm256_max_pd(mx, _mm256_blendv_pd(ninf, cur, live));
    }
    double const hi = q * hmax(mx);
    if (q * hmin(mn) >= (1.0 - k.mdd) * std::max(k.peak, hi)) {
      k.peak = std::max(k.peak, hi);
    } else {
      for (std::size_t u = t0; u < y; ++u) dd_point(k, q * c[u]);
    }
    j = y;
  }
  k.sums.sum_r += hsum(s1);
  k.sums.sum_r2 += hsum(s2);
  k.sums.sum_neg2 += hsum(s3);
  for (; j < y; ++j) {
    add_r(k, c[j] / c[j - 1] - 1.0);
    dd_point(k, q * c[j]);
  }
}

/// Target bits of one (fast, slow) pair for the block, window sums kept in registers.
ATB_AVX2 void signal_bits_fused(double const* c, double const* o, std::size_t b0, std::size_t b1, std::size_t fast, std::size_t slow,
                                double df, double ds, double& cf, double& cs, std::uint64_t* bits) {
  for (std::size_t w = 0; w < words; ++w) bits[w] = 0;
  std::size_t i = b0;
  auto scalar = [&](std::size_t t) {
    cf += c[t] - (t >= fast ? c[t - fast] : 0.0);
    cs += c[t] - (t >= slow ? c[t - slow] : 0.0);
    if (t + 1 >= slow && exact_gt(cf, cs, df, ds)) bits[(t - b0) >> 6] |= std::uint64_t{1} << ((t - b0) & 63);
  };
  while (i < b1 && (i < slow || ((i - b0) & 63))) scalar(i++);
  __m256d vcf = _mm256_set1_pd(cf), vcs = _mm256_set1_pd(cs);
  __m256d const vf = _mm256_set1_pd(df), vs = _mm256_set1_pd(ds);
  auto step = [&](std::size_t t) ATB_AVX2 -> std::uint64_t {  // 4 bars from t: their 4 target bits
    __m256d const cur = _mm256_loadu_pd(c + t);
    __m256d const dfv = scan4(_mm256_sub_pd(cur, _mm256_loadu_pd(c + t - fast)));
    __m256d const dsv = scan4(_mm256_sub_pd(cur, _mm256_loadu_pd(c + t - slow)));
    __m256d const f = _mm256_add_pd(dfv, vcf), s = _mm256_add_pd(dsv, vcs);
    vcf = _mm256_add_pd(vcf, last_lane(dfv));
    vcs = _mm256_add_pd(vcs, last_lane(dsv));
    __m256d const p1 = _mm256_mul_pd(f, vs), p2 = _mm256_mul_pd(s, vf);
    __m256d const e1 = _mm256_fmsub_pd(f, vs, p1), e2 = _mm256_fmsub_pd(s, vf, p2);
    __m256d const gt = _mm256_or_pd(_mm256_cmp_pd(p1, p2, _CMP_GT_OQ),
                                    _mm256_and_pd(_mm256_cmp_pd(p1, p2, _CMP_EQ_OQ), _mm256_cmp_pd(e1, e2, _CMP_GT_OQ)));
    return static_cast<std::uint64_t>(_mm256_movemask_pd(gt));
  };
  // One running difference D = slow·S_fast − fast·S_slow (D > 0 <=> SMA(fast) > SMA(slow))
  // halves the scans, but is exact only while fast·slow·max(close) < 2^53 over the
  // closes of the windows reaching into these words. That maximum is taken on the fly
  // from the closes the loop loads anyway (no separate pass); when the bound fails, the
  // words are redone below with the two-product path.
  if (i + 64 <= b1) {
    std::size_t const i0 = i, iend = i0 + (b1 - i0) / 64 * 64;
    // Loads cover [i0 - slow, iend - slow) and [i0, iend); a block shorter than slow
    // leaves [iend - slow, i0) to scan here.
    double gap = 0;
    for (std::size_t t = iend - slow; t < i0; ++t) gap = std::max(gap, c[t]);
    __m256d vd = _mm256_set1_pd(std::fma(ds, cf, -(df * cs)));
    __m256d mx1 = _mm256_set1_pd(gap), mx2 = mx1;
    auto dstep = [&](std::size_t u) ATB_AVX2 -> std::uint64_t {
      __m256d const cur = _mm256_loadu_pd(c + u);
      __m256d const old = _mm256_loadu_pd(c + u - slow);
      mx1 = _mm256_max_pd(mx1, cur);
      mx2 = _mm256_max_pd(mx2, old);
      __m256d const x = _mm256_sub_pd(cur, _mm256_loadu_pd(c + u - fast));
      __m256d const y = _mm256_sub_pd(cur, old);
      __m256d const inc = scan4(_mm256_fmsub_pd(vs, x, _mm256_mul_pd(vf, y)));
      __m256d const d = _mm256_add_pd(inc, vd);
      vd = _mm256_add_pd(vd, last_lane(inc));
      return static_cast<std::uint64_t>(_mm256_movemask_pd(_mm256_cmp_pd(d, _mm256_setzero_pd(), _CMP_GT_OQ)));
    };
    for (; i < iend; i += 64) {
      std::uint64_t acc = 0;
      for (unsigned u = 0; u < 64; u += 8) {
        _mm_prefetch(reinterpret_cast<char const*>(o + i + u), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<char const*>(c + i + u + block), _MM_HINT_T0);  // next block's closes
        acc |= dstep(i + u) << u;
        acc |= dstep(i + u + 4) << (u + 4);
      }
      bits[(i - b0) >> 6] = acc;
    }
    if (df * ds * hmax(_mm256_max_pd(mx1, mx2)) < 9007199254740992.0) {
      // Window sums at i-1 for what follows (exact integer sums).
      cf = 0;
      cs = 0;
      for (std::size_t q = i - fast; q < i; ++q) cf += c[q];
      for (std::size_t q = i - slow; q < i; ++q) cs += c[q];
      vcf = _mm256_set1_pd(cf);
      vcs = _mm256_set1_pd(cs);
    } else {
      i = i0;  // not provably exact: the two-product loop below rewrites these words
    }
  }
  // Whole 64-bar words: bits gathered in a register (no read-modify-write chain through
  // memory); one prefetch of the opens per 8 bars, a block ahead of the fills.
  for (; i + 64 <= b1; i += 64) {
    std::uint64_t acc = 0;
    for (unsigned u = 0; u < 64; u += 8) {
      _mm_prefetch(reinterpret_cast<char const*>(o + i + u), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<char const*>(c + i + u + block), _MM_HINT_T0);  // next block's closes
      acc |= step(i + u) << u;
      acc |= step(i + u + 4) << (u + 4);
    }
    bits[(i - b0) >> 6] = acc;
  }
  for (; i + 4 <= b1; i += 4) bits[(i - b0) >> 6] |= step(i) << ((i - b0) & 63);
  cf = _mm256_cvtsd_f64(vcf);
  cs = _mm256_cvtsd_f64(vcs);
  while (i < b1) scalar(i++);
}

template <bool Direct>
ATB_AVX2 void process_block(combo& k, ctx const& cx, block_shared const* s, std::uint64_t const* tb, std::size_t b0, std::size_t b1) {
  std::size_t const len = b1 - b0;
  std::uint64_t pb[words];
  for (std::size_t w = 0; w < words; ++w) pb[w] = (tb[w] << 1) | (w == 0 ? std::uint64_t{k.last_t} : tb[w - 1] >> 63);
  k.last_t = (tb[(len - 1) >> 6] >> ((len - 1) & 63)) & 1u;
  for (std::size_t w = 0; w * 64 < len; ++w) {
    std::uint64_t v = pb[w];
    if ((w + 1) * 64 > len) v &= (std::uint64_t{1} << (len - w * 64)) - 1;
    k.sums.exposed_bars += static_cast<std::size_t>(std::popcount(v));
  }
  auto find = [&](std::size_t from, bool want_set) -> std::size_t {  // first q >= from with bit == want_set
    std::size_t w = from >> 6;
    if (w >= words || from >= len) return len;
    std::uint64_t v = want_set ? pb[w] : ~pb[w];
    v &= ~std::uint64_t{0} << (from & 63);
    while (v == 0) {
      if (++w >= words) return len;
      v = want_set ? pb[w] : ~pb[w];
    }
    return std::min(len, w * 64 + static_cast<std::size_t>(std::countr_zero(v)));
  };
  std::size_t q = 0;
  while (q < len) {
    if (k.pos == 0) {
      std::size_t const e = find(q, true);
      if (e >= len) break;
      std::size_t const j = b0 + e;  // enter at open j (j >= 1: t_{-1} is 0)
      k.entry_value = k.cash;
      k.entry_price = cx.o[j] * cx.buy_mul;
      k.qty = k.cash / (k.entry_price * (1.0 + cx.fee));
      k.cash = 0;
      k.pos = 1;
      k.entry_bar = j;
      double const eq = k.qty * cx.c[j];
      add_r(k, eq / k.entry_value - 1.0);
      dd_point(k, eq);
      q = e + 1;
    } else {
      std::size_t const e = find(q, false);
      if constexpr (Direct) long_interior_direct(k, cx, b0 + q, b0 + e);
      else long_interior(k, cx, *s, b0, b0 + q, b0 + e);
      if (e >= len) break;
      std::size_t const j = b0 + e;
      double const prev = k.qty * cx.c[j - 1];
      close_long(k, cx, cx.o[j], j, exit_reason::signal);
      add_r(k, k.cash / prev - 1.0);
      dd_point(k, k.cash);
      q = e + 1;
    }
  }
}

bool have_avx2() noexcept {
  static bool const ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok;
}

ATB_AVX2 void run_combos(bar_series const& b, std::span<combo> ks, exec_options const& opt) {
  std::size_t const n = b.size();
  double const* c = b.close.data();
  ctx const cx{c, b.open.data(), 1.0 + opt.slippage_bps / 1e4, 1.0 - opt.slippage_bps / 1e4, opt.fee, n};
  // Distinct window lengths.
  std::vector<std::size_t> wins;
  for (auto const& k : ks) {
    wins.push_back(k.p.fast);
    wins.push_back(k.p.slow);
  }
  std::sort(wins.begin(), wins.end());
  wins.erase(std::unique(wins.begin(), wins.end()), wins.end());
  for (auto& k : ks) {
    k.fi = static_cast<std::size_t>(std::lower_bound(wins.begin(), wins.end(), k.p.fast) - wins.begin());
    k.si = static_cast<std::size_t>(std::lower_bound(wins.begin(), wins.end(), k.p.slow) - wins.begin());
  }
  aligned_vector<double> sums(wins.size() * block);
  std::vector<double> carry(wins.size(), 0.0);
  auto shared = std::make_unique<block_shared>();
  std::uint64_t tb[words];
  for (std::size_t b0 = 0; b0 < n; b0 += block) {
    std::size_t const b1 = std::min(n, b0 + block);
    // Opens are read only at fills (sparse, so the hardware prefetcher misses them):
    // request the block's opens now, while the window sums are computed.
    for (std::size_t i = b0; i < b1; i += 8) _mm_prefetch(reinterpret_cast<char const*>(cx.o + i), _MM_HINT_T0);
    for (std::size_t w = 0; w < wins.size(); ++w) window_sums(c, b0, b1, wins[w], sums.data() + w * block, carry[w]);
    shared_prep(c, b0, b1, *shared);
    for (auto& k : ks) {
      signal_bits(sums.data() + k.fi * block, sums.data() + k.si * block, b0, b1 - b0, k.p.slow, k.df, k.ds, tb);
      process_block<false>(k, cx, shared.get(), tb, b0, b1);
    }
  }
}

/// One pair: no shared arrays; window sums stay in registers, returns only on long runs.
ATB_AVX2 void run_single(bar_series const& b, combo& k, exec_options const& opt) {
  std::size_t const n = b.size();
  double const* c = b.close.data();
  ctx const cx{c, b.open.data(), 1.0 + opt.slippage_bps / 1e4, 1.0 - opt.slippage_bps / 1e4, opt.fee, n};
  double cf = 0, cs = 0;
  std::uint64_t tb[words];
  for (std::size_t b0 = 0; b0 < n; b0 += block) {
    std::size_t const b1 = std::min(n, b0 + block);
    signal_bits_fused(c, cx.o, b0, b1, k.p.fast, k.p.slow, k.df, k.ds, cf, cs, tb);
    process_block<true>(k, cx, nullptr, tb, b0, b1);
  }
}

combo make_combo(sma_pair p, exec_options const& opt) {
  combo k;
  k.p = p;
  k.df = p.fast;
  k.ds = p.slow;
  k.cash = opt.capital;
  k.peak = opt.capital;
  return k;
}

metrics finish(combo& k, bar_series const& b, exec_options const& opt, double bpy, double bh, std::int64_t span) {
  std::size_t const n = b.size();
  ctx const cx{b.close.data(), b.open.data(), 1.0 + opt.slippage_bps / 1e4, 1.0 - opt.slippage_bps / 1e4, opt.fee, b.size()};
  if (k.pos != 0) close_long(k, cx, b.close[n - 1], n - 1, exit_reason::end_of_data);
  dd_point(k, k.cash);
  k.sums.bars = n;
  k.sums.returns = n - 1;
  k.sums.max_drawdown = k.mdd;
  k.sums.final_equity = k.cash;
  return finish_metrics(k.sums, opt.capital, span, bpy, bh);
}

}  // namespace

bool fast_sma_applicable(exec_options const& opt) noexcept {
  return !opt.allow_short && !opt.stop_loss && !opt.take_profit;
}

metrics run_sma_cross_fast(bar_series const& b, sma_pair p, exec_options const& opt, std::vector<trade>* trades) {
  if (b.empty()) {
    metrics m;
    m.final_equity = opt.capital;
    return m;
  }
  if (!have_avx2()) {
    strategy_params sp = default_params(strategy_id::sma_cross);
    sp.values[0] = p.fast;
    sp.values[1] = p.slow;
    std::vector<std::int8_t> t(b.size());
    compute_targets(sp, b, false, t);
    auto r = simulate(b, t, opt, false, trades != nullptr);
    if (trades) *trades = std::move(r.trades);
    return r.m;
  }
  combo k = make_combo(p, opt);
  k.trades = trades;
  run_single(b, k, opt);
  return finish(k, b, opt, bars_per_year(b.interval), buy_and_hold_price_return(b), span_ms(b));
}

void sweep_sma_cross(bar_series const& b, std::span<sma_pair const> pairs, exec_options const& opt, std::span<metrics> out) {
  if (b.empty()) {
    for (std::size_t i = 0; i < pairs.size(); ++i) out[i] = run_sma_cross_fast(b, pairs[i], opt);
    return;
  }
  if (!have_avx2()) {
    for (std::size_t i = 0; i < pairs.size(); ++i) out[i] = run_sma_cross_fast(b, pairs[i], opt);
    return;
  }
  // Chunks of combos whose distinct window lengths number at most 48 keep the per-block
  // window sums (48 x 8 KiB) in L2 while sharing them across as many pairs as possible.
  constexpr std::size_t max_windows = 48;
  double const bpy = bars_per_year(b.interval), bh = buy_and_hold_price_return(b);
  std::int64_t const span = span_ms(b);
  for (std::size_t i0 = 0, i1 = 0; i0 < pairs.size(); i0 = i1) {
    std::vector<std::uint32_t> w;
    for (i1 = i0; i1 < pairs.size(); ++i1) {
      for (std::uint32_t v : {pairs[i1].fast, pairs[i1].slow})
        if (std::find(w.begin(), w.end(), v) == w.end()) w.push_back(v);
      if (w.size() > max_windows && i1 > i0) break;
    }
    std::vector<combo> ks;
    ks.reserve(i1 - i0);
    for (std::size_t i = i0; i < i1; ++i) ks.push_back(make_combo(pairs[i], opt));
    run_combos(b, ks, opt);
    for (std::size_t i = i0; i < i1; ++i) out[i] = finish(ks[i - i0], b, opt, bpy, bh, span);
  }
}

}  // namespace atb::engine
