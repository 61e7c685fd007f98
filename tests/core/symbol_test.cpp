#include "atb/core/symbol.hpp"

#include <gtest/gtest.h>

TEST(symbol, accepts_binance_pairs) {
  for (auto s : {"BTCUSDT", "ETHBTC", "1INCHUSDT", "AB", "ABCDEFGHIJ0123456789"}) {
    auto r = atb::symbol::parse(s);
    ASSERT_TRUE(r) << s;
    EXPECT_EQ(r->view(), s);
  }
}

TEST(symbol, rejects_anything_else_with_a_clear_message) {
  for (auto s : {"", "B", "btcusdt", "BTC/USDT", "BTC-USDT", "../etc", "BTC USDT", "ABCDEFGHIJ01234567890", "BTC\n"}) {
    auto r = atb::symbol::parse(s);
    ASSERT_FALSE(r) << s;
    EXPECT_EQ(r.error().code, atb::core_errc::invalid_symbol);
    EXPECT_NE(r.error().message.find("2 to 20 upper-case letters or digits"), std::string::npos);
  }
}
