#include "atb/core/decimal.hpp"

#include <algorithm>
#include <cctype>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

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

namespace {

// Independent reference for parse_fixed: digits appended to a string, compared as text
// against the int64 range, converted once.
std::optional<std::int64_t> reference_parse_fixed(std::string const& s, unsigned scale) {
  std::size_t i = 0;
  bool neg = false;
  if (i < s.size() && s[i] == '-') neg = true, ++i;
  std::string ip, fp;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ip += s[i++];
  if (ip.empty()) return std::nullopt;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) fp += s[i++];
    if (fp.empty()) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  while (fp.size() > scale) {
    if (fp.back() != '0') return std::nullopt;
    fp.pop_back();
  }
  fp.resize(scale, '0');
  std::string digits = ip + fp;
  digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size() - 1));
  std::string const limit = neg ? "9223372036854775808" : "9223372036854775807";
  if (digits.size() > limit.size() || (digits.size() == limit.size() && digits > limit)) return std::nullopt;
  if (neg && digits == limit) return std::numeric_limits<std::int64_t>::min();
  std::int64_t const v = std::stoll(digits);
  return neg ? -v : v;
}

}  // namespace

TEST(decimal, parse_fixed_matches_an_independent_reference) {
  std::mt19937_64 rng(20261201);
  char const alphabet[] = "0123456789000000.-x";
  std::vector<std::string> cases = {"0", "-0", "0.00000000", "43210.12000000", "1.", ".5", "-", "", "00000000000000000001.5",
                                    "92233720368.54775807", "92233720368.54775808", "-92233720368.54775808",
                                    "-92233720368.54775809", "9999999999.99999999", "99999999999.99999999",
                                    "123456789012345678", "1234567890123456789", "0.123456789", "12.3456789x",
                                    "1.0000000000000000000000", "7.12345678000"};
  for (int k = 0; k < 200000; ++k) {
    std::string s;
    std::size_t const len = rng() % 24;
    for (std::size_t j = 0; j < len; ++j) {
      // Mostly well-formed numbers, sometimes anything from the alphabet.
      if (rng() % 8 == 0) s += alphabet[rng() % (sizeof alphabet - 1)];
      else s += static_cast<char>('0' + rng() % 10);
      if (j == len / 2 && rng() % 2) s += '.';
    }
    if (rng() % 5 == 0) s.insert(s.begin(), '-');
    cases.push_back(std::move(s));
  }
  for (auto const& s : cases) {
    for (unsigned scale : {0u, 2u, 8u, 10u, 16u, 18u}) {
      std::int64_t m = 12345;
      bool const ok = atb::parse_fixed(s, scale, m);
      auto const want = reference_parse_fixed(s, scale);
      ASSERT_EQ(ok, want.has_value()) << "'" << s << "' at scale " << scale;
      if (ok) {
        ASSERT_EQ(m, *want) << "'" << s << "' at scale " << scale;
      }
    }
  }
}
