// End-to-end: `atb backtest` as a program on a small imported cache. Checks the time
// stamps of the outputs that need close times (the last bar's comes from the data even
// when the close_time column is not decoded) and that --trades-out / --equity-out agree
// with the --json summary.
#include "cli_test_util.hpp"

#include <fmt/format.h>

#include <sstream>

namespace {

using namespace atb_test;

constexpr std::int64_t t0 = 1709251200000;  // 2024-03-01T00:00:00Z
constexpr std::int64_t hour = 3600000;
constexpr int bars = 40;
// The last candle closed early (Binance writes such candles at maintenance): its close time
// is not next open − 1, so only the stored value is right.
constexpr std::int64_t last_close = t0 + (bars - 1) * hour + 1799999;

/// Falling for 12 hours, then rising: sma_cross fast=2 slow=3 buys once and is still long
/// after the last bar (closed at the last close, reason end_of_data).
std::string klines_csv() {
  std::string s;
  for (int i = 0; i < bars; ++i) {
    double const c = i < 12 ? 200.0 - i : 188.0 + 2.0 * (i - 12);
    double const o = i == 0 ? 200.5 : (i < 12 ? 201.0 - i : 188.0 + 2.0 * (i - 13));
    std::int64_t const ot = t0 + i * hour, ct = i + 1 == bars ? last_close : ot + hour - 1;
    s += fmt::format("{},{:.8f},{:.8f},{:.8f},{:.8f},1.00000000,{},{:.8f},10,0.50000000,{:.8f},0\n", ot, o,
                     std::max(o, c) + 1, std::min(o, c) - 1, c, ct, c, c / 2);
  }
  return s;
}

std::vector<std::string> lines(std::string const& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

class backtest_cmd : public cli_test {};

TEST_F(backtest_cmd, outputs_carry_the_stored_close_time_of_the_last_bar) {
  write_text(dir() / "BTCUSDT-1h.csv", klines_csv());
  auto imp = atb("data import BTCUSDT-1h.csv");
  ASSERT_EQ(imp.code, 0) << imp.err;
  std::string const common =
      "backtest sma_cross --symbol BTCUSDT --timeframe 1h --start 2024-03-01 --end 2024-03-03 --param fast=2 "
      "--param slow=3 --json";
  // Without --equity-out (the fast path; close times not decoded) and with it (the
  // reference simulator and the whole close_time column): the same end and trades.
  auto r1 = atb(common + " --trades-out t1.csv");
  ASSERT_EQ(r1.code, 0) << r1.err;
  auto r2 = atb(common + " --trades-out t2.csv --equity-out e.csv");
  ASSERT_EQ(r2.code, 0) << r2.err;
  std::string const end = "\"end\": \"2024-03-02T15:30:00.000Z\"";  // last close + 1 ms
  EXPECT_NE(r1.out.find(end), std::string::npos) << r1.out;
  EXPECT_NE(r2.out.find(end), std::string::npos) << r2.out;
  EXPECT_NE(r1.out.find("\"trades\": 1"), std::string::npos) << r1.out;

  auto const t1 = lines(read_text(dir() / "t1.csv")), t2 = lines(read_text(dir() / "t2.csv"));
  ASSERT_EQ(t1.size(), 2u) << read_text(dir() / "t1.csv");
  EXPECT_EQ(t1, t2);
  EXPECT_NE(t1[1].find(",2024-03-02T15:29:59.999Z,"), std::string::npos) << t1[1];
  EXPECT_NE(t1[1].find("end_of_data"), std::string::npos) << t1[1];

  auto const e = lines(read_text(dir() / "e.csv"));
  ASSERT_EQ(e.size(), static_cast<std::size_t>(bars) + 1);
  EXPECT_EQ(e[0], "close_time,equity");
  EXPECT_EQ(e[1].substr(0, e[1].find(',')), "2024-03-01T00:59:59.999Z");
  EXPECT_EQ(e[bars].substr(0, e[bars].find(',')), "2024-03-02T15:29:59.999Z");
}

}  // namespace
