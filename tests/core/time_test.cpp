#include "atb/core/time.hpp"

#include <gtest/gtest.h>

TEST(time, civil_round_trip_over_centuries) {
  for (std::int64_t d = -800000; d < 800000; d += 37) {
    EXPECT_EQ(atb::days_from_civil(atb::civil_from_days(d)), d);
  }
  EXPECT_EQ(atb::year_start(2023).ms, 1672531200000);
  EXPECT_EQ(atb::year_of(atb::timestamp_ms{1672531199999}), 2022);
  EXPECT_EQ(atb::year_of(atb::timestamp_ms{1672531200000}), 2023);
}

TEST(time, parses_dates_and_instants) {
  EXPECT_EQ(atb::to_timestamp(*atb::parse_date("2023-01-01")).ms, 1672531200000);
  EXPECT_FALSE(atb::parse_date("2023-02-29"));
  EXPECT_TRUE(atb::parse_date("2024-02-29"));
  EXPECT_FALSE(atb::parse_date("2023-13-01"));
  EXPECT_FALSE(atb::parse_date("23-01-01"));
  EXPECT_EQ(atb::parse_instant("2023-01-01T00:00:01.500Z")->ms, 1672531201500);
  EXPECT_EQ(atb::parse_instant("1672531200000")->ms, 1672531200000);
  EXPECT_FALSE(atb::parse_instant("2023-01-01T25:00"));
  auto bad = atb::parse_date("yesterday");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("YYYY-MM-DD"), std::string::npos);
  EXPECT_EQ(atb::format_iso(atb::timestamp_ms{1672531201500}), "2023-01-01T00:00:01.500Z");
}
