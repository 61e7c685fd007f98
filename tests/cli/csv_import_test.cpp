// The importer's logic without the CLI: file names, line splitting, row rules, in-file
// de-duplication, batching, and the atomic output file.
#include "atb/store/csv_import.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <unistd.h>

using namespace atb;
using namespace atb::store;

namespace {

constexpr std::int64_t hour_ms = 3'600'000;
constexpr std::int64_t t2024 = 1704067200000;

std::string row(std::int64_t t, std::string const& close = "100.00000000") {
  return std::to_string(t) + ",100.00000000,110.00000000,90.00000000," + close + ",10.00000000," +
         std::to_string(t + hour_ms - 1) + ",1000.00000000,5,4.00000000,400.00000000,0\n";
}

struct collected {
  std::vector<std::int64_t> open_times;
  std::vector<std::uint64_t> lines;
  std::size_t batches = 0;
};

csv_batch_fn collect(collected& c) {
  return [&c](kline_columns const& rows, std::vector<std::uint64_t> const& lines) -> result<void> {
    EXPECT_EQ(rows.size(), lines.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (i) {
        EXPECT_LT(rows.open_time(i - 1), rows.open_time(i)) << "batches are strictly ascending";
      }
      c.open_times.push_back(rows[field::open_time][i]);
      c.lines.push_back(lines[i]);
    }
    ++c.batches;
    return {};
  };
}

}  // namespace

TEST(csv_file_name, symbol_and_interval_from_archive_names) {
  auto a = parse_csv_file_name("BTCUSDT-1h.csv");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->symbol.view(), "BTCUSDT");
  EXPECT_EQ(a->interval, interval::h1);
  auto b = parse_csv_file_name("/data/x-y/ETHBTC-1mo-2024-01.csv");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->symbol.view(), "ETHBTC");
  EXPECT_EQ(b->interval, interval::mo1);
  auto c = parse_csv_file_name("BTCUSDT-1m-2021-11-27.csv");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->interval, interval::m1);
  auto d = parse_csv_file_name("BTCUSDT-1d-2023-01_2025-09-mixed-units.csv");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->interval, interval::d1);
}

TEST(csv_file_name, unparseable_names_are_one_sentence_naming_the_file) {
  for (char const* bad : {"data.csv", "btcusdt-1h.csv", "BTCUSDT-7h.csv", "BTCUSDT-1h.txt", "BTCUSDT-1h.csv.zip",
                          "-1h.csv", "BTC.USDT-1h.csv", ".csv", "BTCUSDT_1h.csv"}) {
    auto r = parse_csv_file_name(bad);
    ASSERT_FALSE(r) << bad;
    std::string const name = std::filesystem::path(bad).filename().string();
    EXPECT_NE(r.error().message.find(name), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("--symbol and --timeframe"), std::string::npos) << r.error().message;
  }
}

TEST(csv_line_splitter, chunk_boundaries_do_not_matter) {
  std::string const text = "a,b\r\n\nccc\nlast";
  std::vector<std::string> whole, bytewise;
  csv_line_splitter s1, s2;
  auto into = [](std::vector<std::string>& v) {
    return [&v](std::string_view l, bool too_long) {
      EXPECT_FALSE(too_long);
      v.emplace_back(l);
    };
  };
  s1.feed(text, into(whole));
  s1.finish(into(whole));
  for (char ch : text) s2.feed(std::string_view(&ch, 1), into(bytewise));
  s2.finish(into(bytewise));
  EXPECT_EQ(whole, (std::vector<std::string>{"a,b\r", "", "ccc", "last"}));
  EXPECT_EQ(bytewise, whole);
}

TEST(csv_line_splitter, long_lines_are_flagged_and_bounded) {
  std::string const long_line(3 * csv_line_splitter::max_line_bytes, 'x');
  for (std::size_t chunk : {std::size_t{7}, std::size_t{1000}, long_line.size() + 10}) {
    std::string const text = long_line + "\nok\n";
    std::vector<std::pair<std::size_t, bool>> seen;
    csv_line_splitter s;
    auto f = [&](std::string_view l, bool too_long) { seen.emplace_back(l.size(), too_long); };
    for (std::size_t i = 0; i < text.size(); i += chunk) s.feed(std::string_view(text).substr(i, chunk), f);
    s.finish(f);
    ASSERT_EQ(seen.size(), 2u) << chunk;
    EXPECT_TRUE(seen[0].second);
    EXPECT_LE(seen[0].first, csv_line_splitter::max_line_bytes);
    EXPECT_EQ(seen[1], (std::pair<std::size_t, bool>{2, false}));
  }
}

TEST(csv_row_parser, header_only_first_and_bom) {
  kline_columns k;
  std::string why;
  csv_row_parser p(interval::h1);
  EXPECT_EQ(p.parse("", k, why), csv_line_result::blank);
  EXPECT_EQ(p.parse("\xEF\xBB\xBFopen_time,open,high", k, why), csv_line_result::header);
  EXPECT_EQ(p.parse(row(t2024), k, why), csv_line_result::row);
  EXPECT_EQ(p.parse("open_time,open", k, why), csv_line_result::bad);
  EXPECT_NE(why.find("header"), std::string::npos) << why;
  EXPECT_EQ(k.size(), 1u);
}

TEST(csv_row_parser, invariants_name_the_field) {
  struct bad_case {
    std::string line;
    std::string field;
  };
  std::string const t = std::to_string(t2024), ct = std::to_string(t2024 + hour_ms - 1);
  std::vector<bad_case> cases = {
      {t + ",100,110,90,100,10," + std::to_string(t2024 - 1) + ",1000,5,4,400,0", "field 7 (close_time)"},
      {t + ",100,110,90,100,10," + std::to_string(t2024 + hour_ms) + ",1000,5,4,400,0", "1h candle"},
      {t + ",100,110,120,100,10," + ct + ",1000,5,4,400,0", "field 4 (low)"},
      {t + ",111,110,90,100,10," + ct + ",1000,5,4,400,0", "field 2 (open)"},
      {t + ",100,110,90,89,10," + ct + ",1000,5,4,400,0", "field 5 (close)"},
      {t + ",100,110,90,100,-1," + ct + ",1000,5,0,400,0", "field 6 (volume)"},
      {t + ",100,110,90,100,10," + ct + ",1000,-5,4,400,0", "field 9 (trades)"},
      {t + ",100,110,90,100,10," + ct + ",1000,5,11,400,0", "field 10 (taker_buy_base_volume)"},
      {t + ",100,110,90,100,10," + ct + ",1000,5,4,1001,0", "field 11 (taker_buy_quote_volume)"},
      {t + ",100,110,90,x,10," + ct + ",1000,5,4,400,0", "field 5 (close)"},
      {t + ",100,110", "fields"},
  };
  for (auto const& c : cases) {
    kline_columns k;
    std::string why;
    csv_row_parser p(interval::h1);
    EXPECT_EQ(p.parse(c.line, k, why), csv_line_result::bad) << c.line;
    EXPECT_NE(why.find(c.field), std::string::npos) << c.line << " -> " << why;
    EXPECT_EQ(k.size(), 0u) << "a rejected row leaves no trace";
    for (auto const& col : k.cols) EXPECT_TRUE(col.empty());
  }
  // The real quirk of an empty candle: close time == open time is kept.
  kline_columns k;
  std::string why;
  csv_row_parser p(interval::h4);
  EXPECT_EQ(p.parse("1504713600000,4619.43000000,4619.43000000,4619.43000000,4619.43000000,0.00000000,1504713600000,"
                    "0.00000000,0,0.00000000,0.00000000,0",
                    k, why),
            csv_line_result::row)
      << why;
}

TEST(csv_import_bytes, duplicates_and_conflicts_inside_a_file) {
  std::string const text = row(t2024 + hour_ms) + row(t2024) + row(t2024 + hour_ms) + row(t2024, "101.00000000");
  csv_import_report rep;
  collected c;
  ASSERT_TRUE(import_csv_bytes(text, "x.csv", interval::h1, {}, rep, collect(c)));
  EXPECT_EQ(rep.rows_read, 4u);
  EXPECT_EQ(rep.duplicates, 1u);
  EXPECT_EQ(rep.conflicts, 1u);
  ASSERT_EQ(rep.problems.size(), 1u);
  EXPECT_NE(rep.problems[0].find("x.csv:4:"), std::string::npos) << rep.problems[0];
  EXPECT_NE(rep.problems[0].find("line 2"), std::string::npos) << rep.problems[0];
  EXPECT_NE(rep.problems[0].find("close 100.00000000 vs 101.00000000"), std::string::npos) << rep.problems[0];
  EXPECT_EQ(c.open_times, (std::vector<std::int64_t>{t2024, t2024 + hour_ms}));
  EXPECT_EQ(c.lines, (std::vector<std::uint64_t>{2, 1}));
}

TEST(csv_import_bytes, sorted_input_is_flushed_per_year_and_batches_are_bounded) {
  std::string text;
  for (int h = -5; h < 5; ++h) text += row(t2024 + h * hour_ms);
  csv_import_report rep;
  collected c;
  ASSERT_TRUE(import_csv_bytes(text, "x.csv", interval::h1, {}, rep, collect(c)));
  EXPECT_EQ(c.batches, 2u) << "one batch per year";
  EXPECT_EQ(c.open_times.size(), 10u);

  csv_import_options small;
  small.batch_rows = 3;
  csv_import_report rep2;
  collected c2;
  ASSERT_TRUE(import_csv_bytes(text, "x.csv", interval::h1, small, rep2, collect(c2)));
  EXPECT_EQ(c2.batches, 4u);  // 3+2 rows in 2023, 3+2 in 2024
  EXPECT_EQ(c2.open_times, c.open_times);
}

TEST(csv_import_bytes, problems_beyond_the_limit_are_counted) {
  std::string text;
  for (int i = 0; i < 30; ++i) text += "garbage" + std::to_string(i) + "\n";
  csv_import_options opt;
  opt.max_reported = 5;
  csv_import_report rep;
  collected c;
  ASSERT_TRUE(import_csv_bytes("1," + text, "x.csv", interval::h1, opt, rep, collect(c)));
  EXPECT_EQ(rep.bad_rows, 30u);  // line 1 "1,garbage0" and 29 text lines after it
  EXPECT_EQ(rep.problems.size(), 5u);
  EXPECT_EQ(rep.problems_not_shown, 25u);
  EXPECT_TRUE(rep.has_problems());
}

TEST(csv_import_bytes, a_batch_error_stops_the_import) {
  csv_import_report rep;
  std::size_t calls = 0;
  csv_import_options opt;
  opt.batch_rows = 1;
  auto r = import_csv_bytes(row(t2024) + row(t2024 + hour_ms) + row(t2024 + 2 * hour_ms), "x.csv", interval::h1, opt,
                            rep, [&](kline_columns const&, std::vector<std::uint64_t> const&) -> result<void> {
                              ++calls;
                              return error{store_errc::io_error, "disk full"};
                            });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "disk full");
  EXPECT_EQ(calls, 1u);
}

TEST(atomic_output_file, commit_publishes_and_abandon_leaves_nothing) {
  auto const dir = std::filesystem::temp_directory_path() / ("atb-aof-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto const path = dir / "out.csv";
  {
    auto f = atomic_output_file::create(path);
    ASSERT_TRUE(f);
    ASSERT_TRUE(f->write("abc"));
    EXPECT_FALSE(std::filesystem::exists(path)) << "nothing visible before commit";
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir)) << "an abandoned file leaves no temp file";
  {
    std::ofstream(path) << "old";
    auto f = atomic_output_file::create(path);
    ASSERT_TRUE(f);
    ASSERT_TRUE(f->write("new "));
    ASSERT_TRUE(f->write("content"));
    ASSERT_TRUE(f->commit());
  }
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "new content");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator{}), 1);
  EXPECT_FALSE(atomic_output_file::create(dir / "missing" / "x.csv"));
  EXPECT_FALSE(atomic_output_file::create(dir));
  std::filesystem::remove_all(dir);
}
