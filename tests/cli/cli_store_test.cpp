// End-to-end: `atb data import|export|cache-manager` and `atb-verify` run as programs in
// temp directories; exit codes, messages, files and JSON are checked.
#include "cli_test_util.hpp"

#include <simdjson.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <string_view>

using namespace atb_test;

namespace {

constexpr std::int64_t hour_ms = 3'600'000;
constexpr std::int64_t t2023 = 1672531200000;  // 2023-01-01 00:00:00 UTC
constexpr std::int64_t t2024 = 1704067200000;  // 2024-01-01 00:00:00 UTC

/// A valid 1h kline line opened at t (ms) with the given close price.
std::string row(std::int64_t t, std::string const& close = "100.00000000") {
  return std::to_string(t) + ",100.00000000,110.00000000,90.00000000," + close + ",10.00000000," +
         std::to_string(t + hour_ms - 1) + ",1000.00000000,5,4.00000000,400.00000000,0\n";
}

/// The same row with µs timestamps, as the archive writes them since 2025.
std::string row_us(std::int64_t t) {
  return std::to_string(t * 1000) + ",100.00000000,110.00000000,90.00000000,100.00000000,10.00000000," +
         std::to_string((t + hour_ms) * 1000 - 1) + ",1000.00000000,5,4.00000000,400.00000000,0\n";
}

std::int64_t open_time_of(std::string_view line) {
  std::int64_t v = -1;
  std::from_chars(line.data(), line.data() + line.find(','), v);
  return v;
}

/// Lines of a CSV text whose open time is in [from, to), '\n' kept.
std::string lines_in_range(std::string const& text, std::int64_t from, std::int64_t to) {
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size() - 1;
    std::string_view line(text.data() + pos, nl - pos + 1);
    std::int64_t const t = open_time_of(line);
    if (t >= from && t < to) out += line;
    pos = nl + 1;
  }
  return out;
}

std::size_t count_lines(std::string const& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

bool have_shared() { return std::filesystem::exists(shared_data / "klines" / "BTCUSDT-1h.csv"); }
#define SKIP_WITHOUT_SHARED()                                                                             \
  if (!have_shared()) GTEST_SKIP() << "../shared/data is absent (" << shared_data << "): real-data test skipped"

std::vector<std::filesystem::path> year_files(std::filesystem::path const& cache) {
  std::vector<std::filesystem::path> v;
  for (auto const& e : std::filesystem::directory_iterator(cache / "market_data"))
    if (e.path().extension() == ".atb") v.push_back(e.path());
  std::sort(v.begin(), v.end());
  return v;
}

class import_export : public cli_test {};
class import_cmd : public cli_test {};
class export_cmd : public cli_test {};
/// Fixture with a small cache: BTCUSDT 1h 2023 (one missing candle) and 2024, ETHUSDT 1h 2024.
class filled_cache : public cli_test {
 protected:
  void fill() {
    write_text(dir() / "BTCUSDT-1h.csv", row(t2024 - 3 * hour_ms) + row(t2024 - hour_ms) + row(t2024) + row(t2024 + hour_ms));
    write_text(dir() / "ETHUSDT-1h.csv", row(t2024) + row(t2024 + hour_ms));
    auto r = atb("data import BTCUSDT-1h.csv ETHUSDT-1h.csv");
    ASSERT_EQ(r.code, 0) << r.err;
    ASSERT_EQ(year_files(cache()).size(), 3u);
  }
};
class verify_cmd : public filled_cache {};
class cache_manager : public filled_cache {};

}  // namespace

// ---------------------------------------------------------------------------------------
// Real data: losslessness

TEST_F(import_export, round_trip_of_every_shared_klines_file_is_byte_identical) {
  SKIP_WITHOUT_SHARED();
  std::string args = "--cache-dir " + sh_quote(cache().string());
  std::vector<std::filesystem::path> files;
  for (auto const& e : std::filesystem::directory_iterator(shared_data / "klines"))
    if (e.path().extension() == ".csv") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  ASSERT_EQ(files.size(), 15u);
  for (auto const& f : files) args += " " + sh_quote(f.string());
  auto imp = atb("data import " + args);
  ASSERT_EQ(imp.code, 0) << imp.err << imp.out;
  EXPECT_NE(imp.out.find("BTCUSDT-4h.csv: BTCUSDT 4h: 19052 rows read, 19052 added, 0 duplicates, 0 conflicts"),
            std::string::npos)
      << imp.out;

  for (auto const& f : files) {
    std::string const stem = f.stem().string();  // SYMBOL-INTERVAL
    std::string const sym = stem.substr(0, stem.find('-')), iv = stem.substr(stem.find('-') + 1);
    auto const out = dir() / (stem + ".out.csv");
    auto exp = atb("data export --cache-dir " + sh_quote(cache().string()) + " --symbol " + sym + " --timeframe " + iv +
                   " --output " + sh_quote(out.string()));
    ASSERT_EQ(exp.code, 0) << stem << ": " << exp.err;
    std::string const want = read_text(f), got = read_text(out);
    EXPECT_EQ(got.size(), want.size()) << stem;
    EXPECT_TRUE(got == want) << stem << ": export differs from the imported file";
  }
  auto v = verify("--cache-dir " + sh_quote(cache().string()) + " --jobs 2");
  EXPECT_EQ(v.code, 0) << v.out << v.err;
}

TEST_F(import_export, vision_microsecond_file_exports_as_the_rest_rows) {
  SKIP_WITHOUT_SHARED();
  auto imp = atb("data import " + sh_quote((shared_data / "vision" / "BTCUSDT-1h-2025-06.csv").string()));
  ASSERT_EQ(imp.code, 0) << imp.err;
  EXPECT_NE(imp.out.find("720 rows read, 720 added"), std::string::npos) << imp.out;
  auto exp = atb("data export --symbol BTCUSDT --timeframe 1h --start 2025-06-01 --end 2025-07-01");
  ASSERT_EQ(exp.code, 0) << exp.err;
  std::string const want =
      lines_in_range(read_text(shared_data / "klines" / "BTCUSDT-1h.csv"), 1748736000000, 1751328000000);
  EXPECT_EQ(count_lines(want), 720u);
  EXPECT_TRUE(exp.out == want) << "first exported line: " << exp.out.substr(0, exp.out.find('\n'));
}

TEST_F(import_export, vision_mixed_units_file_exports_as_the_rest_rows) {
  SKIP_WITHOUT_SHARED();
  auto imp = atb("data import " +
                 sh_quote((shared_data / "vision" / "BTCUSDT-1d-2023-01_2025-09-mixed-units.csv").string()));
  ASSERT_EQ(imp.code, 0) << imp.err;
  EXPECT_NE(imp.out.find("BTCUSDT 1d: 1004 rows read, 1004 added"), std::string::npos) << imp.out;
  auto exp = atb("data export --symbol BTCUSDT --timeframe 1d");
  ASSERT_EQ(exp.code, 0) << exp.err;
  // 2023-01-01 .. 2025-09-30 inclusive.
  std::string const want = lines_in_range(read_text(shared_data / "klines" / "BTCUSDT-1d.csv"), t2023, 1759276800000);
  EXPECT_EQ(count_lines(want), 1004u);
  EXPECT_TRUE(exp.out == want);

  // Importing the REST file on top finds every vision row identical (no conflicts).
  auto rest = atb("data import " + sh_quote((shared_data / "klines" / "BTCUSDT-1d.csv").string()));
  EXPECT_EQ(rest.code, 0) << rest.err;
  EXPECT_NE(rest.out.find("3178 rows read, 2174 added, 1004 duplicates, 0 conflicts"), std::string::npos) << rest.out;
}

// ---------------------------------------------------------------------------------------
// import

TEST_F(import_cmd, header_row_crlf_and_microseconds) {
  std::string csv =
      "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,"
      "ignore\r\n";
  csv += row_us(t2024) + row(t2024 + hour_ms) + row_us(t2024 + 2 * hour_ms);
  write_text(dir() / "ETHBTC-1h-2024-01.csv", csv);
  auto imp = atb("data import ETHBTC-1h-2024-01.csv");
  ASSERT_EQ(imp.code, 0) << imp.err;
  EXPECT_NE(imp.out.find("ETHBTC 1h: 3 rows read, 3 added, 0 duplicates, 0 conflicts, 0 bad rows, 1 year files written"),
            std::string::npos)
      << imp.out;
  auto exp = atb("data export --symbol ETHBTC --timeframe 1h");
  ASSERT_EQ(exp.code, 0) << exp.err;
  EXPECT_EQ(exp.out, row(t2024) + row(t2024 + hour_ms) + row(t2024 + 2 * hour_ms));
}

TEST_F(import_cmd, rows_are_split_into_years_and_merged_with_existing_files) {
  write_text(dir() / "BTCUSDT-1h-a.csv", row(t2024 - hour_ms) + row(t2024));
  auto a = atb("data import BTCUSDT-1h-a.csv");
  ASSERT_EQ(a.code, 0) << a.err;
  EXPECT_NE(a.out.find("2 added, 0 duplicates, 0 conflicts, 0 bad rows, 2 year files written"), std::string::npos)
      << a.out;
  EXPECT_EQ(year_files(cache()).size(), 2u);
  // Unsorted, overlapping the stored rows, with a row repeated inside the file.
  write_text(dir() / "BTCUSDT-1h-b.csv", row(t2024 + hour_ms) + row(t2024) + row(t2024 - 2 * hour_ms) + row(t2024 + hour_ms));
  auto b = atb("data import BTCUSDT-1h-b.csv");
  ASSERT_EQ(b.code, 0) << b.err;
  EXPECT_NE(b.out.find("4 rows read, 2 added, 2 duplicates, 0 conflicts"), std::string::npos) << b.out;
  auto exp = atb("data export --symbol BTCUSDT --timeframe 1h");
  ASSERT_EQ(exp.code, 0) << exp.err;
  EXPECT_EQ(exp.out, row(t2024 - 2 * hour_ms) + row(t2024 - hour_ms) + row(t2024) + row(t2024 + hour_ms));
}

TEST_F(import_cmd, reimport_counts_duplicates_and_writes_nothing) {
  write_text(dir() / "BTCUSDT-1h.csv", row(t2023) + row(t2023 + hour_ms));
  ASSERT_EQ(atb("data import BTCUSDT-1h.csv").code, 0);
  auto const f = year_files(cache()).at(0);
  auto const before = std::filesystem::last_write_time(f);
  auto again = atb("data import BTCUSDT-1h.csv");
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.out.find("2 rows read, 0 added, 2 duplicates, 0 conflicts, 0 bad rows, 0 year files written"),
            std::string::npos)
      << again.out;
  EXPECT_EQ(std::filesystem::last_write_time(f), before);
}

TEST_F(import_cmd, conflicting_row_is_reported_and_not_replaced) {
  write_text(dir() / "BTCUSDT-1h-old.csv", row(t2023) + row(t2023 + hour_ms, "101.00000000"));
  ASSERT_EQ(atb("data import BTCUSDT-1h-old.csv").code, 0);
  write_text(dir() / "BTCUSDT-1h-new.csv", row(t2023) + row(t2023 + hour_ms, "102.00000000") + row(t2023 + 2 * hour_ms));
  auto imp = atb("data import BTCUSDT-1h-new.csv");
  EXPECT_EQ(imp.code, 1) << imp.err;
  EXPECT_NE(imp.err.find("BTCUSDT-1h-new.csv:2:"), std::string::npos) << imp.err;
  EXPECT_NE(imp.err.find("2023-01-01 01:00:00"), std::string::npos) << imp.err;
  EXPECT_NE(imp.err.find("close 101.00000000 vs 102.00000000"), std::string::npos) << imp.err;
  EXPECT_NE(imp.out.find("3 rows read, 1 added, 1 duplicates, 1 conflicts"), std::string::npos) << imp.out;
  auto exp = atb("data export --symbol BTCUSDT --timeframe 1h");
  ASSERT_EQ(exp.code, 0);
  EXPECT_EQ(exp.out, row(t2023) + row(t2023 + hour_ms, "101.00000000") + row(t2023 + 2 * hour_ms));
}

TEST_F(import_cmd, conflict_inside_one_file_keeps_the_first_line) {
  write_text(dir() / "BTCUSDT-1h.csv", row(t2023, "95.00000000") + row(t2023 + hour_ms) + row(t2023, "96.00000000"));
  auto imp = atb("data import BTCUSDT-1h.csv");
  EXPECT_EQ(imp.code, 1);
  EXPECT_NE(imp.err.find("BTCUSDT-1h.csv:3:"), std::string::npos) << imp.err;
  EXPECT_NE(imp.err.find("line 1"), std::string::npos) << imp.err;
  EXPECT_NE(imp.err.find("close 95.00000000 vs 96.00000000"), std::string::npos) << imp.err;
  auto exp = atb("data export --symbol BTCUSDT --timeframe 1h");
  EXPECT_EQ(exp.out, row(t2023, "95.00000000") + row(t2023 + hour_ms));
}

TEST_F(import_cmd, bad_lines_name_file_line_and_field_and_good_rows_still_import) {
  std::string csv = row(t2023);
  csv += "1672534800000,100.00000000,110.00000000,90.00000000,abc,10.00000000,1672538399999,1000.00000000,5,4.00000000,400.00000000,0\n";
  csv += "1672538400000,100.00000000\n";
  csv += row(t2023 + 3 * hour_ms);
  csv += "open_time,open\n";
  // close time 2 h after open: not a 1h candle.
  csv += "1672545600000,100.00000000,110.00000000,90.00000000,100.00000000,10.00000000,1672552799999,1000.00000000,5,4.00000000,400.00000000,0\n";
  // low above high.
  csv += "1672549200000,100.00000000,110.00000000,120.00000000,100.00000000,10.00000000,1672552799999,1000.00000000,5,4.00000000,400.00000000,0\n";
  write_text(dir() / "BTCUSDT-1h.csv", csv);
  auto imp = atb("data import BTCUSDT-1h.csv");
  EXPECT_EQ(imp.code, 1);
  EXPECT_NE(imp.err.find("BTCUSDT-1h.csv:2: field 5 (close) 'abc'"), std::string::npos) << imp.err;
  EXPECT_NE(imp.err.find("BTCUSDT-1h.csv:3: has 2 fields"), std::string::npos) << imp.err;
  EXPECT_NE(imp.err.find("BTCUSDT-1h.csv:5: "), std::string::npos) << imp.err;
  EXPECT_NE(imp.err.find("BTCUSDT-1h.csv:6: field 7 (close_time)"), std::string::npos) << imp.err;
  EXPECT_NE(imp.err.find("BTCUSDT-1h.csv:7: field 4 (low)"), std::string::npos) << imp.err;
  EXPECT_NE(imp.out.find("2 rows read, 2 added, 0 duplicates, 0 conflicts, 5 bad rows"), std::string::npos) << imp.out;
  auto exp = atb("data export --symbol BTCUSDT --timeframe 1h");
  EXPECT_EQ(exp.out, row(t2023) + row(t2023 + 3 * hour_ms));
}

TEST_F(import_cmd, file_name_that_does_not_parse_needs_symbol_and_timeframe) {
  write_text(dir() / "prices.csv", row(t2023));
  auto bad = atb("data import prices.csv");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("prices.csv"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("--symbol and --timeframe"), std::string::npos) << bad.err;
  EXPECT_FALSE(std::filesystem::exists(cache() / "market_data"));

  auto ok = atb("data import --symbol ETHUSDT --timeframe 1h prices.csv");
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_NE(ok.out.find("ETHUSDT 1h: 1 rows read, 1 added"), std::string::npos) << ok.out;
}

TEST_F(import_cmd, flags_override_the_name_and_1mo_means_1M) {
  // 2023-01 and 2023-02 monthly candles.
  std::string const jan = "1672531200000,1.00000000,2.00000000,0.50000000,1.50000000,10.00000000,1675209599999,15.00000000,3,5.00000000,7.00000000,0\n";
  std::string const feb = "1675209600000,1.50000000,2.00000000,1.00000000,1.00000000,10.00000000,1677628799999,15.00000000,3,5.00000000,7.00000000,0\n";
  write_text(dir() / "BTCUSDT-1mo-2023.csv", jan + feb);
  auto imp = atb("data import BTCUSDT-1mo-2023.csv");
  ASSERT_EQ(imp.code, 0) << imp.err;
  EXPECT_NE(imp.out.find("BTCUSDT 1M: 2 rows read, 2 added"), std::string::npos) << imp.out;
  EXPECT_EQ(atb("data export --symbol BTCUSDT --timeframe 1M").out, jan + feb);
  // The same rows do not fit 1d candles: a flag that contradicts the data is caught per row.
  auto wrong = atb("data import --timeframe 1d BTCUSDT-1mo-2023.csv");
  EXPECT_EQ(wrong.code, 1);
  EXPECT_NE(wrong.err.find("is after the end of a 1d candle"), std::string::npos) << wrong.err;
}

TEST_F(import_cmd, usage_and_io_errors_exit_2) {
  write_text(dir() / "BTCUSDT-1h.csv", row(t2023));
  auto bad_sym = atb("data import --symbol btc/usdt BTCUSDT-1h.csv");
  EXPECT_EQ(bad_sym.code, 2);
  EXPECT_NE(bad_sym.err.find("--symbol"), std::string::npos) << bad_sym.err;
  auto bad_tf = atb("data import --timeframe 7h BTCUSDT-1h.csv");
  EXPECT_EQ(bad_tf.code, 2);
  EXPECT_NE(bad_tf.err.find("7h"), std::string::npos) << bad_tf.err;
  auto missing = atb("data import BTCUSDT-4h.csv");
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("BTCUSDT-4h.csv"), std::string::npos) << missing.err;
  EXPECT_EQ(atb("data import").code, 2);
  // One missing file among good ones: the good one is imported, the exit code says 2.
  auto mixed = atb("data import BTCUSDT-1h.csv BTCUSDT-4h.csv");
  EXPECT_EQ(mixed.code, 2);
  EXPECT_NE(mixed.out.find("BTCUSDT-1h.csv: BTCUSDT 1h: 1 rows read, 1 added"), std::string::npos) << mixed.out;
}

TEST_F(import_cmd, cache_dir_comes_from_the_environment_when_not_given) {
  write_text(dir() / "BTCUSDT-1h.csv", row(t2023));
  auto imp = atb("data import BTCUSDT-1h.csv", "ATB_CACHE_DIR=envcache");
  ASSERT_EQ(imp.code, 0) << imp.err;
  EXPECT_EQ(year_files(dir() / "envcache").size(), 1u);
  EXPECT_FALSE(std::filesystem::exists(cache()));
  auto flag = atb("data import --cache-dir flagcache BTCUSDT-1h.csv", "ATB_CACHE_DIR=envcache");
  ASSERT_EQ(flag.code, 0) << flag.err;
  EXPECT_EQ(year_files(dir() / "flagcache").size(), 1u);
}

// ---------------------------------------------------------------------------------------
// export

TEST_F(export_cmd, range_is_start_inclusive_end_exclusive) {
  std::string csv;
  for (int h = -3; h < 30; ++h) csv += row(t2024 + h * hour_ms);
  write_text(dir() / "BTCUSDT-1h.csv", csv);
  ASSERT_EQ(atb("data import BTCUSDT-1h.csv").code, 0);
  auto exp = atb("data export --symbol BTCUSDT --timeframe 1h --start 2024-01-01 --end 2024-01-02");
  ASSERT_EQ(exp.code, 0) << exp.err;
  std::string want;
  for (int h = 0; h < 24; ++h) want += row(t2024 + h * hour_ms);
  EXPECT_EQ(exp.out, want);
  auto all = atb("data export --symbol BTCUSDT --timeframe 1h --output all.csv");
  ASSERT_EQ(all.code, 0) << all.err;
  EXPECT_EQ(read_text(dir() / "all.csv"), csv);
  EXPECT_NE(all.out.find("33 rows"), std::string::npos) << all.out;
  // Only the output file is left: no temp file beside it.
  std::size_t entries = 0;
  for (auto const& e : std::filesystem::directory_iterator(dir()))
    entries += e.path().filename().string().find(".tmp") != std::string::npos;
  EXPECT_EQ(entries, 0u);
}

TEST_F(export_cmd, no_data_suggests_the_preload_command_and_exits_1) {
  auto exp = atb("data export --symbol SOLUSDT --timeframe 4h --start 2024-01-01 --output out.csv");
  EXPECT_EQ(exp.code, 1);
  EXPECT_NE(exp.err.find("no SOLUSDT 4h candles"), std::string::npos) << exp.err;
  EXPECT_NE(exp.err.find("atb data preload-offline --symbols SOLUSDT --timeframes 4h --years-back"), std::string::npos)
      << exp.err;
  EXPECT_FALSE(std::filesystem::exists(dir() / "out.csv"));
  std::size_t left = 0;
  for ([[maybe_unused]] auto const& e : std::filesystem::directory_iterator(dir())) ++left;
  EXPECT_EQ(left, 2u) << "only .stdout and .stderr of the test runner";
}

TEST_F(export_cmd, usage_errors_exit_2) {
  EXPECT_EQ(atb("data export --timeframe 1h").code, 2);
  EXPECT_EQ(atb("data export --symbol BTCUSDT").code, 2);
  auto bad_date = atb("data export --symbol BTCUSDT --timeframe 1h --start 2024-13-01");
  EXPECT_EQ(bad_date.code, 2);
  EXPECT_NE(bad_date.err.find("--start"), std::string::npos) << bad_date.err;
  auto empty_range = atb("data export --symbol BTCUSDT --timeframe 1h --start 2024-02-01 --end 2024-01-01");
  EXPECT_EQ(empty_range.code, 2);
  EXPECT_NE(empty_range.err.find("--end"), std::string::npos) << empty_range.err;
  write_text(dir() / "BTCUSDT-1h.csv", row(t2023));
  ASSERT_EQ(atb("data import BTCUSDT-1h.csv").code, 0);
  auto no_dir = atb("data export --symbol BTCUSDT --timeframe 1h --output missing/dir/out.csv");
  EXPECT_EQ(no_dir.code, 2);
  EXPECT_NE(no_dir.err.find("missing/dir/out.csv"), std::string::npos) << no_dir.err;
}

// ---------------------------------------------------------------------------------------
// atb-verify

TEST_F(verify_cmd, intact_cache_exits_0_and_reports_gaps_as_information) {
  fill();
  auto v = verify("--jobs 2");
  EXPECT_EQ(v.code, 0) << v.out << v.err;
  EXPECT_NE(v.out.find("3 of 3 year files intact, 0 corrupt"), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("1 missing candle"), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("GB/s with 2 jobs"), std::string::npos) << v.out;
}

TEST_F(verify_cmd, a_flipped_byte_anywhere_is_exit_1_naming_the_file) {
  fill();
  auto const files = year_files(cache());
  auto const victim = files[1];
  std::string const original = read_text(victim);
  ASSERT_GT(original.size(), 16u);
  // Offsets spread over the whole file (header, directory, every block region, last byte).
  std::vector<std::size_t> offsets;
  for (std::size_t k = 0; k < 24; ++k) offsets.push_back(k * (original.size() - 1) / 23);
  for (std::size_t k = 0; k < 8; ++k) offsets.push_back(k);
  for (std::size_t off : offsets) {
    std::string bad = original;
    bad[off] = static_cast<char>(bad[off] ^ 0x10);
    write_text(victim, bad);
    auto v = verify("--jobs 2");
    EXPECT_EQ(v.code, 1) << "flipped byte at offset " << off << " of " << original.size() << " not detected:\n" << v.out;
    EXPECT_NE(v.out.find("ERROR"), std::string::npos) << off;
    EXPECT_NE(v.out.find(victim.filename().string()), std::string::npos) << off;
  }
  write_text(victim, original);
  EXPECT_EQ(verify("").code, 0);
  // A truncated and an empty file are clean errors too.
  write_text(victim, original.substr(0, original.size() / 2));
  auto t = verify("");
  EXPECT_EQ(t.code, 1) << t.out;
  write_text(victim, "");
  auto e = verify("");
  EXPECT_EQ(e.code, 1) << e.out;
  EXPECT_NE(e.out.find(victim.filename().string()), std::string::npos) << e.out;
}

TEST_F(verify_cmd, json_is_one_valid_object_per_file_and_a_summary) {
  fill();
  auto const files = year_files(cache());
  std::string bad = read_text(files[0]);
  bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 1);
  write_text(files[0], bad);
  write_text(cache() / "market_data" / "notes \"x\".txt", "hello");
  auto v = verify("--json --jobs 1");
  EXPECT_EQ(v.code, 1) << v.err;
  simdjson::dom::parser parser;
  std::size_t n_files = 0, n_errors = 0, n_ok = 0, n_warn = 0, n_summary = 0;
  std::size_t pos = 0;
  while (pos < v.out.size()) {
    std::size_t nl = v.out.find('\n', pos);
    ASSERT_NE(nl, std::string::npos) << "every object ends with a newline";
    std::string const line = v.out.substr(pos, nl - pos);
    pos = nl + 1;
    simdjson::dom::element doc;
    auto err = parser.parse(line).get(doc);
    ASSERT_EQ(err, simdjson::SUCCESS) << "not JSON: " << line;
    std::string_view type;
    ASSERT_EQ(doc["type"].get(type), simdjson::SUCCESS) << line;
    if (type == "summary") {
      ++n_summary;
      EXPECT_EQ(doc["corrupt"].get_uint64().value(), 1u);
      EXPECT_EQ(doc["intact"].get_uint64().value(), 2u);
      EXPECT_EQ(doc["year_files"].get_uint64().value(), 3u);
      EXPECT_EQ(doc["warnings"].get_uint64().value(), 1u);
      EXPECT_EQ(std::string_view(doc["status"].get_string().value()), "problems");
      EXPECT_GE(doc["decoded_bytes_per_second"].get_double().value(), 0.0);
      continue;
    }
    EXPECT_EQ(n_summary, 0u) << "the summary comes last";
    ++n_files;
    std::string_view status = doc["status"].get_string().value();
    std::string_view path = doc["path"].get_string().value();
    EXPECT_TRUE(doc["bytes"].is_uint64()) << line;
    EXPECT_TRUE(doc["gaps"].is_uint64()) << line;
    EXPECT_TRUE(doc["errors"].is_array()) << line;
    if (status == "error") {
      ++n_errors;
      EXPECT_NE(path.find(files[0].filename().string()), std::string_view::npos);
      EXPECT_GE(doc["errors"].get_array().size(), 1u);
    } else if (status == "ok") {
      ++n_ok;
      EXPECT_EQ(std::string_view(doc["symbol"].get_string().value()).substr(3), "USDT");
      EXPECT_EQ(std::string_view(doc["interval"].get_string().value()), "1h");
      std::int64_t const year = doc["year"].get_int64().value();
      EXPECT_TRUE(year == 2023 || year == 2024) << year;
      EXPECT_GE(doc["rows"].get_uint64().value(), 1u);
    } else {
      ++n_warn;
      EXPECT_EQ(std::string_view(doc["type"].get_string().value()), "foreign");
      EXPECT_NE(path.find("notes \"x\".txt"), std::string_view::npos);
    }
  }
  EXPECT_EQ(n_files, 4u);
  EXPECT_EQ(n_errors, 1u);
  EXPECT_EQ(n_ok, 2u);
  EXPECT_EQ(n_warn, 1u);
  EXPECT_EQ(n_summary, 1u);
}

TEST_F(verify_cmd, temp_and_foreign_files_are_warnings) {
  fill();
  auto const f = year_files(cache())[0];
  write_text(f.string() + ".tmp-a1B2c3", "partial");
  std::filesystem::create_directories(cache() / "market_data" / "old");
  auto v = verify("");
  EXPECT_EQ(v.code, 0) << v.out << v.err;
  EXPECT_NE(v.out.find("WARNING"), std::string::npos) << v.out;
  EXPECT_NE(v.out.find(".tmp-a1B2c3 is a temp file"), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("old is a directory"), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("2 warnings"), std::string::npos) << v.out;
}

TEST_F(verify_cmd, usage_and_missing_cache_exit_2) {
  auto missing = verify("--cache-dir nowhere");
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("nowhere"), std::string::npos) << missing.err;
  EXPECT_EQ(verify("").code, 2) << "./cache does not exist";
  EXPECT_EQ(verify("--jobs 0 --cache-dir .").code, 2);
  EXPECT_EQ(verify("--bogus").code, 2);
  // An existing cache directory without market_data is an empty, intact cache.
  std::filesystem::create_directories(cache());
  auto empty = verify("");
  EXPECT_EQ(empty.code, 0) << empty.out << empty.err;
  EXPECT_NE(empty.out.find("no year files"), std::string::npos) << empty.out;
  // The environment rule: ATB_CACHE_DIR when there is no --cache-dir.
  EXPECT_EQ(verify("", "ATB_CACHE_DIR=nowhere").code, 2);
}

// ---------------------------------------------------------------------------------------
// cache-manager

TEST_F(cache_manager, info_describes_the_cache) {
  fill();
  auto info = atb("data cache-manager info");
  ASSERT_EQ(info.code, 0) << info.err;
  EXPECT_NE(info.out.find("cache directory: " + std::filesystem::canonical(cache()).string()), std::string::npos)
      << info.out;
  EXPECT_NE(info.out.find("year files:      3"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("symbols:         2 (BTCUSDT ETHUSDT)"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("2 symbols × 1 intervals × 2 years"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("oldest candle:   2023-12-31 21:00:00 (BTCUSDT 1h)"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("newest candle:   2024-01-01 01:00:00"), std::string::npos) << info.out;
  EXPECT_EQ(atb("data cache-manager info --cache-dir nowhere").code, 2);
}

TEST_F(cache_manager, list_prints_a_line_per_file) {
  fill();
  auto list = atb("data cache-manager list");
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_EQ(count_lines(list.out), 5u) << list.out;  // header, 3 files, total
  EXPECT_NE(list.out.find("BTCUSDT      1h       2023        2  2023-12-31 21:00:00  2023-12-31 23:00:00"),
            std::string::npos)
      << list.out;
  EXPECT_NE(list.out.find("ETHUSDT      1h       2024        2  2024-01-01 00:00:00  2024-01-01 01:00:00"),
            std::string::npos)
      << list.out;
  for (auto const& f : year_files(cache())) EXPECT_NE(list.out.find(f.filename().string()), std::string::npos);
}

TEST_F(cache_manager, clear_old_removes_only_files_older_than_the_limit) {
  fill();
  auto const files = year_files(cache());
  auto const old_time = std::filesystem::file_time_type::clock::now() - std::chrono::hours(800);
  std::filesystem::last_write_time(files[0], old_time);
  write_text(cache() / "market_data" / "user-notes.txt", "mine");
  std::filesystem::last_write_time(cache() / "market_data" / "user-notes.txt", old_time);

  auto dry = atb("data cache-manager clear-old --hours 720 --dry-run");
  ASSERT_EQ(dry.code, 0) << dry.err;
  EXPECT_NE(dry.out.find("would remove"), std::string::npos) << dry.out;
  EXPECT_TRUE(std::filesystem::exists(files[0]));

  auto clear = atb("data cache-manager clear-old --hours 720");
  ASSERT_EQ(clear.code, 0) << clear.err;
  EXPECT_NE(clear.out.find("removed 1 files older than 720 hours"), std::string::npos) << clear.out;
  EXPECT_NE(clear.out.find(files[0].filename().string()), std::string::npos) << clear.out;
  EXPECT_FALSE(std::filesystem::exists(files[0]));
  EXPECT_TRUE(std::filesystem::exists(files[1]));
  EXPECT_TRUE(std::filesystem::exists(files[2]));
  EXPECT_TRUE(std::filesystem::exists(cache() / "market_data" / "user-notes.txt")) << "never removes user files";
  EXPECT_EQ(verify("").code, 0);
}

TEST_F(cache_manager, usage_errors_exit_2) {
  fill();
  EXPECT_EQ(atb("data cache-manager clear-old").code, 2);
  EXPECT_EQ(atb("data cache-manager clear-old --hours -1").code, 2);
  EXPECT_EQ(atb("data cache-manager clear-old --hours soon").code, 2);
  EXPECT_EQ(atb("data cache-manager").code, 2);
  EXPECT_EQ(atb("data cache-manager list --cache-dir nowhere").code, 2);
}
