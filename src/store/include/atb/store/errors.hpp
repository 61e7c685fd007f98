#pragma once
#include "atb/core/error.hpp"

namespace atb::store {

/// Errors of the store module. Messages (atb::error::message) always name the file.
enum class store_errc {
  ok = 0,
  io_error = 1,          ///< open/read/write/fsync/rename failed (environment, exit 2)
  not_a_year_file,       ///< wrong magic
  unsupported_version,   ///< written by a newer (or unknown) format version
  truncated,             ///< file shorter than its header says
  checksum_mismatch,     ///< header or block XXH3 differs (both values in the message)
  corrupt,               ///< structurally invalid after the checksum passed (sizes, Cap'n Proto, zstd)
  invariant_violation,   ///< a row breaks a kline invariant (open times, OHLC, volumes)
  name_mismatch,         ///< file name is not the key of its header
  conflict,              ///< merge: a row differs from the stored row with the same open time
  invalid_input,         ///< rows given to a writer are not strictly increasing / not in the year
};

boost::system::error_category const& store_category() noexcept;
inline boost::system::error_code make_error_code(store_errc e) noexcept { return {static_cast<int>(e), store_category()}; }

}  // namespace atb::store

template <>
struct boost::system::is_error_code_enum<atb::store::store_errc> : std::true_type {};
