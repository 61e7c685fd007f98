// Block-fused, AVX2/AVX-512 sma_cross backtests and sweeps (see fast_sma.hpp for the design).
#include "atb/engine/fast_sma.hpp"
#include "atb/engine/strategy.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <immintrin.h>
// GCC 12's AVX-512 intrinsics seed their results with a self-initialised temporary
// (`__m512d __Y = __Y;` for _mm512_undefined_pd) that -Wuninitialized reports once
// inlined here; it is not a read of uninitialised data.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <atomic>
#include <memory>
#include <utility>

namespace atb::engine {
namespace {

constexpr std::size_t block = 1024;  // bars per block (multiple of 64 and of group)
constexpr std::size_t group = 16;    // bars per drawdown group
constexpr std::size_t words = block / 64;

#define ATB_AVX2 __attribute__((target("avx2,fma,popcnt,bmi,bmi2")))
#define ATB_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma,popcnt,bmi,bmi2")))
#define ATB_AVX512_VBMI2 \
  __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx512vbmi2,avx2,fma,popcnt,bmi,bmi2")))


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

/// The end of every block's target bits: words past the block cleared, no position before bar slow-1.
inline void signal_bits_tail(std::uint64_t* bits, std::size_t len, std::size_t b0, std::size_t slow) {
  for (std::size_t w = (len + 63) / 64; w < words; ++w) bits[w] = 0;
  if (b0 + 1 < slow) {  // warm-up
    std::size_t const stop = std::min(len, slow - 1 - b0);
    for (std::size_t q = 0; q < stop; ++q) bits[q >> 6] &= ~(std::uint64_t{1} << (q & 63));
  }
}

/// The bits of a block after the int16 kernels' whole words (signal_bits_512_q16,
/// signal_bits_q16): the last word of a short last block, under 64 bars once per series,
/// decided exactly bar by bar from sums(q) = {fast sum, slow sum} of block bar q; then
/// signal_bits_tail.
template <class Sums>
void signal_bits_rest(std::uint64_t* bits, std::size_t done, std::size_t len, std::size_t b0, std::size_t slow,
                      double df, double ds, Sums sums) {
  if (done < len) {
    std::uint64_t acc = 0;
    for (std::size_t q = done; q < len; ++q) {
      auto const [sf, ss] = sums(q);
      if (exact_gt(sf, ss, df, ds)) acc |= std::uint64_t{1} << (q - done);
    }
    bits[done >> 6] = acc;
  }
  signal_bits_tail(bits, len, b0, slow);
}

/// State of a single run.
struct combo {
  sma_pair p;
  double df, ds;
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

/// Drawdown of a piece of a long run whose equity ranges over [lo, hi], in O(1) when
/// possible: below the peak, the worst bar is the lowest (1 − lo/peak, as bar by bar);
/// above it, only the peak changes if lo stays above (1 − mdd)·hi. False: the caller goes
/// bar by bar (a new peak and possibly a new drawdown in one piece: rare).
inline bool dd_piece(combo& k, double lo, double hi) {
  bool const below = hi <= k.peak;
  double const cand = 1.0 - lo / k.peak;
  if (!below && lo < (1.0 - k.mdd) * hi) return false;
  k.mdd = std::max(k.mdd, below ? cand : 0.0);
  k.peak = std::max(k.peak, hi);
  return true;
}

inline void add_r(combo& k, double r) {
  double const ng = r < 0 ? r : 0.0;
  k.sums.sum_r += r;
  k.sums.sum_r2 += r * r;
  k.sums.sum_neg2 += ng * ng;
}

/// Buys with all cash at open j, as the simulator does (j >= 1: t_{-1} is 0).
inline void open_long(combo& k, ctx const& cx, std::size_t j) {
  k.entry_value = k.cash;
  k.entry_price = cx.o[j] * cx.buy_mul;
  k.qty = k.cash / (k.entry_price * (1.0 + cx.fee));
  k.cash = 0;
  k.pos = 1;
  k.entry_bar = j;
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
    if (!dd_piece(k, q * hmin(mn), q * hmax(mx)))
      for (std::size_t u = 0; u < group; ++u) dd_point(k, q * c[j + u]);
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
    if (!dd_piece(k, q * hmin(mn), q * hmax(mx)))
      for (std::size_t u = t0; u < y; ++u) dd_point(k, q * c[u]);
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

/// The scalar bars of the fused signal loops: the series' first `slow` bars and the bars
/// before the block's first whole 64-bar word (prologue), and a block's tail (bar).
struct scalar_signal {
  double const* c;
  std::size_t b0, fast, slow;
  double df, ds;
  double& cf;
  double& cs;
  std::uint64_t* bits;
  void bar(std::size_t t) const {
    cf += c[t] - (t >= fast ? c[t - fast] : 0.0);
    cs += c[t] - (t >= slow ? c[t - slow] : 0.0);
    if (t + 1 >= slow && exact_gt(cf, cs, df, ds)) bits[(t - b0) >> 6] |= std::uint64_t{1} << ((t - b0) & 63);
  }
  /// Clears the block's bits, does the scalar bars; returns the first bar left.
  std::size_t prologue(std::size_t b1) const {
    for (std::size_t w = 0; w < words; ++w) bits[w] = 0;
    std::size_t i = b0;
    while (i < b1 && (i < slow || ((i - b0) & 63))) bar(i++);
    return i;
  }
};

/// c[0] + … + c[len − 1] for window sums of integer closes below 2^53, which are exact
/// in any order: eight add chains instead of one (one 4-cycle chain of `slow` adds per
/// block was ~2 % of a single run).
inline double sum_closes(double const* c, std::size_t len) {
  double a[8] = {};
  std::size_t q = 0;
  for (; q + 8 <= len; q += 8)
    for (unsigned l = 0; l < 8; ++l) a[l] += c[q + l];
  for (unsigned l = 0; q < len; ++q, ++l) a[l] += c[q];
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

/// Target bits of one (fast, slow) pair for the block, window sums kept in registers.
ATB_AVX2 void signal_bits_fused(double const* c, double const* o, std::size_t b0, std::size_t b1, std::size_t fast, std::size_t slow,
                                double df, double ds, double& cf, double& cs, std::uint64_t* bits) {
  scalar_signal sc{c, b0, fast, slow, df, ds, cf, cs, bits};
  std::size_t i = sc.prologue(b1);
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
  // halves the scans, but is exact only while 2·fast·slow·max(close) < 2^53 over the
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
    // 2·fast·slow·max: the scanned partial sums are differences of two D values.
    if (2.0 * df * ds * hmax(_mm256_max_pd(mx1, mx2)) < 9007199254740992.0) {
      // The window sums at i, for the code after this loop and the next block: sums of
      // integer closes below 2^53 (the precondition), exact in any order, so 8 lanes.
      cf = sum_closes(c + i - fast, fast);
      cs = sum_closes(c + i - slow, slow);
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
  while (i < b1) sc.bar(i++);
}

/// The trades of one block from its target bits (AVX2 single run): entries and exits at
/// the opens, runs of a held position handed to long_interior_direct (their returns and
/// drawdown).
ATB_AVX2 void process_block(combo& k, ctx const& cx, std::uint64_t const* tb, std::size_t b0, std::size_t b1) {
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
      std::size_t const j = b0 + e;
      open_long(k, cx, j);
      double const eq = k.qty * cx.c[j];
      add_r(k, eq / k.entry_value - 1.0);
      dd_point(k, eq);
      q = e + 1;
    } else {
      std::size_t const e = find(q, false);
      long_interior_direct(k, cx, b0 + q, b0 + e);
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

/// Positions of the set bits of t, plus base, into out (which has 16 slots of slack);
/// returns their number. Eight slots are written unconditionally (no branch per bit).
ATB_AVX2 inline std::size_t flatten_bits(std::uint64_t t, std::uint32_t base, std::uint16_t* out) {
  auto const cnt = static_cast<std::size_t>(std::popcount(t));
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<std::uint16_t>(base + static_cast<std::uint32_t>(std::countr_zero(t)));
    t &= t - 1;
  }
  if (cnt > 8) {
    for (std::size_t i = 8; t; ++i) {
      out[i] = static_cast<std::uint16_t>(base + static_cast<std::uint32_t>(std::countr_zero(t)));
      t &= t - 1;
    }
  }
  return cnt;
}

/// flatten_bits with AVX-512 VBMI2: one 64-lane byte compress, the first 32 positions
/// widened to 16 bits (a word with more than 32 set bits, rare, takes a second step).
/// Writes 32 slots (64 if more than 32 bits) from out.
ATB_AVX512_VBMI2 inline std::size_t flatten_bits_vbmi2(std::uint64_t t, std::uint32_t base, std::uint16_t* out) {
  __m512i const lanes8 = _mm512_set_epi8(63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43,
                                         42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22,
                                         21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  __m512i const pos = _mm512_maskz_compress_epi8(t, lanes8);
  __m512i const b = _mm512_set1_epi16(static_cast<short>(base));
  _mm512_storeu_si512(out, _mm512_add_epi16(_mm512_cvtepu8_epi16(_mm512_castsi512_si256(pos)), b));
  auto const cnt = static_cast<std::size_t>(std::popcount(t));
  if (cnt > 32) [[unlikely]]
    _mm512_storeu_si512(out + 32, _mm512_add_epi16(_mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64(pos, 1)), b));
  return cnt;
}

// ---- AVX-512 single run -------------------------------------------------------------

template <int K>
ATB_AVX512 inline __m512d shl_lanes(__m512d x) {  // lanes move up by K, zeros enter
  return _mm512_castsi512_pd(_mm512_alignr_epi64(_mm512_castpd_si512(x), _mm512_setzero_si512(), 8 - K));
}
ATB_AVX512 inline __m512d scan8(__m512d x) {
  x = _mm512_add_pd(x, shl_lanes<1>(x));
  x = _mm512_add_pd(x, shl_lanes<2>(x));
  return _mm512_add_pd(x, shl_lanes<4>(x));
}
ATB_AVX512 inline __m512d bcast7(__m512d x) { return _mm512_permutexvar_pd(_mm512_set1_epi64(7), x); }

/// Horizontal min / max of 8 lanes by in-register shuffles.
ATB_AVX512 inline double hmin8(__m512d v) {
  v = _mm512_min_pd(v, _mm512_shuffle_f64x2(v, v, 0x4E));  // 256-bit halves swapped
  v = _mm512_min_pd(v, _mm512_shuffle_f64x2(v, v, 0xB1));  // 128-bit pairs swapped
  return _mm512_cvtsd_f64(_mm512_min_pd(v, _mm512_permute_pd(v, 0x55)));
}
ATB_AVX512 inline double hmax8(__m512d v) {
  v = _mm512_max_pd(v, _mm512_shuffle_f64x2(v, v, 0x4E));
  v = _mm512_max_pd(v, _mm512_shuffle_f64x2(v, v, 0xB1));
  return _mm512_cvtsd_f64(_mm512_max_pd(v, _mm512_permute_pd(v, 0x55)));
}

/// Exact bits of 8 bars (see gt_exact4).
ATB_AVX512 inline unsigned gt_exact8(__m512d f, __m512d s, __m512d vf, __m512d vs) {
  __m512d const p1 = _mm512_mul_pd(f, vs), p2 = _mm512_mul_pd(s, vf);
  __m512d const e1 = _mm512_fmsub_pd(f, vs, p1), e2 = _mm512_fmsub_pd(s, vf, p2);
  __mmask8 const eq = _mm512_cmp_pd_mask(p1, p2, _CMP_EQ_OQ);
  return static_cast<unsigned>(_mm512_cmp_pd_mask(p1, p2, _CMP_GT_OQ) | _mm512_mask_cmp_pd_mask(eq, e1, e2, _CMP_GT_OQ));
}

/// signal_bits_fused, 8 bars per instruction; the running difference advances once per
/// 16 bars so that its add chain is not the bound.
ATB_AVX512 void signal_bits_fused_512(double const* c, std::size_t b0, std::size_t b1, std::size_t fast,
                                      std::size_t slow, double df, double ds, double& cf, double& cs, std::uint64_t* bits) {
  scalar_signal sc{c, b0, fast, slow, df, ds, cf, cs, bits};
  std::size_t i = sc.prologue(b1);
  __m512d const vf = _mm512_set1_pd(df), vs = _mm512_set1_pd(ds);
  if (i + 64 <= b1 && cf < 0x1p60 && cs < 0x1p60) {
    // The running difference D = slow·S_fast − fast·S_slow in int64. Its per-bar increment
    // (slow − fast)·c_t − slow·c_{t−fast} + fast·c_{t−slow} lies in [−slow·max, slow·max]
    // and its products are at most slow·max, so the double fmsub is exact while
    // slow·max < 2^53 (the precondition); D and its scanned partial sums (differences of
    // two D values) fit while 2·fast·slow·max < 2^62. An all-double D needed
    // 2·fast·slow·max < 2^53, which BTC at 10/50 (closes ~1e13 at 8 decimals) misses.
    // Under the precondition (max < 2^53/slow), 2·fast·slow·max < 2^54·fast: no check is
    // needed for fast <= 256; beyond, the closes' maximum is tracked and checked.
    std::size_t const i0 = i, iend = i0 + (b1 - i0) / 64 * 64;
    bool const track = fast > 256;
    // The closes the loop reads: [i0 − slow, iend); mx1 takes [i0, iend) as it goes.
    double gap = 0;
    if (track) {
      __m512d gapv = _mm512_setzero_pd();
      std::size_t g = i0 - slow;
      for (; g + 8 <= i0; g += 8) gapv = _mm512_max_pd(gapv, _mm512_loadu_pd(c + g));
      gap = hmax8(gapv);
      for (; g < i0; ++g) gap = std::max(gap, c[g]);
    }
    auto const cfi = static_cast<std::int64_t>(cf), csi = static_cast<std::int64_t>(cs);
    __m512i vd = _mm512_set1_epi64(static_cast<std::int64_t>(ds) * cfi - static_cast<std::int64_t>(df) * csi);
    __m512d mx1 = _mm512_set1_pd(gap);
    __m512i const zi = _mm512_setzero_si512(), seven = _mm512_set1_epi64(7);
    auto scan8i = [&](__m512i x) ATB_AVX512 {
      x = _mm512_add_epi64(x, _mm512_alignr_epi64(x, zi, 7));
      x = _mm512_add_epi64(x, _mm512_alignr_epi64(x, zi, 6));
      return _mm512_add_epi64(x, _mm512_alignr_epi64(x, zi, 4));
    };
    auto inc = [&](std::size_t t) ATB_AVX512 -> __m512i {  // scanned D increments of bars t..t+7
      __m512d const cur = _mm512_loadu_pd(c + t);
      __m512d const old = _mm512_loadu_pd(c + t - slow);
      if (track) mx1 = _mm512_max_pd(mx1, cur);
      __m512d const x = _mm512_sub_pd(cur, _mm512_loadu_pd(c + t - fast));
      return scan8i(_mm512_cvtpd_epi64(_mm512_fmsub_pd(vs, x, _mm512_mul_pd(vf, _mm512_sub_pd(cur, old)))));
    };
    for (; i < iend; i += 64) {
      std::uint64_t acc = 0;
      for (unsigned u = 0; u < 64; u += 16) {
        __m512i const inc1 = inc(i + u), inc2 = inc(i + u + 8);
        __m512i const t1 = _mm512_permutexvar_epi64(seven, inc1);
        unsigned const m1 = _mm512_cmpgt_epi64_mask(_mm512_add_epi64(inc1, vd), zi);
        unsigned const m2 = _mm512_cmpgt_epi64_mask(_mm512_add_epi64(inc2, _mm512_add_epi64(vd, t1)), zi);
        vd = _mm512_add_epi64(vd, _mm512_add_epi64(t1, _mm512_permutexvar_epi64(seven, inc2)));
        acc |= static_cast<std::uint64_t>(m1 | (m2 << 8)) << u;
      }
      bits[(i - b0) >> 6] = acc;
    }
    double const top = track ? hmax8(mx1) : 0.0;
    if (!track || (ds * top < 0x1p53 && 2.0 * df * ds * top < 0x1p62)) {
      // The window sums at i, for the code after this loop and the next block: sums of
      // integer closes below 2^53 (the precondition), exact in any order, so 8 lanes.
      cf = sum_closes(c + i - fast, fast);
      cs = sum_closes(c + i - slow, slow);
    } else {
      i = i0;  // not provably exact: the two-product loop below rewrites these words
    }
  }
  __m512d vcf = _mm512_set1_pd(cf), vcs = _mm512_set1_pd(cs);
  auto step = [&](std::size_t t) ATB_AVX512 -> std::uint64_t {  // 8 bars from t: their 8 target bits
    __m512d const cur = _mm512_loadu_pd(c + t);
    __m512d const dfv = scan8(_mm512_sub_pd(cur, _mm512_loadu_pd(c + t - fast)));
    __m512d const dsv = scan8(_mm512_sub_pd(cur, _mm512_loadu_pd(c + t - slow)));
    __m512d const f = _mm512_add_pd(dfv, vcf), s = _mm512_add_pd(dsv, vcs);
    vcf = _mm512_add_pd(vcf, bcast7(dfv));
    vcs = _mm512_add_pd(vcs, bcast7(dsv));
    return gt_exact8(f, s, vf, vs);
  };
  for (; i + 64 <= b1; i += 64) {
    std::uint64_t acc = 0;
    for (unsigned u = 0; u < 64; u += 8) acc |= step(i + u) << u;
    bits[(i - b0) >> 6] = acc;
  }
  for (; i + 8 <= b1; i += 8) bits[(i - b0) >> 6] |= step(i) << ((i - b0) & 63);
  cf = _mm512_cvtsd_f64(vcf);
  cs = _mm512_cvtsd_f64(vcs);
  while (i < b1) sc.bar(i++);
}

/// r = (cur − prv) · (1/prv): the difference is exact (integer mantissas), the reciprocal
/// from rcp14 and two Newton steps (relative error ~2^-52 instead of a vdivpd per 8 bars).
ATB_AVX512 inline __m512d returns8(__m512d cur, __m512d prv) {
  __m512d const one = _mm512_set1_pd(1.0);
  __m512d y = _mm512_rcp14_pd(prv);
  y = _mm512_fmadd_pd(y, _mm512_fnmadd_pd(prv, y, one), y);
  y = _mm512_fmadd_pd(y, _mm512_fnmadd_pd(prv, y, one), y);
  return _mm512_mul_pd(_mm512_sub_pd(cur, prv), y);
}

/// Byte l of seg_lut[b]: popcount(b & ((2 << l) − 1)), the number of position changes
/// among 8 bars up to and including bar l, i.e. the segment (run of constant position)
/// bar l belongs to, counted from the segment of the bar before them.
constexpr std::array<std::uint64_t, 256> seg_lut = [] {
  std::array<std::uint64_t, 256> t{};
  for (unsigned b = 0; b < 256; ++b)
    for (unsigned l = 0; l < 8; ++l)
      t[b] |= static_cast<std::uint64_t>(std::popcount(b & ((2u << l) - 1))) << (8 * l);
  return t;
}();

/// Vector state of the per-bar equity pass (single run, AVX-512).
struct eq_acc512 {
  __m512d s1, s2, s3;  ///< sums of r, r², min(r, 0)² per lane
  __m512d prev;        ///< lane 7: equity at the close of the last bar done
};

/// The position changes of one block: bit q of tr is set when the position during bar
/// b0+q differs from the one during the bar before; ev lists those q (with 96 slots of
/// slack: the VBMI2 flatten writes 32 or 64 slots at a time).
struct block_events {
  alignas(64) std::uint64_t tr[words];
  alignas(64) std::uint16_t ev[block + 96];
  std::size_t n = 0;
};

/// Position changes from target bits, shared by the single run and the sweep: the
/// position during a bar is the target of the bar before. carry_t: the target of the bar
/// before the block; carry_p: the position during it (both advanced). The changes'
/// positions are flattened into ev (by `flatten`), their bits stored into tr when given;
/// returns their number and adds the bars held to `exposed`. (Only the last block has a
/// partial word: the carries it leaves are not used.)
template <class Flatten>
__attribute__((always_inline)) inline std::size_t position_changes(std::uint64_t const* tb, std::size_t len,
                                                                   std::uint64_t& carry_t, std::uint64_t& carry_p,
                                                                   std::uint16_t* ev, std::uint64_t* tr,
                                                                   std::size_t& exposed, Flatten flatten) {
  std::size_t const nw = (len + 63) / 64;
  std::size_t n = 0;
  for (std::size_t w = 0; w < nw; ++w) {
    std::uint64_t const keep =
        (w + 1 == nw && (len & 63)) ? (std::uint64_t{1} << (len & 63)) - 1 : ~std::uint64_t{0};
    std::uint64_t const p = ((tb[w] << 1) | carry_t) & keep;
    exposed += static_cast<std::size_t>(std::popcount(p));
    std::uint64_t const t = (p ^ ((p << 1) | carry_p)) & keep;  // entries and exits
    if (tr) tr[w] = t;
    n += flatten(t, static_cast<std::uint32_t>(w * 64), ev + n);
    carry_t = tb[w] >> 63;
    carry_p = p >> 63;
  }
  return n;
}

/// The single run's changes of one block; returns the bars held.
template <class Flatten>
__attribute__((always_inline)) inline std::size_t block_changes_with(std::uint64_t const* tb, std::size_t len,
                                                                     std::uint64_t& carry_t, std::uint64_t& carry_p,
                                                                     block_events& be, Flatten flatten) {
  std::size_t exposed = 0;
  be.n = position_changes(tb, len, carry_t, carry_p, be.ev, be.tr, exposed, flatten);
  return exposed;
}
ATB_AVX2 std::size_t block_changes(std::uint64_t const* tb, std::size_t len, std::uint64_t& ct, std::uint64_t& cp,
                                   block_events& be) {
  return block_changes_with(tb, len, ct, cp, be, [](std::uint64_t t, std::uint32_t b, std::uint16_t* o) ATB_AVX2 { return flatten_bits(t, b, o); });
}
ATB_AVX512_VBMI2 std::size_t block_changes_vbmi2(std::uint64_t const* tb, std::size_t len, std::uint64_t& ct,
                                                 std::uint64_t& cp, block_events& be) {
  return block_changes_with(tb, len, ct, cp, be,
                            [](std::uint64_t t, std::uint32_t b, std::uint16_t* o) ATB_AVX512_VBMI2 { return flatten_bits_vbmi2(t, b, o); });
}

/// One block of a single run, in two passes with no per-bar branch:
/// 1. the block's position changes (listed by block_changes, a block ahead) are applied in
///    order (fills at the opens, cash and quantity exactly as the reference simulator
///    computes them), which
///    gives each segment of constant position its equity line e = m·close + a (m = the
///    quantity when long, else 0; a = the cash when flat, else 0);
/// 2. per 8 bars, each bar's segment comes from a 256-entry table of the change bits and
///    two permutes; then equity, the per-bar return e/e_prev − 1 (exact differences, 1/e
///    by rcp14 and Newton), and the min/max of each 64 bars' equity, which settle the
///    drawdown of the 64 bars in O(1) unless they may set a new maximum drawdown (then
///    against the running peak, a prefix max per 8 bars, as the reference does).
ATB_AVX512 void process_block_512(combo& k, ctx const& cx, block_events const& be, std::size_t b0, std::size_t b1,
                                  eq_acc512& q) {
  std::size_t const len = b1 - b0, nw = (len + 63) / 64;
  std::uint64_t const* tr = be.tr;
  std::uint16_t const* ev = be.ev;
  std::size_t const n = be.n;
  alignas(64) double sm[block + 32], sa[block + 32];
  sm[0] = k.pos ? k.qty : 0.0;
  sa[0] = k.pos ? 0.0 : k.cash;
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t const j = b0 + ev[i];
    if (k.pos == 0) {
      open_long(k, cx, j);
      sm[i + 1] = k.qty;
      sa[i + 1] = 0.0;
    } else {
      close_long(k, cx, cx.o[j], j, exit_reason::signal);
      sm[i + 1] = 0.0;
      sa[i + 1] = k.cash;
    }
  }
  for (std::size_t i = n + 1; i < n + 17; ++i) sm[i] = sa[i] = 0.0;  // read by the permutes, never selected

  double const* c = cx.c + b0;
  __m512d const zero = _mm512_setzero_pd(), inf = _mm512_set1_pd(std::numeric_limits<double>::infinity());
  alignas(64) double eb[64];
  std::size_t base = 0;
  __m512d s1 = q.s1, s2 = q.s2, s3 = q.s3, prev = q.prev;  // in registers: eb's stores may not alias them
  // 8 bars from u: equity, returns, min/max. A whole word (every word but a short last
  // block's last) runs with the mask a constant.
  auto step = [&]<bool Full>(std::size_t u, std::size_t u1, std::uint64_t trw, __m512d& mn, __m512d& mx) ATB_AVX512 {
    auto const bt = static_cast<unsigned>((trw >> (u & 63)) & 0xFF);
    __m512i const rel = _mm512_cvtepu8_epi64(_mm_cvtsi64_si128(static_cast<long long>(seg_lut[bt])));
    __m512d const m = _mm512_permutex2var_pd(_mm512_loadu_pd(sm + base), rel, _mm512_loadu_pd(sm + base + 8));
    __m512d const a = _mm512_permutex2var_pd(_mm512_loadu_pd(sa + base), rel, _mm512_loadu_pd(sa + base + 8));
    base += static_cast<std::size_t>(std::popcount(bt));
    // All lanes of a whole word: the constant mask folds away (no mask built per 8 bars).
    auto const lm = Full ? __mmask8{0xFF}
                         : static_cast<__mmask8>(_bzhi_u32(0xFFu, static_cast<unsigned>(std::min<std::size_t>(8, u1 - u))));
    __m512d const e = _mm512_fmadd_pd(m, _mm512_maskz_loadu_pd(lm, c + u), a);
    __m512d const pv = _mm512_castsi512_pd(_mm512_alignr_epi64(_mm512_castpd_si512(e), _mm512_castpd_si512(prev), 7));
    __m512d const r = returns8(e, pv);  // (lanes past the end masked below)
    __m512d const ng = _mm512_min_pd(r, zero);
    s1 = _mm512_mask_add_pd(s1, lm, s1, r);
    s2 = _mm512_mask3_fmadd_pd(r, r, s2, lm);
    s3 = _mm512_mask3_fmadd_pd(ng, ng, s3, lm);
    mn = _mm512_mask_min_pd(mn, lm, mn, e);
    mx = _mm512_mask_max_pd(mx, lm, mx, e);
    _mm512_store_pd(eb + (u & 63), e);
    prev = e;
    // The closes of the block after next (the next block's were requested while this
    // one was processed): spread over this pass, which leaves the memory idle otherwise.
    _mm_prefetch(reinterpret_cast<char const*>(c + u + 4 * block), _MM_HINT_T1);
  };
  for (std::size_t w = 0; w < nw; ++w) {
    std::size_t const u0 = w * 64, u1 = std::min(len, u0 + 64);
    __m512d mn = inf, mx = zero;
    if (u1 - u0 == 64) {
      for (std::size_t u = u0; u < u1; u += 8) step.template operator()<true>(u, u1, tr[w], mn, mx);
    } else {
      for (std::size_t u = u0; u < u1; u += 8) step.template operator()<false>(u, u1, tr[w], mn, mx);
    }
    double const lo = hmin8(mn), top = hmax8(mx), hi = std::max(k.peak, top);
    if (top <= k.peak) {  // no new peak: the lowest bar is the worst, as bar by bar
      k.mdd = std::max(k.mdd, 1.0 - lo / k.peak);
    } else if (lo < (1.0 - k.mdd) * hi) {
      // May set a new maximum drawdown: each bar against the running peak (a prefix max
      // per 8 bars), 1 − e/peak for the bars below (1 − mdd)·peak, as the reference does.
      __m512d pk0 = _mm512_set1_pd(k.peak), mdd = _mm512_set1_pd(k.mdd);
      for (std::size_t u = 0; u < u1 - u0; u += 8) {
        auto const lm = static_cast<__mmask8>(_bzhi_u32(0xFFu, static_cast<unsigned>(std::min<std::size_t>(8, u1 - u0 - u))));
        __m512d const e = _mm512_maskz_load_pd(lm, eb + u);
        __m512d pk = _mm512_max_pd(e, shl_lanes<1>(e));
        pk = _mm512_max_pd(pk, shl_lanes<2>(pk));
        pk = _mm512_max_pd(_mm512_max_pd(pk, shl_lanes<4>(pk)), pk0);
        pk0 = bcast7(pk);
        __mmask8 const low = _mm512_mask_cmp_pd_mask(lm, e, _mm512_mul_pd(pk, _mm512_sub_pd(_mm512_set1_pd(1.0), mdd)), _CMP_LT_OQ);
        if (low)
          mdd = _mm512_set1_pd(hmax8(
              _mm512_mask_max_pd(mdd, low, mdd, _mm512_sub_pd(_mm512_set1_pd(1.0), _mm512_div_pd(e, pk)))));
      }
      k.peak = _mm512_cvtsd_f64(pk0);
      k.mdd = _mm512_cvtsd_f64(mdd);
    } else {
      k.peak = hi;
    }
  }
  q = {s1, s2, s3, prev};
}

ATB_AVX512 void run_single_512(bar_series const& b, combo& k, exec_options const& opt, bool vbmi2) {
  std::size_t const n = b.size();
  double const* c = b.close.data();
  ctx const cx{c, b.open.data(), 1.0 + opt.slippage_bps / 1e4, 1.0 - opt.slippage_bps / 1e4, opt.fee, n};
  double cf = 0, cs = 0;
  std::uint64_t tb[words];
  eq_acc512 acc{_mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_set1_pd(opt.capital)};
  // Software pipeline: the target bits of block i+1 are computed, and the lines of the
  // opens its fills will read requested, before block i's trades are processed, so that
  // those opens arrive while the signal loop runs.
  auto be = std::make_unique<block_events[]>(2);
  std::uint64_t carry_t = 0, carry_p = 0;
  auto signal = [&](std::size_t b0, block_events& e) ATB_AVX512 {
    std::size_t const b1 = std::min(n, b0 + block);
    signal_bits_fused_512(c, b0, b1, k.p.fast, k.p.slow, k.df, k.ds, cf, cs, tb);
    k.sums.exposed_bars += vbmi2 ? block_changes_vbmi2(tb, b1 - b0, carry_t, carry_p, e)
                                 : block_changes(tb, b1 - b0, carry_t, carry_p, e);
    // Only the opens of fills are read: their lines are requested a block ahead (~1/36
    // of the column instead of all of it).
    for (std::size_t i = 0; i < e.n; ++i) _mm_prefetch(reinterpret_cast<char const*>(cx.o + b0 + e.ev[i]), _MM_HINT_T0);
  };
  signal(0, be[0]);
  unsigned cur = 0;
  for (std::size_t b0 = 0; b0 < n; b0 += block) {
    std::size_t const b1 = std::min(n, b0 + block);
    if (b1 < n) signal(b1, be[cur ^ 1]);
    process_block_512(k, cx, be[cur], b0, b1, acc);
    cur ^= 1;
  }
  k.sums.sum_r += _mm512_reduce_add_pd(acc.s1);
  k.sums.sum_r2 += _mm512_reduce_add_pd(acc.s2);
  k.sums.sum_neg2 += _mm512_reduce_add_pd(acc.s3);
}

/// Base and scale of a block's int16 means, from the min and max of the closes [first, b1)
/// the block's windows cover (see quantize_block_512 for why every decision stays exact).
struct quant_frame {
  double base, scale;
};
ATB_AVX2 quant_frame block_frame(double const* c, std::size_t first, std::size_t b1) {
  __m256d vlo = _mm256_set1_pd(c[first]), vhi = vlo;
  std::size_t j = first;
  for (; j + 4 <= b1; j += 4) {
    __m256d const x = _mm256_loadu_pd(c + j);
    vlo = _mm256_min_pd(vlo, x);
    vhi = _mm256_max_pd(vhi, x);
  }
  double lo = hmin(vlo), hi = hmax(vhi);
  for (; j < b1; ++j) {
    lo = std::min(lo, c[j]);
    hi = std::max(hi, c[j]);
  }
  return {0.5 * (lo + hi), 32000.0 / std::max(0.5 * (hi - lo), std::ldexp(hi, -29) + 1e-300)};
}

/// The sweep's int16 means with AVX2 (see quantize_block_512 for the scale and its
/// bound): each window's double sums quantized, round(sum·(scale/w) − base·scale). Out-of-range
/// conversions give INT32_MIN and the pack saturates: only incomplete windows at the
/// series' start fall out of range, below it.
ATB_AVX2 void quantize_block_avx2(double const* c, std::size_t first, std::size_t b1, double const* sums,
                                  std::size_t len, std::vector<std::size_t> const& wins, std::int16_t* out) {
  auto const [base, scale] = block_frame(c, first, b1);
  __m256d const vo = _mm256_set1_pd(base * scale);
  for (std::size_t w = 0; w < wins.size(); ++w) {
    double const* sm = sums + w * block;
    std::int16_t* o = out + w * block;
    double const mul = scale / static_cast<double>(wins[w]);
    __m256d const vm = _mm256_set1_pd(mul);
    std::size_t k = 0;
    for (; k + 8 <= len; k += 8) {
      __m128i const a = _mm256_cvtpd_epi32(_mm256_fmsub_pd(_mm256_loadu_pd(sm + k), vm, vo));
      __m128i const b = _mm256_cvtpd_epi32(_mm256_fmsub_pd(_mm256_loadu_pd(sm + k + 4), vm, vo));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o + k), _mm_packs_epi32(a, b));
    }
    for (; k < len; ++k) {
      double const v = std::nearbyint(std::fma(sm[k], mul, -(base * scale)));
      o[k] = static_cast<std::int16_t>(std::clamp(v, -32768.0, 32767.0));
    }
  }
}

/// 32 bits from two vectors of 16 int16 (lane order kept: the pack works per 128-bit half).
ATB_AVX2 inline std::uint32_t bits16x2(__m256i lo, __m256i hi) {
  return static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_permute4x64_epi64(_mm256_packs_epi16(lo, hi), 0xD8)));
}

/// signal_bits_512_q16 with AVX2: 16 bars per instruction, the same decision rule (a
/// difference of 2 units or more decides; a 4-bar group with a bar within 1 unit is redone
/// exactly from the sums). Returns the number of bars done (whole words).
ATB_AVX2 std::size_t signal_bits_q16(std::int16_t const* qf, std::int16_t const* qs, double const* sf, double const* ss,
                                     std::size_t len, double df, double ds, std::uint64_t* bits) {
  __m256d const vf = _mm256_set1_pd(df), vs = _mm256_set1_pd(ds);
  __m256i const one = _mm256_set1_epi16(1);
  std::size_t k = 0;
  for (; k + 64 <= len; k += 64) {
    __m256i d[4];
    for (unsigned h = 0; h < 4; ++h)
      d[h] = _mm256_subs_epi16(_mm256_loadu_si256(reinterpret_cast<__m256i const*>(qf + k + 16 * h)),
                               _mm256_loadu_si256(reinterpret_cast<__m256i const*>(qs + k + 16 * h)));
    std::uint64_t acc = bits16x2(_mm256_cmpgt_epi16(d[0], one), _mm256_cmpgt_epi16(d[1], one)) |
                        std::uint64_t{bits16x2(_mm256_cmpgt_epi16(d[2], one), _mm256_cmpgt_epi16(d[3], one))} << 32;
    std::uint64_t const clear =  // bars whose |difference| is 2 units or more
        bits16x2(_mm256_cmpgt_epi16(_mm256_abs_epi16(d[0]), one), _mm256_cmpgt_epi16(_mm256_abs_epi16(d[1]), one)) |
        std::uint64_t{bits16x2(_mm256_cmpgt_epi16(_mm256_abs_epi16(d[2]), one),
                               _mm256_cmpgt_epi16(_mm256_abs_epi16(d[3]), one))} << 32;
    std::uint64_t amb = ~clear;
    while (amb) {  // the 4-bar groups with a bar within 1 unit, exactly
      unsigned const u = static_cast<unsigned>(std::countr_zero(amb)) & ~3u;
      std::uint64_t const g = std::uint64_t{0xF} << u;
      acc = (acc & ~g) | gt_exact4(_mm256_loadu_pd(sf + k + u), _mm256_loadu_pd(ss + k + u), vf, vs) << u;
      amb &= ~g;
    }
    bits[k >> 6] = acc;
  }
  return k;
}

// ---- sweep: shared tables, position-bit events, O(1) trades -------------------------

/// Entry at block bar k: its return contributions minus the held-bar prefix sums through
/// k (held bars start at k+1), and the entry cost per unit, (open·(1+slippage))·(1+fee).
struct entry_row {
  double r1, r2, r3, den;
};
/// Exit at block bar k: its return contributions plus the held-bar prefix sums before k,
/// and the exit fill price open·(1−slippage). Row `len` holds the full prefix sums (a
/// position still open at the block's end).
struct exit_row {
  double r1, r2, r3, xp;
};
constexpr std::size_t levels = 11;  // sparse table levels 0..10 (1024 = 2^10)

/// Shared by every pair of a sweep, per block.
struct sweep_shared {
  alignas(64) entry_row ent[block];
  alignas(64) exit_row ext[block + 1];
  /// rng[h][2k], rng[h][2k+1] = min and max of the closes of block bars [k, k + 2^h), for
  /// k + 2^h <= len (other rows unset). A range [x, z] is the union of rows x and
  /// z + 1 − 2^h of level h = bit_width(z − x + 1) − 1: two loads, no branch.
  alignas(64) double rng[levels][2 * block];
  alignas(64) double held[block], in[block], out[block];
  double const* close = nullptr;  ///< closes of the block (close[k] = bar b0 + k)
};

/// The per-bar return contributions of sweep_prep with AVX-512, 8 bars per instruction,
/// reciprocals by rcp14 and two Newton steps (returns8's precision) instead of divisions.
ATB_AVX512 void prep_returns_512(double const* c, double const* o, std::size_t k0, std::size_t len, double sell, double buy,
                                 double* held, double* out, double* in) {
  __m512d const one = _mm512_set1_pd(1.0), vs = _mm512_set1_pd(sell), vb = _mm512_set1_pd(buy);
  auto recip = [&](__m512d x) ATB_AVX512 {
    __m512d y = _mm512_rcp14_pd(x);
    y = _mm512_fmadd_pd(y, _mm512_fnmadd_pd(x, y, one), y);
    return _mm512_fmadd_pd(y, _mm512_fnmadd_pd(x, y, one), y);
  };
  for (std::size_t k = k0; k < len; k += 8) {
    auto const m = static_cast<__mmask8>(_bzhi_u32(0xFFu, static_cast<unsigned>(std::min<std::size_t>(8, len - k))));
    __m512d const cp = _mm512_mask_loadu_pd(one, m, c + k - 1), cc = _mm512_mask_loadu_pd(one, m, c + k);
    __m512d const oo = _mm512_mask_loadu_pd(one, m, o + k);
    __m512d const y = recip(cp);
    _mm512_mask_storeu_pd(held + k, m, _mm512_fmsub_pd(cc, y, one));
    _mm512_mask_storeu_pd(out + k, m, _mm512_fmsub_pd(_mm512_mul_pd(oo, vs), y, one));
    _mm512_mask_storeu_pd(in + k, m, _mm512_fmsub_pd(cc, recip(_mm512_mul_pd(oo, vb)), one));
  }
}

/// Levels 1.. of the sweep's sparse table with AVX-512: four {min, max} rows per instruction.
ATB_AVX512 void sparse_levels_512(sweep_shared& s, std::size_t len) {
  for (std::size_t h = 1; h < levels && (std::size_t{1} << h) <= len; ++h) {
    std::size_t const half = std::size_t{1} << (h - 1), last = len - 2 * half;
    double const* lo = s.rng[h - 1];
    double* row = s.rng[h];
    std::size_t k = 0;
    for (; k + 4 <= last + 1; k += 4) {  // min in the even lanes, max in the odd
      __m512d const a = _mm512_loadu_pd(lo + 2 * k), b = _mm512_loadu_pd(lo + 2 * (k + half));
      _mm512_storeu_pd(row + 2 * k, _mm512_mask_max_pd(_mm512_min_pd(a, b), 0xAA, a, b));
    }
    for (; k <= last; ++k) {
      row[2 * k] = std::min(lo[2 * k], lo[2 * (k + half)]);
      row[2 * k + 1] = std::max(lo[2 * k + 1], lo[2 * (k + half) + 1]);
    }
  }
}

ATB_AVX2 void sweep_prep(ctx const& cx, std::size_t b0, std::size_t b1, sweep_shared& s, bool avx512) {
  double const* c = cx.c + b0;
  double const* o = cx.o + b0;
  std::size_t const len = b1 - b0;
  s.close = c;
  double const fee_in = 1.0 + cx.fee, fee_out = 1.0 - cx.fee;
  // Returns as the simulator computes them, up to rounding: held bar e_j/e_{j-1} with
  // the same quantity, entry bar qty·c_j / cash, exit bar cash / (qty·c_{j-1}).
  // Bar 0 of the series has no return (and no fill: t_{-1} is 0).
  std::size_t const k0 = b0 == 0 ? 1 : 0;
  if (k0) s.held[0] = s.out[0] = s.in[0] = 0.0;
  if (avx512) {
    prep_returns_512(c, o, k0, len, cx.sell_mul * fee_out, cx.buy_mul * fee_in, s.held, s.out, s.in);
  } else {
    for (std::size_t k = k0; k < len; ++k) {
      s.held[k] = c[k] / c[k - 1] - 1.0;
      s.out[k] = (o[k] * cx.sell_mul) * fee_out / c[k - 1] - 1.0;
    }
    for (std::size_t k = k0; k < len; ++k) s.in[k] = c[k] / ((o[k] * cx.buy_mul) * fee_in) - 1.0;
  }
  double a1 = 0, a2 = 0, a3 = 0;  // sums over held bars [b0, b0+k)
  for (std::size_t k = 0; k < len; ++k) {
    double const out = s.out[k], in = s.in[k], held = s.held[k];
    double const out_ng = std::min(out, 0.0), in_ng = std::min(in, 0.0), held_ng = std::min(held, 0.0);
    s.ext[k] = exit_row{out + a1, out * out + a2, out_ng * out_ng + a3, o[k] * cx.sell_mul};
    a1 += held;
    a2 += held * held;
    a3 += held_ng * held_ng;
    s.ent[k] = entry_row{in - a1, in * in - a2, in_ng * in_ng - a3, (o[k] * cx.buy_mul) * fee_in};
  }
  s.ext[len] = exit_row{a1, a2, a3, 0.0};
  for (std::size_t k = 0; k < len; ++k) s.rng[0][2 * k] = s.rng[0][2 * k + 1] = c[k];
  if (avx512) {
    sparse_levels_512(s, len);
    return;
  }
  for (std::size_t h = 1; h < levels && (std::size_t{1} << h) <= len; ++h) {
    std::size_t const half = std::size_t{1} << (h - 1), last = len - 2 * half;
    double const* lo = s.rng[h - 1];
    double* row = s.rng[h];
    std::size_t k = 0;
    for (; k + 2 <= last + 1; k += 2) {  // two rows {mn, mx} per register: min in the even lanes, max in the odd
      __m256d const a = _mm256_loadu_pd(lo + 2 * k), b = _mm256_loadu_pd(lo + 2 * (k + half));
      _mm256_storeu_pd(row + 2 * k, _mm256_blend_pd(_mm256_min_pd(a, b), _mm256_max_pd(a, b), 0b1010));
    }
    for (; k <= last; ++k) {
      row[2 * k] = std::min(lo[2 * k], lo[2 * (k + half)]);
      row[2 * k + 1] = std::max(lo[2 * k + 1], lo[2 * (k + half) + 1]);
    }
  }
}

/// State of one pair in a sweep.
struct sweep_pair {
  sma_pair p;
  double df, ds;
  std::size_t fi = 0, si = 0;  // indexes into the distinct-window list
  bool last_t = false;         // target bit of the previous block's last bar
  bool lng = false;            // long during the previous block's last bar
  double cash, qty = 0, entry_value = 0;
  double peak, mdd = 0;
  double low = 0;  ///< lowest equity since the peak was set: the drawdown 1 − low/peak is still to be counted in mdd
  double s1 = 0, s2 = 0, s3 = 0, gross_profit = 0, gross_loss = 0;
  std::size_t exposed = 0, trades = 0, wins = 0;
};

/// Position bits of one pair in one block from its target bits tb: exposure counted,
/// entries and exits (alternating, the first an exit when the pair is long at the
/// block's start) flattened into ev (block + 64 slots); returns their number.
template <class Flatten>
__attribute__((always_inline)) inline std::size_t pair_events_with(sweep_pair& k, std::uint64_t const* tb,
                                                                   std::size_t len, std::uint16_t* ev,
                                                                   Flatten flatten) {
  std::uint64_t carry_t = k.last_t, carry_p = k.lng;
  std::size_t const n = position_changes(tb, len, carry_t, carry_p, ev, nullptr, k.exposed, flatten);
  k.last_t = (tb[(len - 1) >> 6] >> ((len - 1) & 63)) & 1u;
  return n;
}

ATB_AVX2 std::size_t pair_events(sweep_pair& k, std::uint64_t const* tb, std::size_t len, std::uint16_t* ev) {
  return pair_events_with(k, tb, len, ev, [](std::uint64_t t, std::uint32_t base, std::uint16_t* out) ATB_AVX2 {
    return flatten_bits(t, base, out);
  });
}

/// pair_events with AVX-512 VBMI2 (flatten_bits_vbmi2: one byte compress per word).
ATB_AVX512_VBMI2 std::size_t pair_events_vbmi2(sweep_pair& k, std::uint64_t const* tb, std::size_t len, std::uint16_t* ev) {
  return pair_events_with(k, tb, len, ev, [](std::uint64_t t, std::uint32_t base, std::uint16_t* out) ATB_AVX512_VBMI2 {
    return flatten_bits_vbmi2(t, base, out);
  });
}

/// Trade state of one pair while a block's events are applied (in registers).
struct trade_state {
  double cash, qty, entry_value, peak, mdd, low, s1, s2, s3, gp, gl;
  std::size_t wins;
};

/// The sweep counts the drawdown lazily: below the peak only the lowest equity is kept
/// (`low`), and 1 − low/peak — the largest drawdown against that peak, as bar by bar,
/// since rounding is monotone — joins mdd when a new peak is set (here). Divisions: one
/// per new peak instead of two per trade.
inline void new_peak(trade_state& t, double e) {
  t.mdd = std::max(t.mdd, 1.0 - t.low / t.peak);
  t.peak = e;
  t.low = e;
}

/// Long over block bars [x, z], from one sparse-table query of the closes' min and max:
/// below the peak, only the lowest equity can matter; a new peak with no bar below
/// (1 − mdd)·the new peak only moves the peak; otherwise (rare) bar by bar.
inline void held_run(trade_state& t, sweep_shared const& s, std::size_t x, std::size_t z) {
  unsigned const h = static_cast<unsigned>(std::bit_width(z - x + 1)) - 1;
  double const* a = s.rng[h] + 2 * x;
  double const* b = s.rng[h] + 2 * (z + 1 - (std::size_t{1} << h));
  double const hi = t.qty * std::max(a[1], b[1]), e_lo = t.qty * std::min(a[0], b[0]);
  if (hi <= t.peak) {  // below the peak: the worst bar is the lowest
    t.low = std::min(t.low, e_lo);
    return;
  }
  double const m = std::max(t.mdd, 1.0 - t.low / t.peak);  // the drawdown so far
  if (e_lo >= (1.0 - m) * hi) {  // a new peak, and no bar of the run goes below (1 − m)·hi
    t.mdd = m;
    t.peak = hi;
    t.low = hi;
    return;
  }
  for (std::size_t j = x; j <= z; ++j) {  // rare: bar by bar
    double const e = t.qty * s.close[j];
    if (e > t.peak) new_peak(t, e);
    else t.low = std::min(t.low, e);
  }
}

/// Buy at block bar a's open, with everything, as the simulator does.
inline void enter_at(trade_state& t, sweep_shared const& s, std::size_t a) {
  entry_row const& r = s.ent[a];
  t.entry_value = t.cash;
  t.qty = t.cash / r.den;
  t.cash = 0;
  t.s1 += r.r1;
  t.s2 += r.r2;
  t.s3 += r.r3;
}

/// Sell everything at block bar b's open.
inline void leave_at(trade_state& t, sweep_shared const& s, double fee_out, std::size_t b) {
  exit_row const& r = s.ext[b];
  t.s1 += r.r1;
  t.s2 += r.r2;
  t.s3 += r.r3;
  t.cash = t.qty * r.xp * fee_out;
  t.qty = 0;
  double const pnl = t.cash - t.entry_value;
  // Branch-free: a trade is a win or a loss at random, which a branch mispredicts.
  t.wins += pnl > 0 ? 1u : 0u;
  t.gp += pnl > 0 ? pnl : 0.0;
  t.gl -= pnl > 0 ? 0.0 : pnl;
  if (t.cash > t.peak) new_peak(t, t.cash);
  else t.low = std::min(t.low, t.cash);
}

/// Applies one block's events (from pair_events) to a pair: per trade O(1) and no
/// data-dependent branch but the rare bar-by-bar drawdown. (Interleaving the trades of
/// four pairs, to overlap their cash chains, measured slower.)
ATB_AVX2 void apply_events(sweep_pair& k, sweep_shared const& s, double fee_out, std::uint16_t const* ev, std::size_t n,
                           std::size_t len) {
  trade_state t{k.cash, k.qty, k.entry_value, k.peak, k.mdd, k.low, k.s1, k.s2, k.s3, k.gross_profit, k.gross_loss, 0};
  std::size_t i = 0;
  if (k.lng) {  // the run from the previous block continues
    std::size_t const b = n > 0 ? ev[0] : len;
    if (b > 0) held_run(t, s, 0, b - 1);
    if (n > 0) {
      leave_at(t, s, fee_out, b);
      i = 1;
    }
  }
  std::size_t const lead = i;  // the exit of a trade entered earlier
  for (; i + 1 < n; i += 2) {
    std::size_t const a = ev[i], b = ev[i + 1];
    enter_at(t, s, a);
    held_run(t, s, a, b - 1);
    leave_at(t, s, fee_out, b);
  }
  bool const lng = (k.lng && n == 0) || n > i;
  if (n > i) {  // entered, still long at the block's end
    std::size_t const a = ev[i];
    enter_at(t, s, a);
    held_run(t, s, a, len - 1);
  }
  if (lng) {
    t.s1 += s.ext[len].r1;
    t.s2 += s.ext[len].r2;
    t.s3 += s.ext[len].r3;
  }
  k.trades += lead + (n - lead) / 2;
  k.lng = lng;
  k.cash = t.cash;
  k.qty = t.qty;
  k.entry_value = t.entry_value;
  k.peak = t.peak;
  k.mdd = t.mdd;
  k.low = t.low;
  k.s1 = t.s1;
  k.s2 = t.s2;
  k.s3 = t.s3;
  k.gross_profit = t.gp;
  k.gross_loss = t.gl;
  k.wins += t.wins;
}

/// One window's sums over a block from integer prefix sums: q[j] = sum of the closes
/// before bar b0 − maxw + j, modulo 2^64 (exact differences: every window sum is an
/// integer below 2^53), so each sum is one subtraction and one conversion, no scan.
struct prefix_sums {
  std::uint64_t const* q;
  std::size_t maxw;
  ATB_AVX512 __m512d sums8(std::size_t w, std::size_t k) const {  // bars b0+k .. b0+k+7
    std::uint64_t const* hi = q + maxw + 1 + k;  // hi[0] = Q(b0 + k + 1)
    return _mm512_cvtepi64_pd(_mm512_sub_epi64(_mm512_loadu_si512(hi), _mm512_loadu_si512(hi - w)));
  }
  double sum(std::size_t w, std::size_t k) const {
    return static_cast<double>(static_cast<std::int64_t>(q[maxw + 1 + k] - q[maxw + 1 + k - w]));
  }
};

/// The block's means of one window as int16, straight from the prefix sums:
/// round(sum·(scale/w) − base·scale), saturated (see quantize_block_512 for base and scale).
ATB_AVX512 void quantize_window_512(prefix_sums const& ps, std::size_t len, std::size_t w, double base, double scale,
                                    std::int16_t* out) {
  __m512d const vm = _mm512_set1_pd(scale / static_cast<double>(w)), vo = _mm512_set1_pd(base * scale);
  std::size_t k = 0;
  for (; k + 8 <= len; k += 8) {
    __m512i const qv = _mm512_cvtpd_epi64(_mm512_fmsub_pd(ps.sums8(w, k), vm, vo));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + k), _mm512_cvtsepi64_epi16(qv));
  }
  for (; k < len; ++k) {
    double const v = std::nearbyint(std::fma(ps.sum(w, k), scale / static_cast<double>(w), -(base * scale)));
    out[k] = static_cast<std::int16_t>(std::clamp(v, -32768.0, 32767.0));
  }
}

/// The int16 means of every window of a sweep for block [b0, b1).
ATB_AVX512 void quantize_block_512(double const* c, std::size_t b0, std::size_t b1, prefix_sums const& ps,
                                   std::vector<std::size_t> const& wins, std::int16_t* out) {
  std::size_t const len = b1 - b0, maxw = ps.maxw;
  // Means quantized to int16 around the midrange of the closes the block's windows
  // cover (every complete window's mean lies in their range): at most ±32,000 units
  // (conversions and differences saturate, keeping their sign). A quantized mean is
  // within 0.5 unit (rounding) plus ~2^-52·max·scale ≤ 0.01 unit (the rounding of
  // sum·(scale/w) − base·scale: scale is capped at 32,000 / (max·2^-29)) of the exact
  // mean times scale, so a difference of 2 units or more has the sign of the exact one.
  // (Windows not yet complete at the series' start fall below the range and saturate;
  // their bars are before slow − 1, where no position is taken.)
  auto const [base, scale] = block_frame(c, b0 + 1 > maxw ? b0 + 1 - maxw : 0, b1);
  for (std::size_t w = 0; w < wins.size(); ++w)
    quantize_window_512(ps, len, wins[w], base, scale, out + w * block);
}

/// Target bits (SMA(fast) > SMA(slow)) of a block's whole 64-bar words from the quantized
/// means, 32 bars per instruction: the (saturating) int16 difference decides the bit when
/// it is 2 units or more (each quantized mean is within 0.51 unit of its exact value: see
/// quantize_block_512); an 8-bar group with a bar within 1 unit is redone exactly from the sums. Returns the
/// number of bars done (whole words); signal_bits_rest finishes the block.
ATB_AVX512 std::size_t signal_bits_512_q16(std::int16_t const* qf, std::int16_t const* qs, prefix_sums const& ps,
                                           std::size_t wf, std::size_t ws, std::size_t len, double df, double ds,
                                           std::uint64_t* bits) {
  __m512d const vf = _mm512_set1_pd(df), vs = _mm512_set1_pd(ds);
  __m512i const one = _mm512_set1_epi16(1);
  std::size_t k = 0;
  for (; k + 64 <= len; k += 64) {
    __m512i const d0 = _mm512_subs_epi16(_mm512_loadu_si512(qf + k), _mm512_loadu_si512(qs + k));
    __m512i const d1 = _mm512_subs_epi16(_mm512_loadu_si512(qf + k + 32), _mm512_loadu_si512(qs + k + 32));
    std::uint64_t acc = static_cast<std::uint64_t>(_mm512_cmpgt_epi16_mask(d0, one)) |
                        static_cast<std::uint64_t>(_mm512_cmpgt_epi16_mask(d1, one)) << 32;
    std::uint64_t amb = static_cast<std::uint64_t>(_mm512_cmple_epi16_mask(_mm512_abs_epi16(d0), one)) |
                        static_cast<std::uint64_t>(_mm512_cmple_epi16_mask(_mm512_abs_epi16(d1), one)) << 32;
    while (amb) {  // the 8-bar groups with a bar within 1 unit, exactly
      unsigned const u = static_cast<unsigned>(std::countr_zero(amb)) & ~7u;
      std::uint64_t const g = std::uint64_t{0xFF} << u;
      acc = (acc & ~g) |
            static_cast<std::uint64_t>(gt_exact8(ps.sums8(wf, k + u), ps.sums8(ws, k + u), vf, vs)) << u;
      amb &= ~g;
    }
    bits[k >> 6] = acc;
  }
  return k;
}

ATB_AVX2 void run_sweep(bar_series const& b, std::span<sweep_pair> ks, exec_options const& opt, fast_sma_isa isa) {
  bool const avx512 = isa >= fast_sma_isa::avx512, vbmi2 = isa >= fast_sma_isa::avx512_vbmi2;
  std::size_t const n = b.size();
  double const* c = b.close.data();
  ctx const cx{c, b.open.data(), 1.0 + opt.slippage_bps / 1e4, 1.0 - opt.slippage_bps / 1e4, opt.fee, n};
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
  aligned_vector<double> sums(avx512 ? 0 : wins.size() * block);  // window sums (AVX2)
  aligned_vector<std::int16_t> qmeans(wins.size() * block);  // sums / window length, quantized
  std::vector<double> carry(wins.size(), 0.0);
  std::size_t const maxw = wins.back();
  std::vector<std::uint64_t> pre(avx512 ? maxw + block + 1 : 0, 0);  // Q(b0 − maxw + j), 0 before bar 0
  auto shared = std::make_unique<sweep_shared>();
  std::vector<std::uint16_t> ev(block + 96);
  double const fee_out = 1.0 - opt.fee;
  std::uint64_t tb[words];
  for (std::size_t b0 = 0; b0 < n; b0 += block) {
    std::size_t const b1 = std::min(n, b0 + block), len = b1 - b0;
    if (avx512) {
      for (std::size_t j = maxw + 1; j <= maxw + len; ++j)
        pre[j] = pre[j - 1] + static_cast<std::uint64_t>(c[b0 + j - maxw - 1]);
      quantize_block_512(c, b0, b1, prefix_sums{pre.data(), maxw}, wins, qmeans.data());
    } else {
      for (std::size_t w = 0; w < wins.size(); ++w) window_sums(c, b0, b1, wins[w], sums.data() + w * block, carry[w]);
      quantize_block_avx2(c, b0 + 1 > maxw ? b0 + 1 - maxw : 0, b1, sums.data(), len, wins, qmeans.data());
    }
    sweep_prep(cx, b0, b1, *shared, avx512);
    prefix_sums const ps{pre.data(), maxw};
    for (auto& k : ks) {
      if (avx512) {
        std::size_t const done = signal_bits_512_q16(qmeans.data() + k.fi * block, qmeans.data() + k.si * block, ps,
                                                     k.p.fast, k.p.slow, len, k.df, k.ds, tb);
        signal_bits_rest(tb, done, len, b0, k.p.slow, k.df, k.ds,
                         [&](std::size_t q) { return std::pair{ps.sum(k.p.fast, q), ps.sum(k.p.slow, q)}; });
      } else {
        double const* sf = sums.data() + k.fi * block;
        double const* ss = sums.data() + k.si * block;
        std::size_t const done =
            signal_bits_q16(qmeans.data() + k.fi * block, qmeans.data() + k.si * block, sf, ss, len, k.df, k.ds, tb);
        signal_bits_rest(tb, done, len, b0, k.p.slow, k.df, k.ds, [&](std::size_t q) { return std::pair{sf[q], ss[q]}; });
      }
      std::size_t const m = vbmi2 ? pair_events_vbmi2(k, tb, len, ev.data()) : pair_events(k, tb, len, ev.data());
      apply_events(k, *shared, fee_out, ev.data(), m, len);
    }
    if (avx512)  // the next block's prefix sums start with this block's last maxw + 1
      std::copy(pre.begin() + static_cast<std::ptrdiff_t>(len), pre.begin() + static_cast<std::ptrdiff_t>(len + maxw + 1),
                pre.begin());
  }
}

metrics finish_sweep(sweep_pair& k, bar_series const& b, exec_options const& opt, double bpy, double bh, std::int64_t span) {
  std::size_t const n = b.size();
  if (k.lng) {  // closing sale at the last close, as the simulator does
    k.cash = k.qty * (b.close[n - 1] * (1.0 - opt.slippage_bps / 1e4)) * (1.0 - opt.fee);
    double const pnl = k.cash - k.entry_value;
    ++k.trades;
    k.wins += pnl > 0 ? 1u : 0u;
    k.gross_profit += pnl > 0 ? pnl : 0.0;
    k.gross_loss -= pnl > 0 ? 0.0 : pnl;
    k.qty = 0;
  }
  metric_sums m;
  m.bars = n;
  m.returns = n - 1;
  m.sum_r = k.s1;
  m.sum_r2 = k.s2;
  m.sum_neg2 = k.s3;
  double const peak = std::max(k.peak, k.cash), low = k.cash > k.peak ? k.cash : std::min(k.low, k.cash);
  m.max_drawdown = std::max({k.mdd, 1.0 - k.low / k.peak, 1.0 - low / peak});
  m.exposed_bars = k.exposed;
  m.trades = k.trades;
  m.wins = k.wins;
  m.gross_profit = k.gross_profit;
  m.gross_loss = k.gross_loss;
  m.final_equity = k.cash;
  return finish_metrics(m, opt.capital, span, bpy, bh);
}

// ---- instruction set selection -------------------------------------------------------

fast_sma_isa detect_isa() noexcept {
  __builtin_cpu_init();
  if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("popcnt") &&
        __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2")))
    return fast_sma_isa::scalar;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl"))
    return __builtin_cpu_supports("avx512vbmi2") ? fast_sma_isa::avx512_vbmi2 : fast_sma_isa::avx512;
  return fast_sma_isa::avx2;
}

fast_sma_isa cpu_isa() noexcept {
  static fast_sma_isa const v = detect_isa();
  return v;
}

std::atomic<fast_sma_isa>& isa_setting() noexcept {
  static std::atomic<fast_sma_isa> v{cpu_isa()};
  return v;
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
    process_block(k, cx, tb, b0, b1);
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

fast_sma_isa fast_sma_cpu_isa() noexcept { return cpu_isa(); }

fast_sma_isa set_fast_sma_isa(fast_sma_isa widest) noexcept {
  fast_sma_isa const v = std::min(widest, cpu_isa());
  isa_setting().store(v, std::memory_order_relaxed);
  return v;
}

fast_sma_isa fast_sma_active_isa() noexcept { return isa_setting().load(std::memory_order_relaxed); }

bool fast_sma_applicable(exec_options const& opt) noexcept {
  return !opt.allow_short && !opt.stop_loss && !opt.take_profit;
}

metrics run_sma_cross_fast(bar_series const& b, sma_pair p, exec_options const& opt, std::vector<trade>* trades) {
  if (b.empty()) {
    metrics m;
    m.final_equity = opt.capital;
    return m;
  }
  fast_sma_isa const isa = fast_sma_active_isa();
  if (isa == fast_sma_isa::scalar) {
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
  if (isa >= fast_sma_isa::avx512) run_single_512(b, k, opt, isa >= fast_sma_isa::avx512_vbmi2);
  else run_single(b, k, opt);
  return finish(k, b, opt, bars_per_year(b.interval), buy_and_hold_price_return(b), span_ms(b));
}

void sweep_sma_cross(bar_series const& b, std::span<sma_pair const> pairs, exec_options const& opt, std::span<metrics> out) {
  fast_sma_isa const isa = fast_sma_active_isa();
  if (b.empty() || isa == fast_sma_isa::scalar) {
    for (std::size_t i = 0; i < pairs.size(); ++i) out[i] = run_sma_cross_fast(b, pairs[i], opt);
    return;
  }
  // Chunks of pairs whose distinct window lengths number at most 48 keep the per-block
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
    std::vector<sweep_pair> ks(i1 - i0);
    for (std::size_t i = i0; i < i1; ++i) {
      sweep_pair& k = ks[i - i0];
      k.p = pairs[i];
      k.df = pairs[i].fast;
      k.ds = pairs[i].slow;
      k.cash = opt.capital;
      k.peak = opt.capital;
      k.low = opt.capital;
    }
    run_sweep(b, ks, opt, isa);
    for (std::size_t i = i0; i < i1; ++i) out[i] = finish_sweep(ks[i - i0], b, opt, bpy, bh, span);
  }
}

}  // namespace atb::engine
