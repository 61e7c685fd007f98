#include "atb/core/decimal.hpp"

#include <gtest/gtest.h>

TEST(decimal, parses_and_formats_back_identically) {
  for (auto s : {"46216.93000000", "0.00002853", "0", "0.0", "1604793789.67721260", "-12.5", "100", "0.000000000000000001"}) {
    auto d = atb::decimal::parse(s);
    ASSERT_TRUE(d) << s;
    EXPECT_EQ(d->to_string(), s);
  }
  auto d = atb::decimal::parse("46216.93000000");
  EXPECT_EQ(d->mantissa(), 4621693000000);
  EXPECT_EQ(d->scale(), 8u);
}

TEST(decimal, rejects_malformed_and_overflowing_text) {
  for (auto s : {"", "-", ".5", "1.", "1e5", "1,5", "abc", " 1", "1 ", "--1", "1.2.3", "NaN"}) {
    EXPECT_FALSE(atb::decimal::parse(s)) << s;
  }
  auto o = atb::decimal::parse("99999999999999999999.5");
  ASSERT_FALSE(o);
  EXPECT_EQ(o.error().code, atb::core_errc::decimal_overflow);
}

TEST(decimal, parse_fixed_pads_and_refuses_lost_digits) {
  std::int64_t m = 0;
  ASSERT_TRUE(atb::parse_fixed("1.5", 8, m));
  EXPECT_EQ(m, 150000000);
  ASSERT_TRUE(atb::parse_fixed("1.500000000", 8, m));  // extra zero decimals are exact
  EXPECT_EQ(m, 150000000);
  EXPECT_FALSE(atb::parse_fixed("1.000000001", 8, m));
  EXPECT_FALSE(atb::parse_fixed("92233720368.54775808", 8, m));  // 2^63 at scale 8
  ASSERT_TRUE(atb::parse_fixed("92233720368.54775807", 8, m));
  EXPECT_EQ(m, INT64_MAX);
  char buf[64];
  EXPECT_EQ(std::string(buf, atb::format_fixed(buf, INT64_MAX, 8)), "92233720368.54775807");
  EXPECT_EQ(std::string(buf, atb::format_fixed(buf, 5, 8)), "0.00000005");
  EXPECT_EQ(std::string(buf, atb::format_fixed(buf, -5, 2)), "-0.05");
  EXPECT_EQ(std::string(buf, atb::format_fixed(buf, 42, 0)), "42");
}

TEST(decimal, compares_values_across_scales) {
  EXPECT_EQ(*atb::decimal::parse("1.50"), *atb::decimal::parse("1.5"));
  EXPECT_FALSE(*atb::decimal::parse("1.51") == *atb::decimal::parse("1.5"));
  EXPECT_EQ(atb::decimal::parse("1.50")->rescaled(1)->to_string(), "1.5");
  EXPECT_FALSE(atb::decimal::parse("1.55")->rescaled(1));
}
