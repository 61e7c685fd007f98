#pragma once
#include "atb/core/error.hpp"

namespace atb::engine {

/// Errors of the engine module. Messages are one sentence saying what to do.
enum class engine_errc {
  ok = 0,
  unknown_strategy = 1,  ///< usage (exit 2)
  invalid_parameter,     ///< unknown parameter name or bad value (exit 2)
  invalid_range,         ///< start >= end, days <= 0 (exit 2)
  no_data,               ///< no cached candle in the requested range (exit 1)
};

boost::system::error_category const& engine_category() noexcept;
inline boost::system::error_code make_error_code(engine_errc e) noexcept { return {static_cast<int>(e), engine_category()}; }

}  // namespace atb::engine

template <>
struct boost::system::is_error_code_enum<atb::engine::engine_errc> : std::true_type {};
