// Every strategy and every execution option against the independent scalar reference
// (reference.hpp), on random walks and on real Binance klines.
#include "atb/engine/fast_sma.hpp"
#include "common.hpp"

namespace {

using namespace atb::engine;

struct case_opts {
  char const* name;
  ref::opts r;
};

exec_options to_exec(ref::opts const& r) {
  exec_options o;
  o.capital = r.capital;
  o.fee = r.fee;
  o.slippage_bps = r.slip_bps;
  if (r.sl >= 0) o.stop_loss = r.sl;
  if (r.tp >= 0) o.take_profit = r.tp;
  o.allow_short = r.shorts;
  return o;
}

std::vector<case_opts> option_cases() {
  std::vector<case_opts> v;
  v.push_back({"defaults", {}});
  ref::opts a;
  a.fee = 0.0005;
  a.slip_bps = 7;
  a.capital = 2500;
  v.push_back({"fee+slippage", a});
  ref::opts s;
  s.sl = 0.01;
  s.tp = 0.015;
  v.push_back({"stops", s});
  ref::opts sh;
  sh.shorts = true;
  sh.slip_bps = 3;
  v.push_back({"shorts", sh});
  ref::opts shs = sh;
  shs.sl = 0.02;
  shs.tp = 0.01;
  v.push_back({"shorts+stops", shs});
  return v;
}

std::vector<int> ref_targets(strategy_params const& p, bar_series const& b, bool shorts) {
  std::vector<double> c(b.close.begin(), b.close.end());
  auto z = [](double v) { return static_cast<std::size_t>(v); };
  switch (p.id) {
    case strategy_id::buy_and_hold: return std::vector<int>(b.size(), 1);
    case strategy_id::sma_cross: return ref::sma_cross(etest::mantissas(b), z(p.values[0]), z(p.values[1]), shorts);
    case strategy_id::ema_cross: return ref::ema_cross(c, z(p.values[0]), z(p.values[1]), shorts);
    case strategy_id::rsi_reversion: return ref::rsi_reversion(c, z(p.values[0]), p.values[1], p.values[2], shorts);
    case strategy_id::bollinger_breakout: return ref::bollinger(c, z(p.values[0]), p.values[1], shorts);
    case strategy_id::ml_basic:
      return ref::ml_basic(c, z(p.values[0]), p.values[1], p.values[2], z(p.values[3]), p.values[4], shorts);
  }
  return {};
}

void check_all(bar_series const& b, std::vector<strategy_params> const& params) {
  for (auto const& p : params) {
    for (auto const& oc : option_cases()) {
      SCOPED_TRACE(std::string(info(p.id).name) + " " + p.to_string() + " / " + oc.name);
      std::vector<std::int8_t> t(b.size());
      compute_targets(p, b, oc.r.shorts, t);
      auto const rt = ref_targets(p, b, oc.r.shorts);
      std::size_t diff = 0;
      for (std::size_t i = 0; i < b.size(); ++i) diff += (t[i] != rt[i]);
      ASSERT_EQ(diff, 0u) << "targets differ from the reference";
      auto const res = simulate(b, t, to_exec(oc.r));
      auto const want = ref::run(b, rt, oc.r);
      ASSERT_GT(want.trades.size(), 0u) << "test data should trade";
      etest::expect_same(res.m, &res.trades, want, b.size());
      if (p.id == strategy_id::sma_cross && fast_sma_applicable(to_exec(oc.r))) {
        std::vector<trade> ft;
        auto const fm = run_sma_cross_fast(b, {static_cast<std::uint32_t>(p.values[0]), static_cast<std::uint32_t>(p.values[1])},
                                           to_exec(oc.r), &ft);
        etest::expect_same(fm, &ft, want, b.size());
      }
    }
  }
}

std::vector<strategy_params> sample_params() {
  std::vector<strategy_params> v;
  for (auto const& s : all_strategies()) v.push_back(default_params(s.id));
  auto sma = default_params(strategy_id::sma_cross);
  sma.values[0] = 3;
  sma.values[1] = 7;
  v.push_back(sma);
  auto rsi = default_params(strategy_id::rsi_reversion);
  rsi.values[0] = 5;
  rsi.values[1] = 40;
  rsi.values[2] = 60;
  v.push_back(rsi);
  auto ml = default_params(strategy_id::ml_basic);
  ml.values[4] = 0.5;
  ml.values[3] = 50;
  v.push_back(ml);
  return v;
}

TEST(EngineReference, RandomWalkAllStrategies) {
  for (std::uint32_t seed : {1u, 7u}) {
    auto const b = etest::random_bars(5000, seed);
    check_all(b, sample_params());
  }
}

TEST(EngineReference, RealDataAllStrategies) {
  struct file { char const* name; atb::interval iv; };
  int found = 0;
  for (auto f : {file{"BTCUSDT-1h", atb::interval::h1}, file{"ETHUSDT-4h", atb::interval::h4},
                 file{"SOLUSDT-1d", atb::interval::d1}}) {
    auto b = etest::real_bars(f.name, f.iv);
    if (!b) continue;
    ++found;
    SCOPED_TRACE(f.name);
    if (b->size() > 12000) b->slice(b->size() - 12000, b->size());  // keep the suite fast under ASan
    check_all(*b, sample_params());
  }
  if (found == 0) GTEST_SKIP() << "../shared/data/klines is absent: real-data comparison skipped";
}

TEST(EngineReference, FastSmaMatchesOnLongRealHistory) {
  auto b = etest::real_bars("BTCUSDT-1h", atb::interval::h1);
  if (!b) GTEST_SKIP() << "../shared/data/klines/BTCUSDT-1h.csv is absent";
  for (auto p : {sma_pair{10, 50}, sma_pair{5, 200}, sma_pair{1, 2}, sma_pair{50, 1500}}) {
    SCOPED_TRACE(std::to_string(p.fast) + "/" + std::to_string(p.slow));
    ref::opts o;
    auto const want = ref::run(*b, ref::sma_cross(etest::mantissas(*b), p.fast, p.slow, false), o);
    std::vector<trade> ft;
    auto const m = run_sma_cross_fast(*b, p, to_exec(o), &ft);
    etest::expect_same(m, &ft, want, b->size());
  }
}

TEST(EngineReference, FastSmaExactAcrossTheSingleDifferenceBound) {
  // The single-run kernel uses one running difference slow·S_fast − fast·S_slow while
  // fast·slow·max(close) < 2^53 and two products otherwise. In `scaled` the second half
  // of the series is multiplied by 16 (exact: a power of two) so that for 10/50 the first
  // blocks take the first path and the later ones the second; on the plain series 3/1100
  // has windows longer than a block.
  auto const plain = etest::random_bars(30011, 5);
  auto scaled = plain;
  std::size_t const half = scaled.size() / 2;
  for (auto* v : {&scaled.open, &scaled.high, &scaled.low, &scaled.close})
    for (std::size_t i = half; i < v->size(); ++i) (*v)[i] *= 16;
  double lo_max = 0, hi_max = 0;
  for (std::size_t i = 0; i < scaled.size(); ++i) {
    double& m = i < half ? lo_max : hi_max;
    m = std::max(m, scaled.close[i]);
  }
  double const two53 = 9007199254740992.0;
  ASSERT_LT(10 * 50 * lo_max, two53);
  ASSERT_GE(10 * 50 * hi_max, two53);
  struct run_case { bar_series const* b; sma_pair p; };
  for (auto rc : {run_case{&scaled, {10, 50}}, run_case{&scaled, {3, 200}}, run_case{&plain, {3, 1100}},
                  run_case{&plain, {1, 2}}}) {
    auto const& b = *rc.b;
    double const mx = *std::max_element(b.close.begin(), b.close.end());
    ASSERT_LT(mx * rc.p.slow, two53);  // the kernel's precondition
    SCOPED_TRACE(std::to_string(rc.p.fast) + "/" + std::to_string(rc.p.slow));
    ref::opts o;
    auto const want = ref::run(b, ref::sma_cross(etest::mantissas(b), rc.p.fast, rc.p.slow, false), o);
    std::vector<trade> ft;
    auto const m = run_sma_cross_fast(b, rc.p, to_exec(o), &ft);
    EXPECT_GT(m.trades, 10u);
    etest::expect_same(m, &ft, want, b.size());
  }
}

TEST(EngineReference, SweepEqualsSingleRuns) {
  auto const b = etest::random_bars(20011, 3);  // last block and last group partial
  std::vector<sma_pair> pairs;
  for (std::uint32_t f = 2; f <= 30; f += 7)
    for (std::uint32_t s = 40; s <= 400; s += 90) pairs.push_back({f, s});
  exec_options o;
  o.slippage_bps = 2;
  std::vector<metrics> out(pairs.size());
  sweep_sma_cross(b, pairs, o, out);
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    SCOPED_TRACE(std::to_string(pairs[i].fast) + "/" + std::to_string(pairs[i].slow));
    ref::opts r;
    r.slip_bps = 2;
    auto const want = ref::run(b, ref::sma_cross(etest::mantissas(b), pairs[i].fast, pairs[i].slow, false), r);
    etest::expect_same(out[i], nullptr, want, b.size());
  }
}

TEST(EngineReference, FastSmaShortSeries) {
  // Series shorter than a block, than slow, and of odd lengths.
  for (std::size_t n : {1u, 2u, 3u, 49u, 50u, 51u, 1023u, 1024u, 1025u, 2051u}) {
    auto const b = etest::random_bars(n, static_cast<std::uint32_t>(n));
    std::vector<trade> ft;
    auto const m = run_sma_cross_fast(b, {10, 50}, exec_options{}, &ft);
    SCOPED_TRACE(n);
    if (n >= 3) {
      auto const want = ref::run(b, ref::sma_cross(etest::mantissas(b), 10, 50, false), ref::opts{});
      etest::expect_same(m, &ft, want, n);
    } else {
      EXPECT_EQ(m.trades, 0u);
      EXPECT_EQ(m.final_equity, 10000.0);
    }
  }
}

}  // namespace
