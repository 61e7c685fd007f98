#pragma once
#include "atb/core/error.hpp"

namespace atb::sim {

/// Errors of the simulator (setup only: requests never fail with an error value, they
/// get a Binance error body).
enum class sim_errc {
  ok = 0,
  invalid_option = 1,  ///< a flag value is out of range or malformed (exit 2)
  data_unavailable,    ///< --data cannot be served (missing directory, store not built, unreadable cache)
  network,             ///< bind/listen or TLS set-up failed
};

boost::system::error_category const& sim_category() noexcept;
inline boost::system::error_code make_error_code(sim_errc e) noexcept { return {static_cast<int>(e), sim_category()}; }

}  // namespace atb::sim

template <>
struct boost::system::is_error_code_enum<atb::sim::sim_errc> : std::true_type {};
