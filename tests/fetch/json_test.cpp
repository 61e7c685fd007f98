// Klines / exchangeInfo / time bodies: exact decimals, and malformed input as error values.
#include "atb/fetch/binance_json.hpp"
#include "atb/fetch/errors.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace atb::fetch {
namespace {

kline_columns empty_cols() { return kline_columns{}; }

std::string row(std::int64_t open, std::string price = "46216.93000000") {
  return "[" + std::to_string(open) + ",\"" + price + "\",\"46300.00000000\",\"46100.00000000\",\"46250.10000000\",\"12.5\"," +
         std::to_string(open + 59999) + ",\"577777.12345678\",1234,\"6.25\",\"288888.5\",\"0\"]";
}

TEST(klines_json, parses_rows_exactly_at_the_column_scale) {
  json_parser p;
  std::string body = "[" + row(1500000000000) + "," + row(1500000060000, "0.00000001") + "]";
  auto k = empty_cols();
  auto n = p.parse_klines(body, k);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(k[field::open_time][0], 1500000000000);
  EXPECT_EQ(k[field::open][0], 4621693000000);
  EXPECT_EQ(k[field::open][1], 1);
  EXPECT_EQ(k[field::volume][0], 1250000000);
  EXPECT_EQ(k[field::quote_volume][0], 57777712345678);
  EXPECT_EQ(k[field::trades][0], 1234);
  EXPECT_EQ(k[field::close_time][1], 1500000119999);
  EXPECT_EQ(k.size(), 2u);
}

TEST(klines_json, empty_array_and_whitespace) {
  json_parser p;
  std::string body = "  [ ]\n";
  auto k = empty_cols();
  auto n = p.parse_klines(body, k);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 0u);
}

TEST(klines_json, appends_after_existing_rows_and_requires_increasing_open_times) {
  json_parser p;
  auto k = empty_cols();
  std::string a = "[" + row(1000) + "]";
  ASSERT_TRUE(p.parse_klines(a, k));
  std::string b = "[" + row(2000) + "]";
  ASSERT_TRUE(p.parse_klines(b, k));
  EXPECT_EQ(k.size(), 2u);
  std::string c = "[" + row(3000) + "," + row(1500) + "]";
  auto n = p.parse_klines(c, k);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code, fetch_errc::malformed_body);
  EXPECT_NE(n.error().message.find("row 2"), std::string::npos);
  EXPECT_EQ(k.size(), 2u);  // rolled back
  for (auto const& col : k.cols) EXPECT_EQ(col.size(), 2u);
}

TEST(klines_json, malformed_bodies_are_errors) {
  std::vector<std::string> bad = {
      "",
      "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}",
      "[" + row(1000) + "",                               // truncated
      "[" + row(1000).substr(0, 60) + "]",                // truncated row
      "[[1000,\"1\",\"1\",\"1\",\"1\",\"1\",1999,\"1\",5,\"1\",\"1\"]]",  // 11 fields
      "[[1000,\"1\",\"1\",\"1\",\"1\",\"1\",1999,\"1\",5,\"1\",\"1\",\"0\",7]]",  // 13 fields
      "[[1000,\"abc\",\"1\",\"1\",\"1\",\"1\",1999,\"1\",5,\"1\",\"1\",\"0\"]]",  // not a decimal
      "[[1000,\"1.123456789\",\"1\",\"1\",\"1\",\"1\",1999,\"1\",5,\"1\",\"1\",\"0\"]]",  // 9 decimals
      "[[\"1000\",\"1\",\"1\",\"1\",\"1\",\"1\",1999,\"1\",5,\"1\",\"1\",\"0\"]]",  // time as string
      "[[1000,\"1\",\"1\",\"1\",\"1\",\"1\",999,\"1\",5,\"1\",\"1\",\"0\"]]",  // closes before open
      "[[1000,\"1\",\"1\",\"1\",\"1\",\"1\",1999,\"1\",-5,\"1\",\"1\",\"0\"]]",  // negative trades
      "[[1000,\"99999999999999999999\",\"1\",\"1\",\"1\",\"1\",1999,\"1\",5,\"1\",\"1\",\"0\"]]",  // overflow
      "[" + row(1000) + "] trailing",
      "[1,2,3]",
      "<html>502 Bad Gateway</html>",
      std::string("[\0]", 3),
  };
  json_parser p;
  for (auto& b : bad) {
    auto k = empty_cols();
    std::string body = b;
    auto n = p.parse_klines(body, k);
    EXPECT_FALSE(n) << "accepted: " << b;
    if (!n) {
      EXPECT_EQ(n.error().code, fetch_errc::malformed_body);
      EXPECT_FALSE(n.error().message.empty());
    }
    EXPECT_EQ(k.size(), 0u);
  }
}

TEST(klines_json, numbers_instead_of_strings_are_read_exactly) {
  json_parser p;
  std::string body = "[[1000,46216.93,1,1,1,0.00000001,1999,1,5,1,1,\"0\"]]";
  auto k = empty_cols();
  auto n = p.parse_klines(body, k);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(k[field::open][0], 4621693000000);
  EXPECT_EQ(k[field::volume][0], 1);
}

TEST(klines_json, real_binance_capture) {
  std::ifstream in(std::string(ATB_SHARED_DATA_DIR) + "/api/klines.json");
  if (!in) GTEST_SKIP() << "../shared/data is absent";
  std::stringstream ss;
  ss << in.rdbuf();
  std::string body = ss.str();
  json_parser p;
  auto k = empty_cols();
  auto n = p.parse_klines(body, k);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 10u);
}

TEST(exchange_info_json, rate_limits) {
  json_parser p;
  std::string body =
      R"({"timezone":"UTC","serverTime":1,"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000},)"
      R"({"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":10,"limit":100},)"
      R"({"rateLimitType":"RAW_REQUESTS","interval":"MINUTE","intervalNum":5,"limit":300000}],"symbols":[]})";
  auto r = p.parse_rate_limits(body);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].kind, limit_kind::request_weight);
  EXPECT_EQ((*r)[0].limit, 6000);
  EXPECT_EQ((*r)[0].window_ms, 60000);
  EXPECT_EQ((*r)[0].header_suffix, "1M");
  EXPECT_EQ((*r)[1].kind, limit_kind::raw_requests);
  EXPECT_EQ((*r)[1].window_ms, 300000);
  std::string bad = R"({"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"FORTNIGHT","intervalNum":1,"limit":6000}]})";
  EXPECT_FALSE(p.parse_rate_limits(bad));
  std::string none = R"({"symbols":[]})";
  EXPECT_FALSE(p.parse_rate_limits(none));
}

TEST(exchange_info_json, real_binance_capture) {
  std::ifstream in(std::string(ATB_SHARED_DATA_DIR) + "/api/exchange_info.json");
  if (!in) GTEST_SKIP() << "../shared/data is absent";
  std::stringstream ss;
  ss << in.rdbuf();
  std::string body = ss.str();
  json_parser p;
  auto r = p.parse_rate_limits(body);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_FALSE(r->empty());
  EXPECT_EQ((*r)[0].limit, 1200);  // the 2021 capture's limit
}

TEST(time_json, server_time_and_error_bodies) {
  json_parser p;
  std::string t = R"({"serverTime":1499827319559})";
  auto r = p.parse_server_time(t);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ms, 1499827319559);
  std::string bad = R"({"serverTime":"x"})";
  EXPECT_FALSE(p.parse_server_time(bad));
  std::string err = R"({"code":-1121,"msg":"Invalid symbol."})";
  EXPECT_EQ(p.describe_error_body(err), "Binance error -1121: Invalid symbol.");
  std::string html = "<html>\n502</html>";
  EXPECT_EQ(p.describe_error_body(html), "body \"<html> 502</html>\"");
}

}  // namespace
}  // namespace atb::fetch
