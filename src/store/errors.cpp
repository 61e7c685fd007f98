#include "atb/store/errors.hpp"

namespace atb::store {

namespace {
struct store_category_impl final : boost::system::error_category {
  const char* name() const noexcept override { return "atb.store"; }
  std::string message(int ev) const override {
    switch (static_cast<store_errc>(ev)) {
      case store_errc::ok: return "success";
      case store_errc::io_error: return "I/O error";
      case store_errc::not_a_year_file: return "not an atb year file";
      case store_errc::unsupported_version: return "unsupported year-file format version";
      case store_errc::truncated: return "year file truncated";
      case store_errc::checksum_mismatch: return "checksum mismatch";
      case store_errc::corrupt: return "year file corrupt";
      case store_errc::invariant_violation: return "kline invariant violated";
      case store_errc::name_mismatch: return "file name does not match its header";
      case store_errc::conflict: return "conflicting kline";
      case store_errc::invalid_input: return "invalid rows for a year file";
    }
    return "unknown store error";
  }
};
}  // namespace

boost::system::error_category const& store_category() noexcept {
  static store_category_impl const cat;
  return cat;
}

}  // namespace atb::store
