#include "atb/sim/faults.hpp"

#include <gtest/gtest.h>

#include <map>

namespace atb::sim {
namespace {

TEST(Faults, NamesRoundTrip) {
  auto all = parse_fault_list("").value();
  ASSERT_EQ(all.size(), fault_kind_count);
  std::string list;
  for (auto k : all) list += std::string(to_string(k)) + ",";
  EXPECT_EQ(parse_fault_list(list).value(), all);
  EXPECT_EQ(parse_fault_list(" stall , bad_json").value(), (std::vector{fault_kind::stall, fault_kind::bad_json}));
  EXPECT_EQ(to_string(fault_kind::http_429_no_retry), "429_no_retry_after");
}

TEST(Faults, UnknownNameIsOneClearSentence) {
  auto r = parse_fault_list("stall,explode");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("'explode'"), std::string::npos);
  EXPECT_NE(r.error().message.find("reset_mid_body"), std::string::npos);
}

TEST(Faults, DeterministicAtTheRequestedRateAndKinds) {
  fault_plan a(7, 0.2, {fault_kind::http_500, fault_kind::stall});
  fault_plan b(7, 0.2, {fault_kind::http_500, fault_kind::stall});
  fault_plan c(8, 0.2, {fault_kind::http_500, fault_kind::stall});
  std::map<fault_kind, int> counts;
  int hits = 0, differ = 0;
  for (std::uint64_t n = 0; n < 20000; ++n) {
    auto f = a.choose(n);
    EXPECT_EQ(f, b.choose(n));
    if (f != c.choose(n)) ++differ;
    if (f) ++hits, ++counts[*f];
  }
  EXPECT_NEAR(hits / 20000.0, 0.2, 0.02);
  EXPECT_EQ(counts.size(), 2u);
  EXPECT_GT(counts[fault_kind::stall], 1500);
  EXPECT_GT(differ, 1000);
  fault_plan none(7, 0, {});
  fault_plan always(7, 1, {fault_kind::bad_json});
  for (std::uint64_t n = 0; n < 100; ++n) {
    EXPECT_FALSE(none.choose(n));
    EXPECT_EQ(always.choose(n), fault_kind::bad_json);
  }
}

}  // namespace
}  // namespace atb::sim
