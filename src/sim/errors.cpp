#include "atb/sim/errors.hpp"

namespace atb::sim {

namespace {
struct category final : boost::system::error_category {
  char const* name() const noexcept override { return "atb.sim"; }
  std::string message(int ev) const override {
    switch (static_cast<sim_errc>(ev)) {
      case sim_errc::ok: return "ok";
      case sim_errc::invalid_option: return "invalid option";
      case sim_errc::data_unavailable: return "data unavailable";
      case sim_errc::network: return "network set-up failed";
    }
    return "unknown simulator error";
  }
};
}  // namespace

boost::system::error_category const& sim_category() noexcept {
  static category const c;
  return c;
}

}  // namespace atb::sim
