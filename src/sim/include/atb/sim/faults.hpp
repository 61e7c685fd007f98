#pragma once
// Deterministic fault injection: with --fault-rate P, the n-th API request (n counted
// from 0 in arrival order) gets a fault iff hash(seed, n) < P, and its kind is chosen by
// hash(seed, n) among the enabled kinds. The same seed and request order give the same
// faults on every run.
#include "atb/sim/errors.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atb::sim {

enum class fault_kind : std::uint8_t {
  reset_before,        ///< connection reset (RST) before any response byte
  reset_mid_body,      ///< headers and part of the body, then RST
  http_500,            ///< 500 with Binance's -1000 body
  http_502,            ///< 502 with a gateway HTML page
  http_503,            ///< 503 with Binance's -1008 body
  truncated_body,      ///< full Content-Length announced, half the body sent, then a clean close
  bad_json,            ///< 200 with a well-framed body that is not valid JSON
  stall,               ///< the response is held back for --stall-ms before it is sent
  http_429_no_retry,   ///< 429 with the -1003 body but no Retry-After header
};
inline constexpr std::size_t fault_kind_count = 9;

/// "reset_before" "reset_mid_body" "http_500" "http_502" "http_503" "truncated_body"
/// "bad_json" "stall" "429_no_retry_after".
std::string_view to_string(fault_kind k) noexcept;
std::vector<fault_kind> all_fault_kinds();
/// Parses a comma-separated list of names (empty → all). Error names the bad entry and the valid names.
result<std::vector<fault_kind>> parse_fault_list(std::string_view list);

class fault_plan {
 public:
  /// rate in [0, 1]; kinds non-empty.
  fault_plan(std::uint64_t seed, double rate, std::vector<fault_kind> kinds);
  /// The fault of request number n (nullopt: serve normally).
  std::optional<fault_kind> choose(std::uint64_t n) const noexcept;
  double rate() const noexcept { return rate_; }

 private:
  std::uint64_t seed_;
  double rate_;
  std::vector<fault_kind> kinds_;
};

}  // namespace atb::sim
