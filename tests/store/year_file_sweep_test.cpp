// Exhaustive damage sweeps (label "slow"): every byte of a file flipped, every length truncated.
#include "store_test_util.hpp"

namespace atb::store::test {
namespace {

void sweep(year_key const& k, kline_columns const& rows) {
  std::string const bytes = encode_year_file(k, rows).value();
  std::string const name = file_name(k);
  ASSERT_FALSE(detected(bytes, name));
  std::size_t missed = 0;
  for (std::size_t pos = 0; pos < bytes.size(); ++pos) {
    for (unsigned mask : {0x01u, 0x10u, 0xffu}) {
      std::string b = bytes;
      b[pos] = static_cast<char>(b[pos] ^ mask);
      if (!detected(std::move(b), name)) {
        ++missed;
        ADD_FAILURE() << "byte " << pos << " ^ " << int(mask) << " not detected";
      }
    }
    EXPECT_TRUE(detected(bytes.substr(0, pos), name)) << "truncated to " << pos;
  }
  EXPECT_EQ(missed, 0u);
}

TEST(YearFileSweep, EveryFlippedByteOfASyntheticFileIsDetected) {
  sweep(year_key{sym("BTCUSDT"), interval::h4, 2020},
        synth_year(interval::h4, 2020, {.rows = 300, .gap_every = 50, .irregular_every = 70}));
  sweep(year_key{sym("ETHUSDT"), interval::mo1, 2020}, synth_year(interval::mo1, 2020, {.rows = 12}));
}

TEST(YearFileSweep, EveryFlippedByteOfARealFileIsDetected) {
  fs::path const csv = shared_klines_dir() / "SOLUSDT-1d.csv";
  if (!fs::exists(csv)) GTEST_SKIP() << "shared data absent: " << csv;
  auto years = split_years(load_csv(csv));
  sweep(year_key{sym("SOLUSDT"), interval::d1, 2021}, years.at(2021));
}

}  // namespace
}  // namespace atb::store::test
