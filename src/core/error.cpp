#include "atb/core/error.hpp"

namespace atb {

void throw_exception_from_error(error const& e, boost::source_location const&) { throw error_exception(e); }

namespace {
struct core_category_impl final : boost::system::error_category {
  const char* name() const noexcept override { return "atb.core"; }
  std::string message(int ev) const override {
    switch (static_cast<core_errc>(ev)) {
      case core_errc::ok: return "success";
      case core_errc::invalid_symbol: return "invalid symbol";
      case core_errc::invalid_interval: return "invalid interval";
      case core_errc::invalid_decimal: return "invalid decimal number";
      case core_errc::decimal_overflow: return "decimal number out of range";
      case core_errc::invalid_date: return "invalid date";
      case core_errc::invalid_timestamp: return "invalid timestamp";
      case core_errc::invalid_csv: return "invalid kline CSV";
      case core_errc::io_error: return "I/O error";
    }
    return "unknown core error";
  }
};
}  // namespace

boost::system::error_category const& core_category() noexcept {
  static core_category_impl const cat;
  return cat;
}

}  // namespace atb
