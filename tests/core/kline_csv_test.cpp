#include "atb/core/kline_csv.hpp"

#include <gtest/gtest.h>

namespace {
constexpr std::string_view ms_row =
    "1748736000000,104591.88000000,104647.11000000,104320.02000000,104446.49000000,293.78295000,1748739599999,"
    "30688862.20908260,81426,131.48518000,13734263.47444880,0";
constexpr std::string_view us_row =
    "1748736000000000,104591.88000000,104647.11000000,104320.02000000,104446.49000000,293.78295000,1748739599999999,"
    "30688862.20908260,81426,131.48518000,13734263.47444880,0";
}  // namespace

TEST(kline_csv, microsecond_rows_equal_millisecond_rows) {
  atb::kline_columns a, b;
  ASSERT_EQ(*atb::parse_kline_csv_line(ms_row, a), atb::csv_row_kind::kline);
  ASSERT_EQ(*atb::parse_kline_csv_line(std::string(us_row) + "\r", b), atb::csv_row_kind::kline);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_TRUE(atb::kline_columns::rows_equal(a, 0, b, 0));
  EXPECT_EQ(a[atb::field::close_time][0], 1748739599999);
  EXPECT_EQ(a[atb::field::trades][0], 81426);
  std::string out;
  atb::append_kline_csv_line(out, b, 0);
  EXPECT_EQ(out, std::string(ms_row) + "\n");
}

TEST(kline_csv, header_blank_and_errors) {
  atb::kline_columns k;
  EXPECT_EQ(*atb::parse_kline_csv_line("open_time,open,high,low,close,volume,close_time,quote_volume,count,"
                                       "taker_buy_volume,taker_buy_quote_volume,ignore",
                                       k),
            atb::csv_row_kind::header);
  EXPECT_EQ(*atb::parse_kline_csv_line("", k), atb::csv_row_kind::blank);
  auto r = atb::parse_kline_csv_line("1,2,3", k);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("3 fields"), std::string::npos);
  auto r2 = atb::parse_kline_csv_line(
      "1748736000000,104591.88000000,x,104320.02000000,104446.49000000,293.78295000,1748739599999,"
      "30688862.20908260,81426,131.48518000,13734263.47444880,0",
      k);
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.error().message.find("field 3 (high)"), std::string::npos);
  EXPECT_EQ(k.size(), 0u);  // nothing half-appended
}
