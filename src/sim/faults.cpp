#include "atb/sim/faults.hpp"

#include <array>

namespace atb::sim {

namespace {
constexpr std::array<std::string_view, fault_kind_count> names{
    "reset_before", "reset_mid_body", "http_500", "http_502", "http_503",
    "truncated_body", "bad_json", "stall", "429_no_retry_after"};
std::uint64_t mix(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
}  // namespace

std::string_view to_string(fault_kind k) noexcept { return names[static_cast<std::size_t>(k)]; }

std::vector<fault_kind> all_fault_kinds() {
  std::vector<fault_kind> v;
  for (std::size_t i = 0; i < fault_kind_count; ++i) v.push_back(static_cast<fault_kind>(i));
  return v;
}

result<std::vector<fault_kind>> parse_fault_list(std::string_view list) {
  std::vector<fault_kind> out;
  while (!list.empty()) {
    std::size_t const comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) continue;
    bool found = false;
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == item) {
        out.push_back(static_cast<fault_kind>(i));
        found = true;
      }
    if (!found) {
      std::string valid;
      for (auto n : names) valid += (valid.empty() ? "" : ", ") + std::string(n);
      return error{sim_errc::invalid_option, "unknown fault kind '" + std::string(item.substr(0, 40)) +
                                               "' in --faults; valid kinds are: " + valid + "."};
    }
  }
  if (out.empty()) out = all_fault_kinds();
  return out;
}

fault_plan::fault_plan(std::uint64_t seed, double rate, std::vector<fault_kind> kinds)
    : seed_(seed), rate_(rate), kinds_(kinds.empty() ? all_fault_kinds() : std::move(kinds)) {}

std::optional<fault_kind> fault_plan::choose(std::uint64_t n) const noexcept {
  if (rate_ <= 0) return std::nullopt;
  std::uint64_t const h = mix(seed_ ^ mix(n ^ 0xFA17ULL));
  double const u = static_cast<double>(h >> 11) * 0x1.0p-53;
  if (u >= rate_) return std::nullopt;
  return kinds_[mix(h) % kinds_.size()];
}

}  // namespace atb::sim
