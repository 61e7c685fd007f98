// A full paging walk over real Binance data: ../shared/data/klines/BTCUSDT-1d.csv is
// imported into a temporary cache (core's CSV parser, the store's merge), served by
// atb-mock-exchange --data, paged as a Binance client does (startTime = last open + 1,
// limit 1000), and every served row must equal its CSV line exactly.
#include "atb/core/kline_csv.hpp"
#include "atb/sim/cache_market.hpp"
#include "atb/store/cache.hpp"
#include "process_util.hpp"
#include "sim_test_util.hpp"

#include <filesystem>
#include <fstream>

namespace atb::sim {
namespace {

using namespace test;
namespace fs = std::filesystem;

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "atb-sim-paging-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

/// JSON klines rows → CSV lines (drop brackets and quotes): byte-exact comparison.
std::vector<std::string> rows_as_csv(std::string const& body) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (char c : body) {
    if (c == '[') {
      ++depth;
      if (depth == 2) cur.clear();
    } else if (c == ']') {
      if (depth == 2) out.push_back(cur);
      --depth;
    } else if (depth == 2 && c != '"') {
      cur.push_back(c);
    }
  }
  return out;
}

class RealData : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::path const csv = fs::path(ATB_SHARED_DATA_DIR) / "klines" / "BTCUSDT-1d.csv";
    if (!fs::exists(csv)) GTEST_SKIP() << "real data not found at " << csv << " (../shared absent); skipping";
    std::ifstream in(csv);
    kline_columns cols;
    for (std::string line; std::getline(in, line);) {
      auto kind = parse_kline_csv_line(line, cols);
      ASSERT_TRUE(kind) << kind.error().message;
      if (*kind == csv_row_kind::kline) lines_.push_back(line);
    }
    ASSERT_EQ(lines_.size(), 3178u);
    store::cache c(dir_.path);
    auto rep = c.merge(symbol::parse("BTCUSDT").value(), interval::d1, cols);
    ASSERT_TRUE(rep) << rep.error().message;
    ASSERT_EQ(rep->added, lines_.size());
  }
  temp_dir dir_;
  std::vector<std::string> lines_;
};

TEST_F(RealData, InProcessSelectionRulesOnRealRows) {
  auto m = open_cache_market({dir_.path, {}, 16});
  ASSERT_TRUE(m) << m.error().message;
  auto const* btc = (*m)->find("BTCUSDT");
  ASSERT_NE(btc, nullptr);
  EXPECT_EQ(btc->listed.ms, 1502928000000);
  timestamp_ms const now = parse_instant("2026-06-01").value();
  auto csv_of = [](kline_columns const& k) {
    std::string s;
    render_klines(s, k);
    return rows_as_csv(s);
  };
  auto first = (*m)->klines(*btc, interval::d1, plan_selection(timestamp_ms{0}, std::nullopt, 1, now), now).value();
  EXPECT_EQ(csv_of(first), std::vector<std::string>{lines_.front()});
  auto newest = (*m)->klines(*btc, interval::d1, plan_selection(std::nullopt, std::nullopt, 2, now), now).value();
  EXPECT_EQ(csv_of(newest), (std::vector<std::string>{lines_[lines_.size() - 2], lines_.back()}));
  // endTime only, across a year boundary: the newest up to 2020-01-01.
  auto end = (*m)->klines(*btc, interval::d1,
                          plan_selection(std::nullopt, parse_instant("2020-01-01").value(), 3, now), now).value();
  ASSERT_EQ(end.size(), 3u);
  EXPECT_EQ(end.open_time(2), parse_instant("2020-01-01").value());
  EXPECT_EQ(end.open_time(0), parse_instant("2019-12-30").value());
  EXPECT_TRUE((*m)->klines(*btc, interval::d1, plan_selection(std::nullopt, timestamp_ms{1000}, 5, now), now)->empty());
  EXPECT_TRUE((*m)->klines(*btc, interval::h1, plan_selection(timestamp_ms{0}, std::nullopt, 5, now), now)->empty());
}

#ifdef ATB_MOCK_EXCHANGE_BIN
TEST_F(RealData, FullPagingWalkReturnsExactlyTheCsvRows) {
  child_process p({ATB_MOCK_EXCHANGE_BIN, "--port", "0", "--data", dir_.path.string()});
  std::uint16_t const port = port_of(p.read_line());
  ASSERT_NE(port, 0);
  client c(port);
  auto info = c.get("/api/v3/exchangeInfo");
  ASSERT_EQ(info.status, 200);
  EXPECT_NE(info.body.find(R"("symbol":"BTCUSDT")"), std::string::npos);
  EXPECT_EQ(c.get("/api/v3/klines?symbol=ETHUSDT&interval=1d").status, 400);  // not in the cache

  std::vector<std::string> served;
  std::int64_t start = 0;
  int pages = 0;
  for (;;) {
    auto r = c.get(std::string("/api/v3/klines?symbol=BTCUSDT&interval=1d&startTime=").append(std::to_string(start)).append("&limit=1000"));
    ASSERT_EQ(r.status, 200) << r.body;
    auto rows = rows_as_csv(r.body);
    if (rows.empty()) break;
    ++pages;
    ASSERT_LE(rows.size(), 1000u);
    served.insert(served.end(), rows.begin(), rows.end());
    start = std::stoll(rows.back().substr(0, rows.back().find(','))) + 1;
  }
  EXPECT_EQ(pages, 4);
  ASSERT_EQ(served.size(), lines_.size());
  for (std::size_t i = 0; i < served.size(); ++i) ASSERT_EQ(served[i], lines_[i]) << "row " << i;
  EXPECT_EQ(p.stop(SIGTERM), 0);
}
#endif

}  // namespace
}  // namespace atb::sim
