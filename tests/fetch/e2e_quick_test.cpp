// Quick end-to-end checks against the simulator binary (default label): a preload equals
// what the exchange serves, a rerun sends no klines request, faults change nothing.
#include "atb/sim/synthetic_market.hpp"
#include "atb/store/cache.hpp"
#include "e2e_util.hpp"

#include <algorithm>
#include <chrono>

namespace atb::fetch::test {
namespace {

constexpr char const* k_now = "2026-06-15T10:30:00Z";

TEST(fetch_e2e, preload_equals_served_data_and_rerun_sends_no_klines_request) {
  simulator sim({"--now", k_now, "--seed", "7"});
  ASSERT_TRUE(sim.ok()) << "atb-mock-exchange did not start";
  temp_dir dir("quick");
  auto o = quick_options(sim.url(), dir.path);
  auto r = run_preload(o);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->failed.empty());
  EXPECT_EQ(r->status_429, 0u);
  EXPECT_GT(r->candles, 10'000u);
  EXPECT_EQ(r->first_candle_lookups, 4u);
  EXPECT_TRUE(std::filesystem::exists(first_candles_path(dir.path)));
  EXPECT_FALSE(std::filesystem::exists(dir.path / "market_data" / "first_candles.json"));

  // Every year equals the simulator's market (same seed), closed candles only.
  auto market = sim::synthetic_market::create({7, {}, 4096});  // the simulator's default symbol list
  ASSERT_TRUE(market);
  std::uint64_t total = 0;
  for (auto const& s : o.symbols)
    for (auto iv : o.intervals)
      for (int y = 2019; y <= 2026; ++y) {
        auto const* info = (*market)->find(s.view());
        ASSERT_NE(info, nullptr);
        sim::kline_query q{year_start(y), timestamp_ms{year_end(y).ms - 1}, 100'000, false};
        auto want = (*market)->klines(*info, iv, q, r->server_time);
        ASSERT_TRUE(want);
        while (!want->empty() && want->close_time(want->size() - 1) >= r->server_time)
          for (auto& c : want->cols) c.pop_back();
        auto f = store::year_file::open(store::year_file_path(dir.path, {s, iv, y}));
        if (want->empty()) {
          EXPECT_FALSE(f) << s.view() << " " << to_string(iv) << " " << y << " should not exist";
          continue;
        }
        ASSERT_TRUE(f) << f.error().message;
        EXPECT_EQ(f->header().complete(), y < 2026);
        kline_columns got;
        ASSERT_TRUE(f->read(field_mask::all(), got));
        ASSERT_EQ(got.size(), want->size()) << s.view() << " " << to_string(iv) << " " << y;
        for (std::size_t i = 0; i < got.size(); ++i)
          ASSERT_TRUE(kline_columns::rows_equal(got, i, *want, i)) << s.view() << " " << to_string(iv) << " " << y << " row " << i;
        total += got.size();
      }
  EXPECT_EQ(total, r->candles);

  auto const before = sim.stat("klines_requests");
  ASSERT_GE(before, 0);
  auto again = run_preload(o);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->klines_requests, 0u);
  EXPECT_EQ(again->files_written, 0u);
  EXPECT_EQ(sim.stat("klines_requests"), before);
}

TEST(fetch_e2e, run_ends_with_its_work_not_at_the_next_progress_tick) {
  // The progress reporter sleeps between ticks; the run must wake it when it ends
  // instead of lingering until the next tick (with a 60 s interval: a minute).
  simulator sim({"--now", k_now, "--seed", "7"});
  ASSERT_TRUE(sim.ok()) << "atb-mock-exchange did not start";
  temp_dir dir("progress");
  auto o = quick_options(sim.url(), dir.path);
  int ticks = 0;
  o.progress = [&](live_status const&) { ++ticks; };
  o.progress_interval_ms = 60'000;
  auto const t0 = std::chrono::steady_clock::now();
  auto r = run_preload(o);
  double const wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_GT(r->candles, 10'000u);
  EXPECT_GE(ticks, 1);
  EXPECT_LT(wall, 30.0) << "the run waited for the progress reporter's next tick";
}

TEST(fetch_e2e, faults_end_with_the_same_cache_as_a_fault_free_run) {
  temp_dir clean("clean"), faulty("faulty");
  {
    simulator sim({"--now", k_now, "--seed", "7"});
    ASSERT_TRUE(sim.ok());
    auto r = run_preload(quick_options(sim.url(), clean.path));
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_TRUE(r->failed.empty());
  }
  simulator sim({"--now", k_now, "--seed", "7", "--fault-rate", "0.15", "--stall-ms", "2500"});
  ASSERT_TRUE(sim.ok());
  auto r = run_preload(quick_options(sim.url(), faulty.path));
  ASSERT_TRUE(r) << r.error().message;
  for (auto const& f : r->failed) ADD_FAILURE() << f.describe();
  EXPECT_GT(r->retries, 0u);
  EXPECT_GT(sim.stat("faults_injected"), 0);
  EXPECT_EQ(sim.stat("status_418"), 0);
  EXPECT_EQ(compare_caches(clean.path, faulty.path), "");
}

TEST(fetch_e2e, unknown_symbol_is_a_failed_range_and_the_rest_continues) {
  simulator sim({"--now", k_now, "--seed", "7"});
  ASSERT_TRUE(sim.ok());
  temp_dir dir("badsym");
  auto o = quick_options(sim.url(), dir.path);
  o.symbols = {atb::symbol::parse("BTCUSDT").value(), atb::symbol::parse("NOSUCHCOIN").value()};
  o.intervals = {atb::interval::d1};
  auto r = run_preload(o);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->failed.size(), 1u);
  EXPECT_EQ(r->failed[0].symbol.view(), "NOSUCHCOIN");
  EXPECT_NE(r->failed[0].reason.find("-1121"), std::string::npos) << r->failed[0].reason;
  EXPECT_TRUE(std::filesystem::exists(store::year_file_path(dir.path, {o.symbols[0], atb::interval::d1, 2020})));
}

TEST(fetch_e2e, unreachable_api_is_reported_as_such) {
  std::uint16_t port = 0;
  {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  temp_dir dir("offline");
  auto o = quick_options("http://127.0.0.1:" + std::to_string(port), dir.path);
  auto r = run_preload(o);
  ASSERT_FALSE(r);
  EXPECT_TRUE(is_unreachable(r.error())) << r.error().message;
}

TEST(fetch_e2e, scaled_rate_limit_is_respected_without_429) {
  // 40 weight per second with share 0.95: the run must stay within 38/s and never see a 429.
  simulator sim({"--now", k_now, "--seed", "7", "--weight-limit", "40", "--window-ms", "1000", "--latency-ms", "5"});
  ASSERT_TRUE(sim.ok());
  temp_dir dir("rate");
  auto o = quick_options(sim.url(), dir.path);
  o.intervals = {atb::interval::h4};
  auto r = run_preload(o);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->weight_limit, 40);
  EXPECT_EQ(r->status_429, 0u);
  EXPECT_EQ(sim.stat("status_429"), 0);
  EXPECT_LE(r->max_used_weight_header, 40);
  EXPECT_TRUE(r->failed.empty());
}

}  // namespace
}  // namespace atb::fetch::test

namespace atb::fetch::test {
namespace {

/// Runs the atb binary; returns {exit code, stdout}.
std::pair<int, std::string> run_atb(std::vector<std::string> args) {
  args.insert(args.begin(), atb_bin());
  int fd = -1;
  pid_t const pid = spawn(args, &fd);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return {wait_exit(pid), out};
}

std::uint16_t closed_port() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();  // closed again when `a` goes
}

TEST(fetch_e2e, download_serves_the_cache_when_the_api_is_unreachable) {
  temp_dir dir("download_offline");
  auto const sym = atb::symbol::parse("BTCUSDT").value();
  {
    simulator sim({"--now", k_now, "--seed", "7"});
    ASSERT_TRUE(sim.ok()) << "atb-mock-exchange did not start";
    auto o = quick_options(sim.url(), dir.path);
    o.symbols = {sym};
    o.intervals = {atb::interval::d1};
    o.years = std::pair{2024, 2025};
    auto r = run_preload(o);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_TRUE(r->failed.empty());
  }
  std::string const url = "http://127.0.0.1:" + std::to_string(closed_port());
  auto const csv = (dir.path / "out.csv").string();

  // Every year of the range is cached: the CSV is written from the cache, exit 0.
  auto [rc, out] = run_atb({"data", "download", "BTCUSDT", "--timeframe", "1d", "--start_date", "2024-03-01", "--end_date",
                            "2025-02-28", "--base-url", url, "--cache-dir", dir.path.string(), "--output", csv});
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("The API is unreachable"), std::string::npos) << out;
  EXPECT_NE(out.find("Cache hit"), std::string::npos) << out;
  EXPECT_EQ(out.find("Cache miss"), std::string::npos) << out;
  auto want = store::cache(dir.path).load(sym, atb::interval::d1, to_timestamp(civil_date{2024, 3, 1}),
                                          to_timestamp(civil_date{2025, 3, 1}));
  ASSERT_TRUE(want) << want.error().message;
  EXPECT_GT(want->size(), 300u);
  auto const text = read_bytes(csv);
  EXPECT_EQ(static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')), want->size());

  // A year of the range is not cached: its miss is named and the exit code says so.
  auto [rc2, out2] = run_atb({"data", "download", "BTCUSDT", "--timeframe", "1d", "--start_date", "2023-06-01", "--end_date",
                              "2024-01-31", "--base-url", url, "--cache-dir", dir.path.string(), "--output", csv});
  EXPECT_EQ(rc2, 1) << out2;
  EXPECT_NE(out2.find("Cache miss"), std::string::npos) << out2;
  EXPECT_NE(out2.find("2023"), std::string::npos) << out2;
}

}  // namespace
}  // namespace atb::fetch::test
