// Pure logic of the downloader with a fake clock: rate limiter, backoff, planner, progress.
#include "atb/fetch/backoff.hpp"
#include "atb/fetch/planner.hpp"
#include "atb/fetch/progress.hpp"
#include "atb/fetch/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace atb::fetch {
namespace {

timestamp_ms t(std::int64_t ms) { return timestamp_ms{ms}; }

std::vector<rate_limit_rule> one_rule(std::int64_t limit, std::int64_t window) {
  return {rate_limit_rule{limit_kind::request_weight, window, limit, "1M"}};
}

TEST(weight_limiter, admits_up_to_the_share_then_waits_for_the_oldest_to_expire) {
  weight_limiter l(one_rule(100, 1000), 0.95);
  EXPECT_EQ(l.weight_budget(), 95);
  int admitted = 0;
  for (int i = 0; i < 100; ++i)
    if (l.try_acquire(2, t(10)) == t(10)) ++admitted;
  EXPECT_EQ(admitted, 47);  // 47 × 2 = 94 <= 95 < 96
  // The next fits when the first request (sent at 10) leaves the window.
  EXPECT_EQ(l.try_acquire(2, t(500)), t(1010));
  EXPECT_EQ(l.try_acquire(2, t(1010)), t(1010));
  EXPECT_EQ(l.window_weight(t(1010)), 2);  // all 47 sent at 10 left the window together
}

TEST(weight_limiter, sustained_rate_equals_budget_per_window) {
  weight_limiter l(one_rule(6000, 60000), 0.95);
  std::int64_t now = 0, sent = 0;
  // Greedy client: every time it may send, it sends; count weight over 10 windows.
  while (now < 600000) {
    auto r = l.try_acquire(2, t(now));
    if (r == t(now)) sent += 2;
    else now = r.ms;
  }
  // 10 windows × 5700 (the first window's burst included), never more.
  EXPECT_LE(sent, 5700 * 10);
  EXPECT_GE(sent, 5700 * 10 - 2);
}

TEST(weight_limiter, never_exceeds_budget_in_any_window) {
  weight_limiter l(one_rule(100, 1000), 0.9);
  std::vector<std::int64_t> sends;
  std::int64_t now = 0;
  for (int i = 0; i < 2000; ++i) {
    auto r = l.try_acquire(3, t(now));
    if (r == t(now)) sends.push_back(now);
    now = std::max(now + 7, r.ms);
  }
  for (std::size_t i = 0; i < sends.size(); ++i) {
    std::int64_t w = 0;
    for (std::size_t j = i; j < sends.size() && sends[j] < sends[i] + 1000; ++j) w += 3;
    ASSERT_LE(w, 90) << "window starting at " << sends[i];
  }
}

TEST(weight_limiter, server_header_adds_weight_used_by_others) {
  weight_limiter l(one_rule(100, 1000), 1.0);
  EXPECT_EQ(l.try_acquire(10, t(0)), t(0));
  l.observe_used_weight("1M", 90, t(5));  // someone else used 80
  EXPECT_EQ(l.window_weight(t(5)), 90);
  EXPECT_GT(l.try_acquire(20, t(6)).ms, 6);
  EXPECT_EQ(l.try_acquire(10, t(6)), t(6));
  // A lower server count (a fixed window that just reset) never lowers our accounting.
  l.observe_used_weight("1M", 3, t(7));
  EXPECT_EQ(l.window_weight(t(7)), 100);
  // Other suffixes are ignored.
  l.observe_used_weight("1S", 1000, t(8));
  EXPECT_EQ(l.window_weight(t(8)), 100);
}

TEST(weight_limiter, pause_after_429_blocks_everyone_until_retry_after) {
  weight_limiter l(one_rule(6000, 60000), 0.95);
  l.pause_until(t(5000));
  EXPECT_EQ(l.try_acquire(2, t(100)), t(5000));
  EXPECT_EQ(l.try_acquire(2, t(4999)), t(5000));
  EXPECT_EQ(l.try_acquire(2, t(5000)), t(5000));
}

TEST(weight_limiter, raw_request_rule_counts_requests) {
  std::vector<rate_limit_rule> rules{{limit_kind::request_weight, 1000, 1000, "1S"}, {limit_kind::raw_requests, 1000, 3, ""}};
  weight_limiter l(rules, 1.0);
  EXPECT_EQ(l.try_acquire(1, t(0)), t(0));
  EXPECT_EQ(l.try_acquire(1, t(0)), t(0));
  EXPECT_EQ(l.try_acquire(1, t(0)), t(0));
  EXPECT_EQ(l.try_acquire(1, t(0)), t(1000));
}

TEST(backoff, grows_exponentially_with_bounded_jitter) {
  backoff_policy p{100, 1000, 4};
  EXPECT_EQ(backoff_delay_ms(p, 1, 0.0), 50);
  EXPECT_EQ(backoff_delay_ms(p, 1, 0.999), 99);
  EXPECT_EQ(backoff_delay_ms(p, 2, 0.0), 100);
  EXPECT_EQ(backoff_delay_ms(p, 3, 0.5), 300);
  EXPECT_EQ(backoff_delay_ms(p, 4, 1.0), 800);
  EXPECT_EQ(backoff_delay_ms(p, 5, 1.0), 1000);  // capped
  EXPECT_EQ(backoff_delay_ms(p, 60, 1.0), 1000);  // no overflow
  EXPECT_TRUE(may_retry(p, 3));
  EXPECT_FALSE(may_retry(p, 4));
}

year_state complete_year(int y, interval iv) {
  year_state s;
  s.complete = true;
  s.rows = 100;
  s.first_open = year_start(y);
  s.last_open = timestamp_ms{year_end(y).ms - nominal_ms(iv)};
  s.written_at = year_end(y);
  return s;
}

plan_input base_input() {
  plan_input in;
  in.interval = interval::h1;
  in.first_year = 2016;
  in.last_year = 2026;
  in.first_candle = to_timestamp({2017, 8, 17}) ;
  in.first_candle->ms += 4 * ms_per_hour;
  in.now = to_timestamp({2026, 11, 25});
  in.now.ms += 12 * ms_per_hour + 123;
  in.current_year_ttl_ms = 10 * 365LL * ms_per_day;
  return in;
}

TEST(planner, empty_cache_fetches_from_listing_to_now) {
  auto in = base_input();
  auto p = plan_years(in, {});
  ASSERT_EQ(p.size(), 11u);
  EXPECT_EQ(p[0].action, year_action::skip_before_listing);  // 2016
  EXPECT_EQ(p[1].action, year_action::fetch);
  EXPECT_EQ(p[1].from, *in.first_candle);
  EXPECT_EQ(p[1].to, year_end(2017));
  EXPECT_TRUE(p[1].past);
  EXPECT_EQ(p[5].from, year_start(2021));
  EXPECT_EQ(p[10].action, year_action::fetch);
  EXPECT_FALSE(p[10].past);
  EXPECT_EQ(p[10].to, in.now);
}

TEST(planner, complete_years_and_fresh_current_year_need_no_request) {
  auto in = base_input();
  std::map<int, year_state> cache;
  for (int y = 2017; y <= 2025; ++y) cache[y] = complete_year(y, in.interval);
  year_state cur;
  cur.rows = 7000;
  cur.first_open = year_start(2026);
  cur.written_at = timestamp_ms{in.now.ms - ms_per_day};
  cur.last_open = timestamp_ms{grid_floor(in.interval, cur.written_at).ms - ms_per_hour};  // caught up then
  cache[2026] = cur;
  for (auto const& p : plan_years(in, cache)) EXPECT_NE(p.action, year_action::fetch) << p.year;
  // --force-refresh: the current year is fetched from its last candle on.
  in.force_refresh = true;
  auto p = plan_years(in, cache);
  EXPECT_EQ(p.back().action, year_action::fetch);
  EXPECT_EQ(p.back().from.ms, cur.last_open.ms + 1);
  EXPECT_TRUE(p.back().keep_existing);
  EXPECT_EQ(p[3].action, year_action::skip_complete);
}

TEST(planner, current_year_older_than_ttl_or_not_caught_up_is_refreshed) {
  auto in = base_input();
  in.current_year_ttl_ms = ms_per_hour;
  year_state cur;
  cur.rows = 10;
  cur.first_open = year_start(2026);
  cur.written_at = timestamp_ms{in.now.ms - 2 * ms_per_hour};
  cur.last_open = timestamp_ms{grid_floor(in.interval, cur.written_at).ms - ms_per_hour};
  std::map<int, year_state> cache{{2026, cur}};
  EXPECT_EQ(plan_years(in, cache).back().action, year_action::fetch);
  in.current_year_ttl_ms = 10 * ms_per_day;
  EXPECT_EQ(plan_years(in, cache).back().action, year_action::skip_fresh);
  // A partial save (interrupted run): written recently but far behind its write time.
  cache[2026].last_open = year_start(2026);
  auto p = plan_years(in, cache).back();
  EXPECT_EQ(p.action, year_action::fetch);
  EXPECT_EQ(p.from.ms, year_start(2026).ms + 1);
}

TEST(planner, empty_current_year_file_is_fresh_only_if_nothing_had_closed) {
  auto in = base_input();
  in.now = timestamp_ms{year_start(2026).ms + 30 * ms_per_minute};
  in.interval = interval::d1;
  year_state empty;
  empty.written_at = timestamp_ms{in.now.ms - ms_per_minute};
  std::map<int, year_state> cache{{2026, empty}};
  EXPECT_EQ(plan_years(in, cache).back().action, year_action::skip_fresh);
  in.interval = interval::m1;  // 1m candles had closed by then: refetch
  EXPECT_EQ(plan_years(in, cache).back().action, year_action::fetch);
}

TEST(planner, partial_past_year_resumes_after_its_last_candle) {
  auto in = base_input();
  year_state part;
  part.rows = 3000;
  part.first_open = year_start(2020);
  part.last_open = timestamp_ms{year_start(2020).ms + 2999 * ms_per_hour};
  part.written_at = in.now;
  std::map<int, year_state> cache{{2020, part}};
  auto p = plan_years(in, cache);
  auto const& y = p[4];
  ASSERT_EQ(y.year, 2020);
  EXPECT_EQ(y.action, year_action::fetch);
  EXPECT_EQ(y.from.ms, part.last_open.ms + 1);
  EXPECT_TRUE(y.keep_existing);
  EXPECT_FALSE(y.overlaps_existing);
  // A stored range that starts late (e.g. imported) is fetched whole and united.
  cache[2020].first_open = timestamp_ms{year_start(2020).ms + 100 * ms_per_hour};
  auto q = plan_years(in, cache)[4];
  EXPECT_EQ(q.from, year_start(2020));
  EXPECT_TRUE(q.overlaps_existing);
}

TEST(planner, no_first_candle_means_no_work_and_future_years_are_skipped) {
  auto in = base_input();
  in.first_candle.reset();
  for (auto const& p : plan_years(in, {})) EXPECT_EQ(p.action, year_action::skip_before_listing);
  in = base_input();
  in.last_year = 2027;
  EXPECT_EQ(plan_years(in, {}).back().action, year_action::skip_future);
}

TEST(planner, years_back_covers_at_least_n_years) {
  auto const now = to_timestamp({2026, 11, 25});
  EXPECT_EQ(years_back_range(now, 10), (std::pair{2016, 2026}));
  EXPECT_EQ(years_back_range(now, 1), (std::pair{2025, 2026}));
}

TEST(planner, segments_tile_the_range) {
  auto const from = timestamp_ms{year_start(2020).ms + 1};
  auto const to = year_end(2020);
  auto segs = split_segments(interval::m1, from, to, 1000, 10);
  ASSERT_GT(segs.size(), 50u);
  EXPECT_EQ(segs.front().first, from);
  EXPECT_EQ(segs.back().second, to);
  for (std::size_t i = 1; i < segs.size(); ++i) EXPECT_EQ(segs[i - 1].second, segs[i].first);
  EXPECT_EQ(segs[0].second.ms - segs[0].first.ms, 10'000 * ms_per_minute);
  EXPECT_EQ(split_segments(interval::mo1, from, to, 1000, 10).size(), 1u);
  EXPECT_TRUE(split_segments(interval::h1, to, to, 1000, 10).empty());
  EXPECT_EQ(estimate_candles(interval::h1, year_start(2021), year_end(2021)), 8760);
}

TEST(progress, rate_and_eta_from_a_fake_clock) {
  progress_meter m(5000);
  m.set_total_estimate(100'000);
  m.add(0, 0, t(0));
  for (int s = 1; s <= 10; ++s) m.add(5000, 5, t(s * 1000));
  auto snap = m.snapshot(t(10'000));
  EXPECT_EQ(snap.candles, 50'000);
  EXPECT_NEAR(snap.candles_per_s, 5000.0, 1e-9);
  EXPECT_NEAR(snap.requests_per_s, 5.0, 1e-9);
  ASSERT_TRUE(snap.eta_ms);
  EXPECT_EQ(*snap.eta_ms, 10'000);
  // No progress for a while: the rate falls, the ETA grows.
  auto later = m.snapshot(t(14'000));
  EXPECT_LT(later.candles_per_s, 5000.0);
  EXPECT_GT(*later.eta_ms, 10'000);
  EXPECT_EQ(format_duration_ms(83'000), "1m23s");
  EXPECT_EQ(format_duration_ms(3'720'000), "1h02m");
  EXPECT_EQ(format_count(1234567), "1,234,567");
}

}  // namespace
}  // namespace atb::fetch
