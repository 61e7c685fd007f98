#include "atb/core/interval.hpp"

#include <gtest/gtest.h>

using atb::interval;
using atb::timestamp_ms;

TEST(interval, all_sixteen_round_trip_their_spelling) {
  ASSERT_EQ(atb::all_intervals.size(), 16u);
  for (interval iv : atb::all_intervals) {
    auto r = atb::parse_interval(atb::to_string(iv));
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, iv);
  }
  EXPECT_FALSE(atb::parse_interval("1H"));
  EXPECT_FALSE(atb::parse_interval("2d"));
  EXPECT_FALSE(atb::parse_interval("1mo"));
  EXPECT_EQ(*atb::parse_interval("1mo", true), interval::mo1);
  EXPECT_EQ(*atb::parse_interval("1m"), interval::m1);
  EXPECT_EQ(*atb::parse_interval("1M"), interval::mo1);
}

TEST(interval, fixed_lengths) {
  EXPECT_EQ(atb::nominal_ms(interval::s1), 1000);
  EXPECT_EQ(atb::nominal_ms(interval::m15), 900000);
  EXPECT_EQ(atb::nominal_ms(interval::h12), 43200000);
  EXPECT_EQ(atb::nominal_ms(interval::d3), 3 * 86400000LL);
  EXPECT_EQ(atb::next_open(interval::h4, timestamp_ms{1502942400000}).ms, 1502956800000);
  EXPECT_EQ(atb::regular_close(interval::h4, timestamp_ms{1502942400000}).ms, 1502956799999);
}

TEST(interval, weeks_open_on_monday) {
  // 2024-01-03 (Wednesday) 12:00 lies in the week opened Monday 2024-01-01.
  timestamp_ms wed = *atb::parse_instant("2024-01-03T12:00:00Z");
  EXPECT_EQ(atb::format_utc(atb::grid_floor(interval::w1, wed)), "2024-01-01 00:00:00");
  // Binance's first BTCUSDT weekly candle opened Monday 2017-08-14.
  EXPECT_EQ(atb::grid_floor(interval::w1, *atb::parse_instant("2017-08-17")).ms, 1502668800000);
}

TEST(interval, months_follow_the_calendar) {
  timestamp_ms jan = *atb::parse_instant("2024-01-01");
  timestamp_ms feb = atb::next_open(interval::mo1, jan);
  EXPECT_EQ(atb::format_date(feb), "2024-02-01");
  timestamp_ms mar = atb::next_open(interval::mo1, feb);
  EXPECT_EQ(atb::format_date(mar), "2024-03-01");
  EXPECT_EQ(mar.ms - feb.ms, 29 * atb::ms_per_day);  // leap year
  EXPECT_EQ(atb::format_date(atb::next_open(interval::mo1, *atb::parse_instant("2023-12-01"))), "2024-01-01");
  EXPECT_EQ(atb::format_utc(atb::grid_floor(interval::mo1, *atb::parse_instant("2023-07-19T05:00"))), "2023-07-01 00:00:00");
}
