// The fast sma_cross kernels on every instruction set this CPU has (scalar fallback =
// reference simulator, AVX2, AVX-512): each against the independent reference
// (reference.hpp) and against each other, single runs and sweeps, random and real data.
#include "atb/engine/fast_sma.hpp"
#include "common.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace {

using namespace atb::engine;

/// Restores the instruction set in use when a test ends.
struct isa_guard {
  fast_sma_isa saved = fast_sma_active_isa();
  ~isa_guard() { set_fast_sma_isa(saved); }
};

std::vector<fast_sma_isa> available_isas() {
  std::vector<fast_sma_isa> v{fast_sma_isa::scalar};
  if (fast_sma_cpu_isa() >= fast_sma_isa::avx2) v.push_back(fast_sma_isa::avx2);
  if (fast_sma_cpu_isa() >= fast_sma_isa::avx512) v.push_back(fast_sma_isa::avx512);
  if (fast_sma_cpu_isa() >= fast_sma_isa::avx512_vbmi2) v.push_back(fast_sma_isa::avx512_vbmi2);
  return v;
}

char const* name(fast_sma_isa i) {
  switch (i) {
    case fast_sma_isa::scalar: return "scalar";
    case fast_sma_isa::avx2: return "avx2";
    case fast_sma_isa::avx512: return "avx512";
    case fast_sma_isa::avx512_vbmi2: return "avx512_vbmi2";
  }
  return "?";
}

ref::opts to_ref(exec_options const& o) {
  ref::opts r;
  r.capital = o.capital;
  r.fee = o.fee;
  r.slip_bps = o.slippage_bps;
  return r;
}

exec_options make_opts(double fee, double slip, double capital = 10000) {
  exec_options o;
  o.fee = fee;
  o.slippage_bps = slip;
  o.capital = capital;
  return o;
}

ref::out reference(bar_series const& b, sma_pair p, exec_options const& o) {
  return ref::run(b, ref::sma_cross(etest::mantissas(b), p.fast, p.slow, false), to_ref(o));
}

/// Every available instruction set: single runs equal the reference (trades and metrics).
void check_single_all_isas(bar_series const& b, std::vector<sma_pair> const& pairs, exec_options const& o) {
  isa_guard g;
  for (auto p : pairs) {
    auto const want = reference(b, p, o);
    for (auto isa : available_isas()) {
      ASSERT_EQ(set_fast_sma_isa(isa), isa);
      SCOPED_TRACE(std::string(name(isa)) + " " + std::to_string(p.fast) + "/" + std::to_string(p.slow));
      std::vector<trade> ft;
      auto const m = run_sma_cross_fast(b, p, o, &ft);
      etest::expect_same(m, &ft, want, b.size());
    }
  }
}

/// Every available instruction set: a sweep equals the reference pair by pair.
void check_sweep_all_isas(bar_series const& b, std::vector<sma_pair> const& pairs, exec_options const& o) {
  isa_guard g;
  std::vector<ref::out> want;
  for (auto p : pairs) want.push_back(reference(b, p, o));
  for (auto isa : available_isas()) {
    ASSERT_EQ(set_fast_sma_isa(isa), isa);
    std::vector<metrics> out(pairs.size());
    sweep_sma_cross(b, pairs, o, out);
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      SCOPED_TRACE(std::string(name(isa)) + " sweep " + std::to_string(pairs[i].fast) + "/" +
                   std::to_string(pairs[i].slow));
      etest::expect_same(out[i], nullptr, want[i], b.size());
    }
  }
}

std::vector<sma_pair> grid(std::uint32_t f0, std::uint32_t f1, std::uint32_t fs, std::uint32_t s0, std::uint32_t s1,
                           std::uint32_t ss) {
  std::vector<sma_pair> v;
  for (std::uint32_t f = f0; f <= f1; f += fs)
    for (std::uint32_t s = s0; s <= s1; s += ss)
      if (f < s) v.push_back({f, s});
  return v;
}

TEST(FastSma, CpuIsaIsReportedAndClamped) {
  isa_guard g;
  auto const cpu = fast_sma_cpu_isa();
  EXPECT_EQ(set_fast_sma_isa(fast_sma_isa::avx512_vbmi2), cpu);
  EXPECT_EQ(fast_sma_active_isa(), cpu);
  EXPECT_EQ(set_fast_sma_isa(fast_sma_isa::avx512), std::min(cpu, fast_sma_isa::avx512));
  EXPECT_EQ(fast_sma_active_isa(), std::min(cpu, fast_sma_isa::avx512));
  EXPECT_EQ(set_fast_sma_isa(fast_sma_isa::scalar), fast_sma_isa::scalar);
  EXPECT_EQ(fast_sma_active_isa(), fast_sma_isa::scalar);
}

TEST(FastSma, SingleRunsEveryIsaRandomWalks) {
  std::vector<sma_pair> const pairs{{1, 2}, {3, 7}, {10, 50}, {5, 200}, {2, 1500}, {40, 41}};
  for (std::uint32_t seed : {11u, 12u}) {
    SCOPED_TRACE(seed);
    auto const b = etest::random_bars(9001, seed);  // 8 full blocks and a partial one
    check_single_all_isas(b, pairs, make_opts(0.001, 0));
    check_single_all_isas(b, pairs, make_opts(0.0004, 5, 777));
  }
}

TEST(FastSma, SweepsEveryIsaRandomWalks) {
  // 4·k + 2 pairs: groups of four and a remainder; windows from 1 to beyond a block.
  auto pairs = grid(1, 41, 8, 2, 402, 50);
  pairs.push_back({3, 1100});  // (1, 2) is in the grid
  ASSERT_EQ(pairs.size() % 4, 2u);
  for (std::uint32_t seed : {21u, 22u}) {
    SCOPED_TRACE(seed);
    auto const b = etest::random_bars(7177, seed);
    check_sweep_all_isas(b, pairs, make_opts(0.001, 0));
    check_sweep_all_isas(b, pairs, make_opts(0.0, 3, 123456));
  }
}

TEST(FastSma, SweepNearTiesAreDecidedExactly) {
  // Closes on a lattice of 1e6 around 3e12 (9 levels): SMA differences are mostly below
  // the float threshold of the AVX-512 sweep's first pass (2^-20 of the price, ~2.9e6)
  // and often exact ties, so most bits must come from the exact comparison. (Steps are
  // kept large enough, ~1e-6 relative, for per-bar returns e/e' − 1 to be well
  // conditioned: with steps of a few units the reference's own rounding dominates.)
  auto b = etest::random_bars(5000, 41);
  std::uint64_t x = 12345;
  for (std::size_t i = 0; i < b.size(); ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    b.close[i] = 3e12 + 1e6 * static_cast<double>((x >> 33) % 9);
    b.open[i] = i > 0 ? b.close[i - 1] : b.close[i];
    b.high[i] = std::max(b.open[i], b.close[i]) + 1e6;
    b.low[i] = std::min(b.open[i], b.close[i]) - 1e6;
  }
  auto const pairs = grid(1, 21, 4, 2, 90, 11);
  check_sweep_all_isas(b, pairs, make_opts(0.0, 0.0));
  check_sweep_all_isas(b, pairs, make_opts(0.001, 1));
}

TEST(FastSma, NoFeesOnFlatPricesCountsWinsAsTheSimulator) {
  // Without fee or slippage, a trade entered and left at the same price has a pnl of
  // (cash / p)·p − cash: zero or one rounding step. Wins must be decided on that value,
  // exactly as the simulator does.
  auto b = etest::random_bars(6000, 31);
  for (std::size_t i = 0; i < b.size(); ++i) {
    if ((i / 11) % 3 == 0) b.open[i] = b.close[i] = b.close[i - i % 11];  // flat stretches
    else b.open[i] = i > 0 ? b.close[i - 1] : b.open[i];
  }
  auto const o = make_opts(0.0, 0.0, 10000.3);
  auto const pairs = grid(1, 9, 2, 2, 30, 7);
  check_single_all_isas(b, pairs, o);
  check_sweep_all_isas(b, pairs, o);
}

TEST(FastSma, DecliningAndRisingMarketsExerciseEveryDrawdownPath) {
  // A long decline (new drawdowns below the old peak all the time), then a long rise
  // (new peaks, no new drawdown), then noise: every branch of the per-run drawdown.
  auto b = etest::random_bars(12000, 41, false);
  double px = 4e12;
  for (std::size_t i = 0; i < b.size(); ++i) {
    double const drift = i < 4000 ? 0.9995 : i < 8000 ? 1.0006 : 1.0;
    double const noise = 1.0 + 0.004 * std::sin(static_cast<double>(i) * 0.37) + 0.002 * std::cos(static_cast<double>(i) * 1.3);
    px *= drift;
    b.open[i] = std::round(px * noise);
    b.close[i] = std::round(px * noise * (1.0 + 0.001 * std::sin(static_cast<double>(i))));
  }
  auto const pairs = grid(2, 30, 7, 10, 250, 60);
  check_single_all_isas(b, pairs, make_opts(0.001, 2));
  check_sweep_all_isas(b, pairs, make_opts(0.001, 2));
}

TEST(FastSma, ShortSeriesAndBlockEdges) {
  isa_guard g;
  for (std::size_t n : {3u, 7u, 64u, 65u, 1023u, 1024u, 1025u, 2047u, 2048u, 2049u}) {
    SCOPED_TRACE(n);
    auto const b = etest::random_bars(n, static_cast<std::uint32_t>(n) + 100);
    std::vector<sma_pair> const pairs{{1, 2}, {2, 5}, {5, 20}};
    check_single_all_isas(b, pairs, make_opts(0.001, 1));
    check_sweep_all_isas(b, pairs, make_opts(0.001, 1));
  }
}

TEST(FastSma, ExactAcrossTheSingleDifferenceBoundEveryIsa) {
  // Second half ×16 (exact): the single running difference holds for 10/50 in the first
  // half and not in the second, so both paths and the switch between them run.
  auto b = etest::random_bars(20011, 5);
  for (auto* v : {&b.open, &b.high, &b.low, &b.close})
    for (std::size_t i = b.size() / 2; i < v->size(); ++i) (*v)[i] *= 16;
  std::vector<sma_pair> const pairs{{10, 50}, {3, 200}, {1, 2}};
  check_single_all_isas(b, pairs, make_opts(0.001, 0));
  check_sweep_all_isas(b, pairs, make_opts(0.001, 0));
}

TEST(FastSma, ExactWithClosesUpToThePreconditionEveryIsa) {
  // Closes swinging between half and all of 2^53 / slow (the largest the precondition
  // allows): the increments of the AVX-512 single run's int64 difference reach
  // ±slow·max/2 and its window sums ~2^52, for 10/50 and for 1/2; an all-double
  // difference would not be exact here.
  for (auto p : {sma_pair{10, 50}, sma_pair{1, 2}}) {
    SCOPED_TRACE(std::to_string(p.fast) + "/" + std::to_string(p.slow));
    double const top = std::floor(0x1p53 / p.slow * 0.999);
    auto b = etest::random_bars(9000, 77);
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> u(0.5, 1.0);
    for (std::size_t i = 0; i < b.size(); ++i) {
      b.close[i] = std::round(top * u(rng));
      b.open[i] = i > 0 ? b.close[i - 1] : b.close[i];
      b.high[i] = std::max(b.open[i], b.close[i]);
      b.low[i] = std::min(b.open[i], b.close[i]);
    }
    check_single_all_isas(b, {p}, make_opts(0.001, 0));
    check_single_all_isas(b, {p}, make_opts(0.0, 0));
  }
}

TEST(FastSma, IsasAgreeWithEachOther) {
  // Same trades, metrics within 1e-9, between every pair of instruction sets (the
  // reference comparisons above imply it; this names a divergence directly).
  isa_guard g;
  auto const b = etest::random_bars(15000, 51);
  auto const o = make_opts(0.001, 1);
  for (auto p : {sma_pair{10, 50}, sma_pair{4, 90}}) {
    std::vector<metrics> ms;
    std::vector<std::vector<trade>> ts;
    for (auto isa : available_isas()) {
      set_fast_sma_isa(isa);
      ts.emplace_back();
      ms.push_back(run_sma_cross_fast(b, p, o, &ts.back()));
    }
    for (std::size_t i = 1; i < ms.size(); ++i) {
      SCOPED_TRACE(std::string(name(available_isas()[i])) + " vs scalar");
      ASSERT_EQ(ts[i].size(), ts[0].size());
      for (std::size_t t = 0; t < ts[0].size(); ++t) {
        ASSERT_EQ(ts[i][t].entry_bar, ts[0][t].entry_bar);
        ASSERT_EQ(ts[i][t].exit_bar, ts[0][t].exit_bar);
      }
      etest::expect_close(ms[i].sharpe, ms[0].sharpe, "sharpe");
      etest::expect_close(ms[i].max_drawdown, ms[0].max_drawdown, "max_drawdown");
      etest::expect_close(ms[i].final_equity, ms[0].final_equity, "final_equity");
      EXPECT_EQ(ms[i].trades, ms[0].trades);
      etest::expect_close(ms[i].win_rate, ms[0].win_rate, "win_rate");
    }
  }
}

TEST(FastSma, RealDataEveryIsa) {
  struct file {
    char const* name;
    atb::interval iv;
  };
  int found = 0;
  for (auto f : {file{"BTCUSDT-1h", atb::interval::h1}, file{"ETHUSDT-4h", atb::interval::h4},
                 file{"SOLUSDT-1d", atb::interval::d1}, file{"XRPUSDT-1h", atb::interval::h1}}) {
    auto b = etest::real_bars(f.name, f.iv);
    if (!b) continue;
    ++found;
    SCOPED_TRACE(f.name);
    check_single_all_isas(*b, {{10, 50}, {5, 200}, {1, 2}, {50, 1500}}, make_opts(0.001, 0));
    check_sweep_all_isas(*b, grid(5, 50, 15, 20, 200, 60), make_opts(0.00075, 2));
  }
  if (found == 0) GTEST_SKIP() << "../shared/data/klines is absent: real-data comparison skipped";
}

}  // namespace
