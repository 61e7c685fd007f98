#pragma once
// Error values shared by every atb module.
//
// Fallible synchronous APIs return atb::result<T>: either a T or an atb::error that
// carries a machine-checkable code (one enum + category per module) and one
// human sentence saying what failed, on which input, and what to do next.
// boost::system::result is used behind this alias so std::expected can replace it.
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <system_error>

namespace atb {

/// An error as the user will read it: a code to branch on and one clear sentence.
struct error {
  boost::system::error_code code;
  std::string message;  ///< complete sentence, e.g. "cache/x.atb: checksum mismatch in column close (stored 0x.., computed 0x..)"

  error() = default;
  error(boost::system::error_code c, std::string msg) : code(c), message(std::move(msg)) {}
  template <class E>
    requires boost::system::is_error_code_enum<E>::value
  error(E e, std::string msg) : code(make_error_code(e)), message(std::move(msg)) {}
};

/// Thrown only when a caller calls .value() on a failed result (a bug, not an input error).
struct error_exception : std::runtime_error {
  atb::error err;
  explicit error_exception(atb::error e) : std::runtime_error(e.message), err(std::move(e)) {}
};

[[noreturn]] void throw_exception_from_error(error const& e, boost::source_location const& loc);

template <class T>
using result = boost::system::result<T, error>;

/// Errors of the core module (parsing of domain values).
enum class core_errc {
  ok = 0,
  invalid_symbol = 1,
  invalid_interval,
  invalid_decimal,
  decimal_overflow,
  invalid_date,
  invalid_timestamp,
  invalid_csv,
  io_error,
};

boost::system::error_category const& core_category() noexcept;
inline boost::system::error_code make_error_code(core_errc e) noexcept {
  return {static_cast<int>(e), core_category()};
}

}  // namespace atb

template <>
struct boost::system::is_error_code_enum<atb::core_errc> : std::true_type {};
