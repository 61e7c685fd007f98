// Long end-to-end suites (label slow): every fault kind at several rates ends with the
// same cache as a fault-free run; kill -9 at random points, then resume, gives identical
// files and a clean atb-verify.
#include "e2e_util.hpp"

#include <chrono>
#include <thread>

namespace atb::fetch::test {
namespace {

constexpr char const* k_now = "2026-06-15T10:30:00Z";

class fault_kinds : public ::testing::TestWithParam<std::string> {};

std::filesystem::path const& clean_cache() {
  static temp_dir dir("clean_ref");
  static bool done = false;
  if (!done) {
    simulator sim({"--now", k_now, "--seed", "7"});
    auto r = run_preload(quick_options(sim.url(), dir.path));
    EXPECT_TRUE(r && r->failed.empty());
    done = true;
  }
  return dir.path;
}

TEST_P(fault_kinds, end_with_the_same_cache_as_a_fault_free_run) {
  auto const& ref = clean_cache();
  for (char const* rate : {"0.05", "0.2", "0.4"}) {
    simulator sim({"--now", k_now, "--seed", "7", "--faults", GetParam(), "--fault-rate", rate, "--stall-ms", "2000"});
    ASSERT_TRUE(sim.ok()) << GetParam();
    temp_dir dir("fault");
    auto o = quick_options(sim.url(), dir.path);
    o.backoff = backoff_policy{10, 100, 16};
    o.max_rate_limited_retries = 40;
    auto r = run_preload(o);
    ASSERT_TRUE(r) << GetParam() << " at " << rate << ": " << r.error().message;
    for (auto const& f : r->failed) ADD_FAILURE() << GetParam() << " at " << rate << ": " << f.describe();
    EXPECT_EQ(sim.stat("status_418"), 0);
    EXPECT_GT(sim.stat("faults_injected"), 0) << GetParam() << " at " << rate;
    EXPECT_EQ(compare_caches(ref, dir.path), "") << GetParam() << " at " << rate;
  }
}

INSTANTIATE_TEST_SUITE_P(all, fault_kinds,
                         ::testing::Values("reset_before", "reset_mid_body", "http_500", "http_502", "http_503", "truncated_body",
                                           "bad_json", "stall", "429_no_retry_after"));

std::vector<std::string> kill_args(std::string const& url, std::filesystem::path const& dir) {
  return {atb_bin(), "data", "preload-offline", "--base-url", url, "--cache-dir", dir.string(), "--symbols", "BTCUSDT",
          "SOLUSDT", "--timeframes", "5m", "1h", "--years-back", "3", "--concurrency", "6"};
}

TEST(fetch_e2e_kill, kill_9_at_random_points_then_resume_gives_identical_files) {
  // 200 weight/s: the run lasts several seconds, long enough to be killed mid-way.
  simulator sim({"--now", k_now, "--seed", "11", "--weight-limit", "200", "--window-ms", "1000", "--latency-ms", "5"});
  ASSERT_TRUE(sim.ok());
  temp_dir ref("kill_ref"), victim("kill_victim");
  ASSERT_EQ(wait_exit(spawn(kill_args(sim.url(), ref.path), nullptr)), 0);

  std::mt19937 rng(std::random_device{}());
  int kills = 0;
  for (int round = 0; round < 4; ++round) {
    pid_t pid = spawn(kill_args(sim.url(), victim.path), nullptr);
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(200, 2500)(rng)));
    if (::kill(pid, SIGKILL) == 0) ++kills;
    wait_exit(pid);
    // What a kill leaves behind must verify clean (no torn files).
    if (std::filesystem::exists(victim.path / "market_data")) {
      EXPECT_EQ(wait_exit(spawn({verify_bin(), "--cache-dir", victim.path.string()}, nullptr)), 0) << "after kill " << round;
    }
  }
  EXPECT_GT(kills, 0);
  ASSERT_EQ(wait_exit(spawn(kill_args(sim.url(), victim.path), nullptr)), 0);
  EXPECT_EQ(compare_caches(ref.path, victim.path), "");
  EXPECT_EQ(wait_exit(spawn({verify_bin(), "--cache-dir", victim.path.string()}, nullptr)), 0);
  // And a rerun on the finished cache sends no klines request.
  auto const before = sim.stat("klines_requests");
  ASSERT_EQ(wait_exit(spawn(kill_args(sim.url(), victim.path), nullptr)), 0);
  EXPECT_EQ(sim.stat("klines_requests"), before);
}

TEST(fetch_e2e_kill, sigint_saves_partial_years_and_resume_completes) {
  simulator sim({"--now", k_now, "--seed", "11", "--weight-limit", "200", "--window-ms", "1000", "--latency-ms", "5"});
  ASSERT_TRUE(sim.ok());
  temp_dir ref("int_ref"), victim("int_victim");
  ASSERT_EQ(wait_exit(spawn(kill_args(sim.url(), ref.path), nullptr)), 0);
  pid_t pid = spawn(kill_args(sim.url(), victim.path), nullptr);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ::kill(pid, SIGINT);
  EXPECT_EQ(wait_exit(pid), 1);  // interrupted: the job is not finished
  EXPECT_EQ(wait_exit(spawn({verify_bin(), "--cache-dir", victim.path.string()}, nullptr)), 0);
  ASSERT_EQ(wait_exit(spawn(kill_args(sim.url(), victim.path), nullptr)), 0);
  EXPECT_EQ(compare_caches(ref.path, victim.path), "");
}

}  // namespace
}  // namespace atb::fetch::test
