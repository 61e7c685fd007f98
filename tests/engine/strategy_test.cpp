// Strategy registry: names, defaults and the messages for bad parameters.
#include "atb/engine/strategy.hpp"

#include <gtest/gtest.h>

namespace {

using namespace atb::engine;

TEST(EngineStrategy, RegistryHasEveryStrategyWithDefaults) {
  for (char const* n : {"buy_and_hold", "sma_cross", "ema_cross", "rsi_reversion", "bollinger_breakout", "ml_basic"})
    EXPECT_NE(find_strategy(n), nullptr) << n;
  EXPECT_EQ(find_strategy("sma"), nullptr);
  auto const p = default_params(strategy_id::sma_cross);
  EXPECT_EQ(p.get("fast"), 10);
  EXPECT_EQ(p.get("slow"), 50);
  EXPECT_EQ(p.to_string(), "fast=10 slow=50");
  auto const b = default_params(strategy_id::bollinger_breakout);
  EXPECT_EQ(b.get("period"), 20);
  EXPECT_EQ(b.get("k"), 2);
}

TEST(EngineStrategy, SetParamValidates) {
  auto p = default_params(strategy_id::sma_cross);
  ASSERT_TRUE(set_param(p, "fast", "12"));
  EXPECT_EQ(p.get("fast"), 12);
  auto r = set_param(p, "fats", "3");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, make_error_code(engine_errc::invalid_parameter));
  EXPECT_NE(r.error().message.find("fast, slow"), std::string::npos) << r.error().message;
  EXPECT_FALSE(set_param(p, "fast", "abc"));
  EXPECT_FALSE(set_param(p, "fast", "2.5"));
  EXPECT_FALSE(set_param(p, "fast", "0"));
  ASSERT_TRUE(set_param(p, "slow", "12"));
  auto v = validate(p);
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message.find("fast < slow"), std::string::npos);
  auto bh = default_params(strategy_id::buy_and_hold);
  auto e = set_param(bh, "x", "1");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("takes no parameters"), std::string::npos);
  auto rsi = default_params(strategy_id::rsi_reversion);
  ASSERT_TRUE(set_param(rsi, "lower", "80"));
  EXPECT_FALSE(validate(rsi));
}

}  // namespace
