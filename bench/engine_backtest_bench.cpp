// Engine throughput on >= 5M bars (release preset):
//   BM_Engine_SmaCrossBacktest   full sma_cross backtest (fills, fees, equity, drawdown, metrics), fast path
//   BM_Engine_SmaCrossPairs      the same on 500k bars for several (fast, slow): per-trade costs
//   BM_Engine_SmaCrossSimulate   same result through compute_targets + the reference simulator
//   BM_Engine_SmaSweep           fast=5:50:5 x slow=20:200:10 (174 valid pairs), one thread; items = bars x pairs
//   BM_Engine_SmaColdStart1m10y  open the year files of a synthetic 10-year 1m cache, decode the needed
//                                columns, one sma_cross backtest; items = bars
//   BM_Engine_BacktestAvx2 / BM_Engine_SweepAvx2
//                                the first and the third with the kernels held to AVX2 (the path of CPUs
//                                without AVX-512; same numbers as the others on such CPUs)
// items_per_second = bars (x combinations for the sweep) per second. core_ghz (the first and the
// fourth): the core's speed in the same seconds, from a chain of dependent adds (see core_probe).
#include "atb/engine/backtest.hpp"
#include "atb/engine/data.hpp"
#include "atb/engine/fast_sma.hpp"
#include "atb/engine/strategy.hpp"
#include "atb/store/year_file.hpp"

#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>
#include <sys/mman.h>
#include <type_traits>
#include <unistd.h>

namespace {

using namespace atb;
using namespace atb::engine;

constexpr std::size_t bench_bars = 5'000'000;

bar_series const& synthetic() {
  static bar_series const b = [] {
    bar_series s;
    s.interval = interval::m1;
    s.price_scale = 1e-8;
    std::mt19937_64 rng(42);
    std::normal_distribution<double> step(0.0, 0.001);
    double px = 3e12;
    std::int64_t t = to_timestamp(civil_date{2015, 1, 1}).ms;
    for (std::size_t i = 0; i < bench_bars; ++i) {
      double const o = px;
      double const c = std::round(o * (1 + step(rng)));
      s.open.push_back(o);
      s.close.push_back(c);
      s.high.push_back(std::max(o, c) + 1e8);
      s.low.push_back(std::min(o, c) - 1e8);
      s.open_time.push_back(t);
      s.close_time.push_back(t + ms_per_minute - 1);
      t += ms_per_minute;
      px = c;
    }
    return s;
  }();
  return b;
}

/// A copy of the first n bars in columns backed by huge pages where the kernel allows, as
/// load_bars allocates them (engine/data.cpp: fresh_column).
bar_series hugepage_copy(bar_series const& src, std::size_t n) {
  auto col = [&](auto const& v) {
    using T = typename std::decay_t<decltype(v)>::value_type;
    auto out = aligned_vector_for_overwrite<T>(n);
    constexpr std::size_t huge = std::size_t{2} << 20;
    auto const a = reinterpret_cast<std::uintptr_t>(out.data());
    std::uintptr_t const lo = (a + huge - 1) & ~(huge - 1), hi = (a + n * sizeof(T)) & ~(huge - 1);
    if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);
    std::copy_n(v.begin(), n, out.begin());
    return out;
  };
  bar_series b;
  b.interval = src.interval;
  b.price_scale = src.price_scale;
  b.open_time = col(src.open_time);
  b.close_time = col(src.close_time);
  b.open = col(src.open);
  b.high = col(src.high);
  b.low = col(src.low);
  b.close = col(src.close);
  b.last_close_ms = b.close_time.back();
  return b;
}

/// How fast the core runs for this thread: a chain of 2M dependent integer adds (one per
/// cycle on current x86 cores), in adds per ns, i.e. about the clock in GHz that the
/// thread gets. On a shared VM it reads about half in the host's slow phases, and every
/// benchmark here slows with it (docs/BACKTEST.md#speed). Run paused, before each timed
/// iteration, so that a benchmark's rate and its `core_ghz` come from the same seconds.
struct core_probe {
  double sum = 0;
  std::size_t n = 0;
  void run(benchmark::State& st) {
    st.PauseTiming();
    constexpr long adds = 2'000'000;
    auto const t0 = std::chrono::steady_clock::now();
    long x = 0;
    for (long i = 0; i < adds; ++i) {
#if defined(__x86_64__)
      asm volatile("add $1, %0" : "+r"(x));
#else
      benchmark::DoNotOptimize(x += 1);
#endif
    }
    sum += static_cast<double>(adds) / std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    ++n;
    st.ResumeTiming();
  }
  void report(benchmark::State& st) const { st.counters["core_ghz"] = n ? sum / static_cast<double>(n) : 0.0; }
};

// Arg = bars: 5M (the target's size: 40 MB of closes streamed, opens read at fills) and
// 500k (4 MB, cache-resident: the compute speed of the kernel).
void BM_Engine_SmaCrossBacktest(benchmark::State& st) {
  bar_series const b = hugepage_copy(synthetic(), static_cast<std::size_t>(st.range(0)));
  exec_options const o;
  std::size_t trades = 0;
  core_probe probe;
  for (auto _ : st) {
    probe.run(st);
    auto m = run_sma_cross_fast(b, {10, 50}, o);
    benchmark::DoNotOptimize(m);
    trades = m.trades;
  }
  probe.report(st);
  st.counters["trades"] = static_cast<double>(trades);
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()) * static_cast<std::int64_t>(b.size()));
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations()) * static_cast<std::int64_t>(b.size() * sizeof(double)));
}
BENCHMARK(BM_Engine_SmaCrossBacktest)->Unit(benchmark::kMillisecond)->Arg(5'000'000)->Arg(500'000);

// Arg = fast, slow on the first 500k bars: how the speed depends on the number of trades
// (2/3 trades every ~5 bars, 200/1000 every ~1500) and on the exactness bound of the
// running-difference signal (2·fast·slow·max close < 2^53 holds for 10/50 here, not for 50/200).
void BM_Engine_SmaCrossPairs(benchmark::State& st) {
  bar_series b = synthetic();
  b.slice(0, 500000);
  exec_options const o;
  std::size_t trades = 0;
  for (auto _ : st) {
    auto m = run_sma_cross_fast(b, {static_cast<std::uint32_t>(st.range(0)), static_cast<std::uint32_t>(st.range(1))}, o);
    benchmark::DoNotOptimize(m);
    trades = m.trades;
  }
  st.counters["trades"] = static_cast<double>(trades);
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()) * static_cast<std::int64_t>(b.size()));
}
BENCHMARK(BM_Engine_SmaCrossPairs)->Unit(benchmark::kMillisecond)->Args({2,3})->Args({5,20})->Args({10,50})->Args({50,200})->Args({200,1000});

void BM_Engine_SmaCrossSimulate(benchmark::State& st) {
  auto const& b = synthetic();
  exec_options const o;
  auto const p = default_params(strategy_id::sma_cross);
  std::vector<std::int8_t> t(b.size());
  for (auto _ : st) {
    compute_targets(p, b, false, t);
    auto r = simulate(b, t, o, false, false);
    benchmark::DoNotOptimize(r.m);
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()) * static_cast<std::int64_t>(b.size()));
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations()) * static_cast<std::int64_t>(b.size() * 4 * sizeof(double)));
}
BENCHMARK(BM_Engine_SmaCrossSimulate)->Unit(benchmark::kMillisecond);

void BM_Engine_SmaSweep(benchmark::State& st) {
  auto const& b = synthetic();
  std::vector<sma_pair> pairs;
  for (std::uint32_t f = 5; f <= 50; f += 5)
    for (std::uint32_t s = 20; s <= 200; s += 10)
      if (f < s) pairs.push_back({f, s});
  std::vector<metrics> out(pairs.size());
  exec_options const o;
  core_probe probe;
  for (auto _ : st) {
    probe.run(st);
    sweep_sma_cross(b, pairs, o, out);
    benchmark::DoNotOptimize(out.data());
  }
  probe.report(st);
  double trades = 0;
  for (auto const& m : out) trades += static_cast<double>(m.trades);
  st.counters["combinations"] = static_cast<double>(pairs.size());
  st.counters["trades"] = trades;
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()) * static_cast<std::int64_t>(b.size() * pairs.size()));
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations()) * static_cast<std::int64_t>(b.size() * sizeof(double)));
}
BENCHMARK(BM_Engine_SmaSweep)->Unit(benchmark::kMillisecond);

/// Holds the fast kernels to AVX2 for one benchmark.
struct avx2_only {
  fast_sma_isa saved = fast_sma_active_isa();
  avx2_only() { set_fast_sma_isa(fast_sma_isa::avx2); }
  ~avx2_only() { set_fast_sma_isa(saved); }
};

void BM_Engine_BacktestAvx2(benchmark::State& st) {
  avx2_only const g;
  BM_Engine_SmaCrossBacktest(st);
}
BENCHMARK(BM_Engine_BacktestAvx2)->Unit(benchmark::kMillisecond)->Arg(5'000'000);

void BM_Engine_SweepAvx2(benchmark::State& st) {
  avx2_only const g;
  BM_Engine_SmaSweep(st);
}
BENCHMARK(BM_Engine_SweepAvx2)->Unit(benchmark::kMillisecond);

// A synthetic 10-year 1m cache (2015-2024, 5.26M candles), written once through the store.
std::filesystem::path const& cold_cache() {
  static std::filesystem::path const dir = [] {
    auto d = std::filesystem::temp_directory_path() / "atb_engine_bench_cache_1m_10y";
    auto const sym = symbol::parse("BTCUSDT").value();
    if (std::filesystem::exists(d / "market_data")) return d;
    std::mt19937_64 rng(7);
    std::normal_distribution<double> step(0.0, 0.001);
    double px = 3e12;
    for (int y = 2015; y < 2025; ++y) {
      kline_columns k;
      for (std::int64_t t = year_start(y).ms; t < year_end(y).ms; t += ms_per_minute) {
        auto const o = static_cast<std::int64_t>(px);
        auto const c = static_cast<std::int64_t>(std::round(px * (1 + step(rng))));
        k[field::open_time].push_back(t);
        k[field::open].push_back(o);
        k[field::high].push_back(std::max(o, c) + 100000000);
        k[field::low].push_back(std::min(o, c) - 100000000);
        k[field::close].push_back(c);
        k[field::volume].push_back(100000000);
        k[field::close_time].push_back(t + ms_per_minute - 1);
        k[field::quote_volume].push_back(c);
        k[field::trades].push_back(10);
        k[field::taker_buy_base_volume].push_back(50000000);
        k[field::taker_buy_quote_volume].push_back(c / 2);
        px = static_cast<double>(c);
      }
      store::write_options wo;
      wo.zstd_level = 3;
      if (auto r = store::write_year_file(d, {sym, interval::m1, y}, k, wo); !r) throw std::runtime_error(r.error().message);
    }
    return d;
  }();
  return dir;
}

void BM_Engine_SmaColdStart1m10y(benchmark::State& st) {
  auto const& dir = cold_cache();
  auto const sym = symbol::parse("BTCUSDT").value();
  range_spec r;
  r.start = year_start(2015);
  r.end = year_end(2024);
  std::size_t n = 0;
  for (auto _ : st) {
    auto b = load_bars(dir, sym, interval::m1, r, year_end(2024), sma_fields());
    if (!b) {
      st.SkipWithError(b.error().message.c_str());
      return;
    }
    auto m = run_sma_cross_fast(*b, {10, 50}, exec_options{});
    benchmark::DoNotOptimize(m);
    n = b->size();
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()) * static_cast<std::int64_t>(n));
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations()) * static_cast<std::int64_t>(n * 4 * sizeof(std::int64_t)));
}
// CPU time is that of the whole process (the loader decodes years on one thread per core).
BENCHMARK(BM_Engine_SmaColdStart1m10y)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
