// Fixed-window request weights, 429 and escalating 418 bans, with a fake clock.
#include "atb/sim/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace atb::sim {
namespace {

TEST(WindowName, FollowsTheWindowLength) {
  EXPECT_EQ(name_window(60000).header, "X-MBX-USED-WEIGHT-1M");
  EXPECT_EQ(name_window(60000).interval, "MINUTE");
  EXPECT_EQ(name_window(1000).header, "X-MBX-USED-WEIGHT-1S");
  EXPECT_EQ(name_window(1000).interval, "SECOND");
  EXPECT_EQ(name_window(1000).interval_num, 1);
  EXPECT_EQ(name_window(10000).header, "X-MBX-USED-WEIGHT-10S");
  EXPECT_EQ(name_window(300000).header, "X-MBX-USED-WEIGHT-5M");
  EXPECT_EQ(name_window(3600000).header, "X-MBX-USED-WEIGHT-1H");
  EXPECT_EQ(name_window(86400000).header, "X-MBX-USED-WEIGHT-1D");
  EXPECT_EQ(name_window(90000).header, "X-MBX-USED-WEIGHT-90S");
}

TEST(RateLimiter, CountsWeightPerIpInFixedWindows) {
  rate_limiter rl({10, 60000, 10});
  timestamp_ms t{120000};  // window start
  EXPECT_EQ(rl.admit("1.1.1.1", 2, t).used_weight, 2);
  EXPECT_EQ(rl.admit("1.1.1.1", 2, timestamp_ms{t.ms + 59999}).used_weight, 4);
  EXPECT_EQ(rl.admit("2.2.2.2", 2, t).used_weight, 2);  // per IP
  EXPECT_EQ(rl.used("1.1.1.1", t), 4);
  // The next window starts from zero.
  EXPECT_EQ(rl.admit("1.1.1.1", 2, timestamp_ms{t.ms + 60000}).used_weight, 2);
  EXPECT_EQ(rl.used("1.1.1.1", timestamp_ms{t.ms + 120000}), 0);
}

TEST(RateLimiter, RejectsOverTheLimitWithRetryAfterUntilTheWindowEnds) {
  rate_limiter rl({10, 60000, 10});
  timestamp_ms t{60000 + 15000};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(rl.admit("ip", 2, t).v, verdict::allowed);
  auto a = rl.admit("ip", 2, t);
  EXPECT_EQ(a.v, verdict::rate_limited);
  EXPECT_EQ(a.retry_after_s, 45);
  EXPECT_EQ(a.used_weight, 12);
  auto b = rl.admit("ip", 1, timestamp_ms{t.ms + 44500});
  EXPECT_EQ(b.retry_after_s, 1);  // rounded up, never 0
  EXPECT_EQ(rl.admit("ip", 2, timestamp_ms{120000}).v, verdict::allowed);
}

TEST(RateLimiter, BansAfterKRejectionsAndEscalates) {
  rate_limit_options o{4, 1000, 3};
  rate_limiter rl(o);
  auto flood = [&](std::int64_t t0) {
    admission last;
    for (int i = 0; i < 20 && last.v != verdict::banned; ++i) last = rl.admit("ip", 2, timestamp_ms{t0});
    return last;
  };
  // 2 allowed, then 3 × 429, then the ban.
  rate_limiter probe(o);
  std::vector<verdict> seen;
  for (int i = 0; i < 6; ++i) seen.push_back(probe.admit("x", 2, timestamp_ms{0}).v);
  EXPECT_EQ(seen, (std::vector<verdict>{verdict::allowed, verdict::allowed, verdict::rate_limited,
                                        verdict::rate_limited, verdict::rate_limited, verdict::banned}));

  auto first = flood(0);
  ASSERT_EQ(first.v, verdict::banned);
  EXPECT_TRUE(first.new_ban);
  EXPECT_EQ(first.retry_after_s, 120);
  // Banned even in later windows until the ban ends, whatever the weight.
  auto during = rl.admit("ip", 1, timestamp_ms{60000});
  EXPECT_EQ(during.v, verdict::banned);
  EXPECT_FALSE(during.new_ban);
  EXPECT_EQ(during.retry_after_s, 60);
  EXPECT_EQ(rl.admit("other", 1, timestamp_ms{60000}).v, verdict::allowed);
  EXPECT_EQ(rl.admit("ip", 1, timestamp_ms{120000}).v, verdict::allowed);
  // Second offence: 4 minutes; third: 8.
  auto second = flood(200000);
  EXPECT_EQ(second.retry_after_s, 240);
  auto third = flood(1000000);
  EXPECT_EQ(third.retry_after_s, 480);
}

TEST(RateLimiter, BansAreCappedAtThreeDays) {
  rate_limiter rl({2, 1000, 0});
  std::int64_t t = 0;
  admission a;
  for (int offence = 0; offence < 20; ++offence) {
    a = rl.admit("ip", 5, timestamp_ms{t});
    ASSERT_EQ(a.v, verdict::banned);
    t += a.retry_after_s * 1000;
  }
  EXPECT_EQ(a.retry_after_s, 3 * 24 * 3600);
}

}  // namespace
}  // namespace atb::sim
