#include "atb/store/cache.hpp"
#include "store_test_util.hpp"

#include <algorithm>

namespace atb::store::test {
namespace {

/// Rows of two consecutive years joined (the end of 2021 and the start of 2022, 1h).
kline_columns two_years() {
  kline_columns a = synth_year(interval::h1, 2021, {.rows = 9000, .seed = 3});  // reaches 2022? no: 8760 h in 2021
  kline_columns b = synth_year(interval::h1, 2022, {.rows = 300, .seed = 4});
  kline_columns all;
  all.scale = a.scale;
  for (std::size_t i = a.size() - 200; i < a.size(); ++i) all.push_row(a, i);
  for (std::size_t i = 0; i < b.size(); ++i) all.push_row(b, i);
  return all;
}

kline_columns shuffled(kline_columns const& in, std::uint32_t seed) {
  std::vector<std::size_t> idx(in.size());
  for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::shuffle(idx.begin(), idx.end(), std::mt19937(seed));
  kline_columns out;
  out.scale = in.scale;
  for (std::size_t i : idx) out.push_row(in, i);
  return out;
}

TEST(Cache, MergeSplitsByYearAndLoadJoinsYears) {
  temp_dir d;
  cache c(d.path);
  symbol const s = sym("ETHUSDT");
  kline_columns const all = two_years();
  auto rep = c.merge(s, interval::h1, shuffled(all, 9));
  ASSERT_TRUE(rep) << rep.error().message;
  EXPECT_EQ(rep->added, all.size());
  EXPECT_EQ(rep->duplicates, 0u);
  EXPECT_EQ(rep->conflicts, 0u);
  EXPECT_EQ(rep->files_written, 2u);

  auto f21 = c.open(year_key{s, interval::h1, 2021});
  ASSERT_TRUE(f21 && *f21);
  EXPECT_EQ((*f21)->header().rows, 200u);
  auto none = c.open(year_key{s, interval::h1, 2019});
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);

  // everything, in order, across the year boundary
  auto full = c.load(s, interval::h1, year_start(2021), year_end(2022));
  ASSERT_TRUE(full) << full.error().message;
  expect_same(all, *full);

  // a range inside, only two fields
  timestamp_ms const from = all.open_time(150), to = all.open_time(260);
  auto part = c.load(s, interval::h1, from, to, field_mask{field::close, field::volume});
  ASSERT_TRUE(part) << part.error().message;
  ASSERT_EQ(part->size(), 110u);
  EXPECT_TRUE((*part)[field::open_time].empty());
  EXPECT_TRUE((*part)[field::high].empty());
  for (std::size_t i = 0; i < 110; ++i) {
    ASSERT_EQ((*part)[field::close][i], all[field::close][150 + i]);
    ASSERT_EQ((*part)[field::volume][i], all[field::volume][150 + i]);
  }
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>((*part)[field::close].data()) % 64, 0u);

  auto empty = c.load(s, interval::h1, year_start(2010), year_start(2011));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  auto other = c.load(sym("SOLUSDT"), interval::h1, year_start(2021), year_end(2022));
  ASSERT_TRUE(other);
  EXPECT_TRUE(other->empty());
}

TEST(Cache, MergeDeduplicatesAndRewritesOnlyChangedFiles) {
  temp_dir d;
  cache c(d.path);
  symbol const s = sym("BTCUSDT");
  kline_columns const all = two_years();
  ASSERT_TRUE(c.merge(s, interval::h1, all));
  fs::path const p21 = year_file_path(d.path, year_key{s, interval::h1, 2021});
  fs::path const p22 = year_file_path(d.path, year_key{s, interval::h1, 2022});
  std::string const before21 = read_file(p21);

  // the same rows again: all duplicates, nothing written
  auto again = c.merge(s, interval::h1, shuffled(all, 1));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->added, 0u);
  EXPECT_EQ(again->duplicates, all.size());
  EXPECT_EQ(again->files_written, 0u);

  // new rows in 2022 only (continuing the series) plus some duplicates: only 2022 is rewritten
  kline_columns more = synth_year(interval::h1, 2022, {.rows = 400, .seed = 4});  // first 300 equal `all`'s 2022 rows
  auto rep = c.merge(s, interval::h1, more);
  ASSERT_TRUE(rep) << rep.error().message;
  EXPECT_EQ(rep->added, 100u);
  EXPECT_EQ(rep->duplicates, 300u);
  EXPECT_EQ(rep->files_written, 1u);
  EXPECT_EQ(read_file(p21), before21);
  auto f22 = year_file::open(p22).value();
  EXPECT_EQ(f22.header().rows, 400u);
  EXPECT_TRUE(f22.verify());
}

TEST(Cache, ConflictsAreReportedAndTheStoredRowKept) {
  temp_dir d;
  cache c(d.path);
  symbol const s = sym("BNBUSDT");
  kline_columns const rows = synth_year(interval::d1, 2020, {.rows = 50});
  ASSERT_TRUE(c.merge(s, interval::d1, rows));

  kline_columns changed = rows;
  changed[field::close][7] += 1;
  changed[field::low][7] = std::min(changed[field::low][7], changed[field::close][7]);
  changed[field::volume][8] += 100;
  auto rep = c.merge(s, interval::d1, changed);
  ASSERT_TRUE(rep) << rep.error().message;
  EXPECT_EQ(rep->conflicts, 2u);
  EXPECT_EQ(rep->duplicates, 48u);
  EXPECT_EQ(rep->added, 0u);
  EXPECT_EQ(rep->files_written, 0u);
  ASSERT_EQ(rep->conflict_examples.size(), 2u);
  EXPECT_NE(rep->conflict_examples[0].find(format_utc(rows.open_time(7))), std::string::npos)
      << rep->conflict_examples[0];
  EXPECT_NE(rep->conflict_examples[0].find("kept the stored row"), std::string::npos);

  auto back = c.load(s, interval::d1, year_start(2020), year_end(2020));
  ASSERT_TRUE(back);
  expect_same(rows, *back);

  // two different rows for the same open time inside one batch: the first one wins
  temp_dir d2;
  cache c2(d2.path);
  kline_columns batch = rows;
  batch.push_row(changed, 7);
  auto rep2 = c2.merge(s, interval::d1, batch);
  ASSERT_TRUE(rep2);
  EXPECT_EQ(rep2->conflicts, 1u);
  EXPECT_EQ(rep2->added, rows.size());
}

TEST(Cache, MarkCompleteYearsAndList) {
  temp_dir d;
  cache c(d.path);
  symbol const s = sym("XRPUSDT");
  kline_columns const y20 = synth_year(interval::mo1, 2020, {.rows = 12});
  kline_columns const y21 = synth_year(interval::mo1, 2021, {.rows = 5});
  merge_options mo;
  mo.mark_complete_years = true;
  mo.write.written_at = year_start(2023);
  ASSERT_TRUE(c.merge(s, interval::mo1, y20, mo));
  ASSERT_TRUE(c.merge(s, interval::mo1, y21, mo));
  ASSERT_TRUE(c.merge(sym("BTCUSDT"), interval::d1, synth_year(interval::d1, 2019, {.rows = 3})));

  auto list = c.list();
  ASSERT_TRUE(list) << list.error().message;
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ(key_string((*list)[0].header.key), "BTCUSDT_1d_2019");
  EXPECT_EQ(key_string((*list)[1].header.key), "XRPUSDT_1M_2020");
  EXPECT_EQ(key_string((*list)[2].header.key), "XRPUSDT_1M_2021");
  EXPECT_FALSE((*list)[0].header.complete()) << "import-style merges leave the flag off";
  EXPECT_TRUE((*list)[1].header.complete());
  EXPECT_FALSE((*list)[2].header.complete()) << "5 of 12 months";
  EXPECT_EQ((*list)[1].header.written_at, year_start(2023));
  for (auto const& e : *list) {
    EXPECT_EQ(e.bytes, fs::file_size(e.path));
    EXPECT_GT(e.mtime_ms, 0);
  }

  // unreadable files and temp leftovers are skipped by list()
  write_file(market_data_dir(d.path) / (std::string(64, 'a') + ".atb"), "garbage");
  write_file(market_data_dir(d.path) / (file_name(year_key{s, interval::mo1, 2020}) + ".tmp-abcdef"), "x");
  auto list2 = c.list();
  ASSERT_TRUE(list2);
  EXPECT_EQ(list2->size(), 3u);
  cache empty(d.path / "nothing-here");
  auto none = empty.list();
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(Cache, MergeRescalesIncomingRowsToTheStoredScale) {
  temp_dir d;
  cache c(d.path);
  symbol const s = sym("SOLUSDT");
  kline_columns const rows = synth_year(interval::h4, 2021, {.rows = 20});
  ASSERT_TRUE(c.merge(s, interval::h4, rows));
  // the same values at scale 10 for prices: duplicates, not conflicts
  kline_columns fine = rows;
  for (field f : {field::open, field::high, field::low, field::close}) {
    for (auto& x : fine[f]) x *= 100;
    fine.scale[static_cast<std::size_t>(f)] = 10;
  }
  auto rep = c.merge(s, interval::h4, fine);
  ASSERT_TRUE(rep) << rep.error().message;
  EXPECT_EQ(rep->duplicates, 20u);
  EXPECT_EQ(rep->conflicts, 0u);
  // a value with more decimals than the stored scale cannot be stored
  kline_columns finer = fine;
  finer[field::open_time][0] = next_open(interval::h4, rows.open_time(rows.size() - 1)).ms;
  finer[field::close][0] += 1;
  auto bad = c.merge(s, interval::h4, finer);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, make_error_code(store_errc::invalid_input));
}

TEST(Cache, CorruptStoredFileStopsTheMerge) {
  temp_dir d;
  cache c(d.path);
  symbol const s = sym("ETHUSDT");
  kline_columns const rows = synth_year(interval::h1, 2020, {.rows = 30});
  ASSERT_TRUE(c.merge(s, interval::h1, rows));
  fs::path const p = year_file_path(d.path, year_key{s, interval::h1, 2020});
  std::string b = read_file(p);
  b[b.size() - 3] ^= 0x10;
  write_file(p, b);
  auto rep = c.merge(s, interval::h1, synth_year(interval::h1, 2020, {.rows = 40}));
  ASSERT_FALSE(rep);
  EXPECT_EQ(rep.error().code, make_error_code(store_errc::checksum_mismatch));
  EXPECT_EQ(read_file(p), b) << "a damaged file is never silently replaced";
}

}  // namespace
}  // namespace atb::store::test
