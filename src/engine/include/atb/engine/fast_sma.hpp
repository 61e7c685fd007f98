#pragma once
// The fast path of sma_cross: long-only, no stop-loss/take-profit (the defaults). Results
// equal simulate(compute_targets(sma_cross)) — same trades, metrics equal up to floating
// rounding (tests/engine check 1e-9) — at several hundred million bars per second.
//
// How: the data is processed in blocks of 1024 bars that stay in L1/L2.
//
// Single run (AVX-512): the strict comparison SMA(fast) > SMA(slow) is kept as one running
// exact difference slow·S_fast − fast·S_slow, in int64 (its per-bar increments are exact
// doubles under the precondition; two-products where 2·fast·slow·max ≥ 2^62), 8 bars per
// instruction, yielding target bits a block ahead of the trades, so that the lines of
// the opens the fills will read (and only those) are requested early. Per block, the
// position changes are flattened into a list (VBMI2 compress) and applied in order —
// cash and quantity exactly as the reference simulator computes them — which gives each
// run of constant position its equity line m·close + a. One branch-free pass per 8 bars
// then finds each bar's run from a 256-entry table and two permutes, and computes the
// equity, the per-bar return e/e' − 1 (1/e' by rcp14 and two Newton steps) and the
// min/max of each 64 bars, which settle the drawdown in O(1) unless those bars both set
// a new peak and may set a new maximum drawdown (then bar by bar).
// Single run (AVX2): the same signal in doubles (2·fast·slow·max < 2^53, else
// two-products), runs of constant position handled as a whole (returns and min/max
// vectorised, drawdown in O(1) per piece where possible).
//
// Sweep: per block, work shared by every parameter set is done once (the means of each
// distinct window length quantized to int16 around the midrange of the closes the
// block's windows cover — with AVX-512 straight from 64-bit integer prefix sums, exact
// because closes are integer mantissas; per-bar return contributions of entries, exits
// and held bars as prefix sums; a sparse table of min and max of the closes). Per
// parameter set the quantized means are compared, 32 bars per instruction with AVX-512
// (16 with AVX2); a difference under 2 units (each quantized mean is within 0.51 unit of
// the exact one) sends its 8-bar (AVX2: 4-bar) group to the exact comparison of the
// window sums. The position bits' transitions are flattened into a list of entry/exit bars
// (VBMI2: one byte compress per 64 bars), and each trade then costs O(1) with no
// data-dependent branch but the rare bar-by-bar drawdown: returns from the prefix sums,
// the run's min/max from two sparse-table loads, the drawdown counted lazily (lowest
// equity since the peak), cash exactly as the reference simulator computes it.
//
// Needs AVX2+FMA at run time (AVX-512 F/DQ/BW/VL and VBMI2 used when present); on other CPUs the
// functions fall back to the reference simulator.
#include "atb/engine/backtest.hpp"

#include <cstdint>
#include <span>
#include <vector>

namespace atb::engine {

struct sma_pair {
  std::uint32_t fast = 10;
  std::uint32_t slow = 50;
};

/// Instruction sets of the kernels: none (the reference simulator), AVX2+FMA, AVX-512,
/// AVX-512 with VBMI2 (byte compress: flattening position changes).
enum class fast_sma_isa : std::uint8_t { scalar, avx2, avx512, avx512_vbmi2 };

/// The widest set this CPU supports (avx512 needs AVX-512 F, DQ, BW and VL besides
/// AVX2+FMA; avx512_vbmi2 also VBMI2).
fast_sma_isa fast_sma_cpu_isa() noexcept;
/// The set the kernels use from now on: min(widest, fast_sma_cpu_isa()), returned. The
/// default is the CPU's; lower it to compare paths (tests) or to measure one (benchmarks).
/// Not synchronised with kernels running on other threads: set it between runs.
fast_sma_isa set_fast_sma_isa(fast_sma_isa widest) noexcept;
/// The set in use.
fast_sma_isa fast_sma_active_isa() noexcept;

/// True when opt allows the fast path (long only, no stop-loss, no take-profit).
bool fast_sma_applicable(exec_options const& opt) noexcept;

/// One sma_cross backtest. Preconditions: fast_sma_applicable(opt), 1 <= fast < slow,
/// bars non-empty with integer-valued closes below 2^53 / slow (to_bar_series output).
/// Trades are appended to *trades when given.
metrics run_sma_cross_fast(bar_series const& bars, sma_pair p, exec_options const& opt,
                           std::vector<trade>* trades = nullptr);

/// Many parameter sets in one pass over the data per block; out[i] belongs to pairs[i].
/// Same preconditions. Single-threaded: callers split `pairs` across threads.
void sweep_sma_cross(bar_series const& bars, std::span<sma_pair const> pairs, exec_options const& opt,
                     std::span<metrics> out);

}  // namespace atb::engine
