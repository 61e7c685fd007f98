#pragma once
// The fast path of sma_cross: long-only, no stop-loss/take-profit (the defaults). Results
// equal simulate(compute_targets(sma_cross)) — same trades, metrics equal up to floating
// rounding (tests/engine check 1e-9) — at several hundred million bars per second.
//
// How: the data is processed in blocks of 1024 bars that stay in L1/L2. Per block, work
// shared by every parameter set is done once (rolling window sums of the closes for each
// distinct window length, exact because closes are integer mantissas; prefix sums of
// the per-bar returns; min/max of closes per 16 bars). Per parameter set, the strict
// comparison SMA(fast) > SMA(slow) runs 4 bars per AVX2 instruction (exactly: both
// sides as two-products), yielding position bits; trades are rare, so runs of constant
// position are then handled in O(1) (returns from the prefix sums) and the drawdown
// by 16-bar groups that provably set no new maximum. Needs AVX2+FMA at run time; on
// other CPUs the functions fall back to the reference simulator.
#include "atb/engine/backtest.hpp"

#include <cstdint>
#include <span>
#include <vector>

namespace atb::engine {

struct sma_pair {
  std::uint32_t fast = 10;
  std::uint32_t slow = 50;
};

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
