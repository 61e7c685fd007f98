#include "store_test_util.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <random>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace atb::store::test {
namespace {

year_key key(interval iv, int year, std::string_view s = "BTCUSDT") { return year_key{sym(s), iv, year}; }

kline_columns round_trip(year_key const& k, kline_columns const& rows, write_options const& wo = {}) {
  auto bytes = encode_year_file(k, rows, wo);
  EXPECT_TRUE(bytes) << (bytes ? "" : bytes.error().message);
  auto f = year_file::from_bytes(*bytes, file_name(k));
  EXPECT_TRUE(f) << (f ? "" : f.error().message);
  kline_columns out;
  auto r = f->read(field_mask::all(), out);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  auto v = f->verify();
  EXPECT_TRUE(v) << (v ? "" : v.error().message);
  return out;
}

TEST(YearFileNames, KeyAndSha256FileName) {
  year_key const k = key(interval::h1, 2023);
  EXPECT_EQ(key_string(k), "BTCUSDT_1h_2023");
  EXPECT_EQ(file_name(k), "9274aafe30b180697fedb6116dc6a031c6994ecb4dbdb52cf123b7331d5ce55d.atb");
  EXPECT_EQ(year_file_path("c", k), fs::path("c") / "market_data" / file_name(k));
  EXPECT_EQ(key_string(key(interval::mo1, 2020, "ETHUSDT")), "ETHUSDT_1M_2020");
}

TEST(YearFileRoundTrip, EveryIntervalWithGapsAndIrregularCloses) {
  for (interval iv : all_intervals) {
    SCOPED_TRACE(std::string(to_string(iv)));
    synth_options o;
    o.rows = 400;
    o.gap_every = 37;
    o.irregular_every = 53;
    o.seed = static_cast<std::uint32_t>(iv) + 7;
    kline_columns const rows = synth_year(iv, 2021, o);
    ASSERT_GT(rows.size(), 0u);
    year_key const k = key(iv, 2021);
    kline_columns const back = round_trip(k, rows);
    expect_same(rows, back);

    auto f = year_file::from_bytes(encode_year_file(k, rows).value(), file_name(k)).value();
    EXPECT_EQ(f.header().rows, rows.size());
    EXPECT_EQ(f.header().first_open, rows.open_time(0));
    EXPECT_EQ(f.header().last_open, rows.open_time(rows.size() - 1));
    EXPECT_EQ(f.header().last_close, rows.close_time(rows.size() - 1));
    EXPECT_EQ(f.header().version, format_version);
    EXPECT_TRUE(f.header().key == k);
    auto rep = f.verify().value();
    EXPECT_EQ(rep.gaps, (rows.size() - 1) / 37) << "one missing candle after every 37 rows";
    EXPECT_EQ(rep.decoded_bytes, rows.size() * 11 * 8);
  }
}

TEST(YearFileRoundTrip, WeeksOpenOnMondaysAndMonthsFollowTheCalendar) {
  kline_columns const w = synth_year(interval::w1, 2024, {.rows = 60});
  ASSERT_EQ(w.size(), 53u);  // 2024-01-01 is a Monday and 2024 a leap year: 53 Mondays
  EXPECT_EQ(format_utc(w.open_time(0)), "2024-01-01 00:00:00");
  EXPECT_EQ(format_utc(w.open_time(52)), "2024-12-30 00:00:00");
  expect_same(w, round_trip(key(interval::w1, 2024), w));

  kline_columns const m = synth_year(interval::mo1, 2024, {.rows = 20});
  ASSERT_EQ(m.size(), 12u);
  EXPECT_EQ(format_utc(m.open_time(1)), "2024-02-01 00:00:00");
  EXPECT_EQ(format_utc(m.close_time(1)), "2024-02-29 23:59:59.999");
  expect_same(m, round_trip(key(interval::mo1, 2024), m));

  // a 3d history anchored one day off the epoch grid, with gaps
  kline_columns const d3 = synth_year(interval::d3, 2022, {.rows = 200, .gap_every = 5, .start_offset_ms = ms_per_day});
  expect_same(d3, round_trip(key(interval::d3, 2022), d3));
}

TEST(YearFileRoundTrip, ScalesOtherThanEight) {
  for (auto [p, v, q] : {std::array<unsigned, 3>{2, 5, 7}, {12, 10, 18}, {0, 0, 0}, {8, 3, 11}}) {
    SCOPED_TRACE(std::to_string(p) + "/" + std::to_string(v) + "/" + std::to_string(q));
    synth_options o;
    o.price_scale = p;
    o.volume_scale = v;
    o.quote_scale = q;
    kline_columns const rows = synth_year(interval::h4, 2019, o);
    expect_same(rows, round_trip(key(interval::h4, 2019), rows));
  }
}

TEST(YearFileRoundTrip, EmptyYearAndSingleRow) {
  kline_columns empty;
  auto back = round_trip(key(interval::d1, 2020), empty);
  EXPECT_EQ(back.size(), 0u);
  kline_columns const one = synth_year(interval::d1, 2020, {.rows = 1});
  expect_same(one, round_trip(key(interval::d1, 2020), one));
}

TEST(YearFileRoundTrip, ZeroLengthPlaceholderCandleIsValid) {
  // Binance serves such candles (ETHUSDT 4h 2017-09-06 16:00: close time == open time, no volume)
  kline_columns rows = synth_year(interval::h4, 2017, {.rows = 30});
  rows[field::close_time][10] = rows[field::open_time][10];
  for (field f : {field::volume, field::quote_volume, field::trades, field::taker_buy_base_volume,
                  field::taker_buy_quote_volume})
    rows[f][10] = 0;
  for (field f : {field::open, field::high, field::low}) rows[f][10] = rows[field::close][10];
  expect_same(rows, round_trip(key(interval::h4, 2017), rows));
}

TEST(YearFileRoundTrip, ExtremeValuesAreStoredExactlyEvenWhenInvalid) {
  kline_columns rows = synth_year(interval::m1, 2020, {.rows = 50});
  rows[field::volume][3] = std::numeric_limits<std::int64_t>::max();
  rows[field::volume][4] = std::numeric_limits<std::int64_t>::min();
  rows[field::quote_volume][5] = std::numeric_limits<std::int64_t>::min();
  rows[field::high][6] = std::numeric_limits<std::int64_t>::min();
  rows[field::trades][7] = -5;
  rows[field::close_time][8] = rows[field::open_time][8];
  year_key const k = key(interval::m1, 2020);
  auto f = year_file::from_bytes(encode_year_file(k, rows).value(), file_name(k)).value();
  kline_columns back;
  ASSERT_TRUE(f.read(field_mask::all(), back));
  expect_same(rows, back);
  auto v = f.verify();
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, make_error_code(store_errc::invariant_violation));
}

TEST(YearFileRoundTrip, PartialColumnDecode) {
  kline_columns const rows = synth_year(interval::h1, 2022, {.rows = 300, .gap_every = 11});
  year_key const k = key(interval::h1, 2022);
  auto f = year_file::from_bytes(encode_year_file(k, rows).value(), file_name(k)).value();
  for (field want : {field::close, field::taker_buy_quote_volume, field::close_time, field::trades, field::high}) {
    SCOPED_TRACE(std::string(to_string(want)));
    kline_columns out;
    ASSERT_TRUE(f.read(field_mask{want}, out));
    for (std::size_t c = 0; c < field_count; ++c) {
      if (static_cast<field>(c) == want) {
        ASSERT_EQ(out.cols[c].size(), rows.size());
        EXPECT_TRUE(std::equal(out.cols[c].begin(), out.cols[c].end(), rows.cols[c].begin()));
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(out.cols[c].data()) % 64, 0u);
      } else {
        EXPECT_TRUE(out.cols[c].empty()) << to_string(static_cast<field>(c));
      }
      EXPECT_EQ(out.scale[c], rows.scale[c]);
    }
  }
  // one kline_columns reused across masks and files of different sizes
  kline_columns reuse;
  ASSERT_TRUE(f.read(field_mask::all(), reuse));
  expect_same(rows, reuse);
  ASSERT_TRUE(f.read(field_mask{field::high}, reuse));
  EXPECT_EQ(reuse.size(), rows.size());
  for (std::size_t c = 0; c < field_count; ++c)
    EXPECT_EQ(reuse.cols[c].empty(), static_cast<field>(c) != field::high) << to_string(static_cast<field>(c));
  kline_columns const small = synth_year(interval::h1, 2022, {.rows = 7, .seed = 99});
  auto g = year_file::from_bytes(encode_year_file(k, small).value(), file_name(k)).value();
  ASSERT_TRUE(g.read(field_mask::all(), reuse));
  expect_same(small, reuse);
  ASSERT_TRUE(f.read(field_mask::all(), reuse));
  expect_same(rows, reuse);

  kline_columns two;
  ASSERT_TRUE(f.read(field_mask{field::open_time, field::volume}, two));
  EXPECT_EQ(two.size(), rows.size());
  EXPECT_TRUE(two[field::open].empty());
}

// ------------------------------------------------------------------ read_into

/// read_into's values for rows [first, first + count) of `fields`, as int64 and as double,
/// checked against read() of the same file (the reference decoder).
void expect_read_into_matches(year_file const& f, std::vector<field> const& fields, std::size_t first,
                              std::size_t count) {
  SCOPED_TRACE("rows " + std::to_string(first) + " + " + std::to_string(count));
  kline_columns ref;
  field_mask m;
  for (field x : fields) m = m | field_mask{x};
  ASSERT_TRUE(f.read(m, ref));
  std::vector<aligned_vector<std::int64_t>> i64(fields.size(), aligned_vector<std::int64_t>(count, 0x5a5a));
  std::vector<aligned_vector<double>> f64(fields.size(), aligned_vector<double>(count, -1.5));
  std::vector<year_file::column_target> t;
  for (std::size_t j = 0; j < fields.size(); ++j) {
    t.push_back({fields[j], i64[j], {}});
    t.push_back({fields[j], {}, f64[j]});
  }
  auto r = f.read_into(first, count, t);
  ASSERT_TRUE(r) << r.error().message;
  for (std::size_t j = 0; j < fields.size(); ++j) {
    SCOPED_TRACE(std::string(to_string(fields[j])));
    auto const& want = ref[fields[j]];
    ASSERT_EQ(want.size(), f.header().rows);
    for (std::size_t i = 0; i < count; ++i) {
      ASSERT_EQ(i64[j][i], want[first + i]) << "row " << first + i;
      ASSERT_EQ(f64[j][i], static_cast<double>(want[first + i])) << "row " << first + i;
    }
  }
}

/// Whole file, single rows at both ends, and ranges around the fused decoder's blocks of
/// 512 rows.
void expect_read_into_matches_everywhere(year_file const& f, std::vector<field> const& fields) {
  std::size_t const n = f.header().rows;
  expect_read_into_matches(f, fields, 0, n);
  if (n == 0) return;
  expect_read_into_matches(f, fields, 0, 1);
  expect_read_into_matches(f, fields, n - 1, 1);
  for (std::size_t first : {std::size_t{1}, std::size_t{300}, std::size_t{511}, std::size_t{512}, std::size_t{513},
                            std::size_t{1023}, std::size_t{1500}})
    if (first < n)
      for (std::size_t count : {std::size_t{1}, std::size_t{2}, std::size_t{511}, std::size_t{1025}, n - first})
        if (count <= n - first) expect_read_into_matches(f, fields, first, count);
  expect_read_into_matches(f, fields, n, 0);
}

std::vector<field> const bar_fields{field::open_time, field::close_time, field::open, field::high, field::low,
                                    field::close};

TEST(YearFileReadInto, MatchesReadForEveryIntervalAndColumn) {
  for (interval iv : all_intervals) {
    SCOPED_TRACE(std::string(to_string(iv)));
    year_key const k = key(iv, 2021);
    kline_columns const rows = synth_year(iv, 2021, {.rows = 2100, .gap_every = 37, .irregular_every = 53, .seed = 5});
    auto f = year_file::from_bytes(encode_year_file(k, rows).value(), file_name(k)).value();
    expect_read_into_matches_everywhere(f, bar_fields);  // the fused decoder (generic for 1M)
    expect_read_into_matches(f, {field::volume, field::trades, field::taker_buy_quote_volume, field::close}, 0,
                             rows.size());  // through read()
    for (field x : bar_fields) expect_read_into_matches(f, {x}, rows.size() / 3, rows.size() / 2);
  }
}

TEST(YearFileReadInto, GaplessYearsScalesAndDivisors) {
  // A full gapless year of 1m candles (time residuals of width 0) with prices on a 0.01
  // tick (scale 8: a divisor of 10^6), then the same at other scales.
  year_key const k = key(interval::m1, 2024);
  kline_columns const rows = synth_year(interval::m1, 2024, {.rows = 600'000});
  ASSERT_EQ(rows.size(), 527'040u);  // 366 days
  auto f = year_file::from_bytes(encode_year_file(k, rows).value(), file_name(k)).value();
  std::size_t const n = rows.size();
  for (auto [first, count] : {std::pair<std::size_t, std::size_t>{0, n}, {511, 2}, {n / 2, 1000}, {n - 1, 1}}) {
    expect_read_into_matches(f, bar_fields, first, count);
    expect_read_into_matches(f, {field::close}, first, count);
  }
  for (auto [p, v, q] : {std::array<unsigned, 3>{0, 0, 0}, {2, 5, 7}, {12, 10, 18}}) {
    SCOPED_TRACE(std::to_string(p));
    kline_columns const r =
        synth_year(interval::h1, 2023, {.rows = 3000, .price_scale = p, .volume_scale = v, .quote_scale = q});
    year_key const kh = key(interval::h1, 2023);
    auto g = year_file::from_bytes(encode_year_file(kh, r).value(), file_name(kh)).value();
    expect_read_into_matches_everywhere(g, bar_fields);
    EXPECT_EQ(g.scales(), r.scale);
  }
}

TEST(YearFileReadInto, RandomAndExtremeValuesDecodeAsRead) {
  // Invalid rows (random prices and times, int64 extremes) are stored exactly; read_into
  // must wrap exactly as read() does. Doubles above 2^51 take the scalar conversion.
  year_key const k = key(interval::m5, 2019);
  kline_columns rows = synth_year(interval::m5, 2019, {.rows = 5000, .gap_every = 3});
  std::mt19937_64 rng(11);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (field x : {field::open, field::high, field::low, field::close})
      rows[x][i] = i % 7 == 0 ? static_cast<std::int64_t>(rng()) : static_cast<std::int64_t>(rng() % 4'000'000'000);
    rows[field::close_time][i] = static_cast<std::int64_t>(rng());
  }
  rows[field::close][100] = std::numeric_limits<std::int64_t>::max();
  rows[field::open][101] = std::numeric_limits<std::int64_t>::min();
  rows[field::close][2000] = std::int64_t{1} << 51;
  rows[field::close][2001] = -(std::int64_t{1} << 51);
  rows[field::close][2002] = (std::int64_t{1} << 51) - 1;
  auto f = year_file::from_bytes(encode_year_file(k, rows).value(), file_name(k)).value();
  kline_columns back;
  ASSERT_TRUE(f.read(field_mask::all(), back));
  expect_same(rows, back);
  expect_read_into_matches_everywhere(f, bar_fields);
}

TEST(YearFileReadInto, EmptyAndOneRowYears) {
  for (std::size_t n : {std::size_t{0}, std::size_t{1}}) {
    year_key const k = key(interval::h1, 2020);
    kline_columns const rows = synth_year(interval::h1, 2020, {.rows = n});
    auto f = year_file::from_bytes(encode_year_file(k, rows).value(), file_name(k)).value();
    expect_read_into_matches_everywhere(f, bar_fields);
    EXPECT_FALSE(f.read_into(0, n + 1, {}));
  }
}

TEST(YearFileReadInto, ColumnsOfWidthZero) {
  // All prices 0 and a gapless grid with regular closes: every bar column is stored as
  // an empty payload (no byte plane at all).
  year_key const k = key(interval::m15, 2021);
  kline_columns rows = synth_year(interval::m15, 2021, {.rows = 1500});
  for (field x : {field::open, field::high, field::low, field::close})
    std::fill(rows[x].begin(), rows[x].end(), 0);
  auto f = year_file::from_bytes(encode_year_file(k, rows).value(), file_name(k)).value();
  expect_read_into_matches_everywhere(f, bar_fields);
  aligned_vector<double> c(rows.size(), 1.0);
  std::vector<year_file::column_target> const t{{field::close, {}, c}};
  ASSERT_TRUE(f.read_into(0, rows.size(), t));
  EXPECT_TRUE(std::all_of(c.begin(), c.end(), [](double x) { return x == 0.0; }));
}

TEST(YearFileReadInto, RejectsBadRangesAndTargets) {
  year_key const k = key(interval::h1, 2022);
  kline_columns const rows = synth_year(interval::h1, 2022, {.rows = 100});
  auto f = year_file::from_bytes(encode_year_file(k, rows).value(), file_name(k)).value();
  aligned_vector<std::int64_t> a(10, 7);
  aligned_vector<double> d(10, 7);
  auto invalid = [&](std::size_t first, std::size_t count, std::vector<year_file::column_target> t) {
    auto r = f.read_into(first, count, t);
    EXPECT_FALSE(r);
    if (!r) {
      EXPECT_EQ(r.error().code, make_error_code(store_errc::invalid_input));
      EXPECT_NE(r.error().message.find(file_name(k)), std::string::npos) << r.error().message;
    }
    EXPECT_TRUE(std::all_of(a.begin(), a.end(), [](auto v) { return v == 7; })) << "nothing written";
  };
  invalid(95, 10, {{field::close, a, {}}});                               // past the last row
  invalid(std::size_t(-1), 10, {{field::close, a, {}}});                  // first + count overflows
  invalid(101, 0, {});
  invalid(0, 10, {{field::close, {a.data(), 9}, {}}});                    // too small
  invalid(0, 9, {{field::close, a, {}}});                                 // too large
  invalid(0, 10, {{field::close, a, d}});                                 // two destinations
  invalid(0, 10, {{field::close, {}, {}}});                               // none
  invalid(0, 10, {{static_cast<field>(11), a, {}}});                     // unknown field
  EXPECT_TRUE(f.read_into(90, 10, std::vector<year_file::column_target>{{field::close, a, {}}}));
  EXPECT_EQ(a[9], rows[field::close][99]);
}

TEST(YearFileWriter, RejectsInvalidRows) {
  kline_columns rows = synth_year(interval::h1, 2022, {.rows = 10});
  auto expect_invalid = [](result<std::string> const& r, std::string_view needle) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, make_error_code(store_errc::invalid_input));
    EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("BTCUSDT_1h_202"), std::string::npos) << r.error().message;
  };
  expect_invalid(encode_year_file(key(interval::h1, 2023), rows), "outside the year");
  kline_columns dup = rows;
  dup[field::open_time][5] = dup[field::open_time][4];
  expect_invalid(encode_year_file(key(interval::h1, 2022), dup), "strictly increasing");
  kline_columns ragged = rows;
  ragged[field::close].pop_back();
  expect_invalid(encode_year_file(key(interval::h1, 2022), ragged), "close");
  kline_columns badscale = rows;
  badscale.scale[1] = 19;
  expect_invalid(encode_year_file(key(interval::h1, 2022), badscale), "scale");
}

TEST(YearFileWriter, WritesAtomicallyIntoMarketData) {
  temp_dir d;
  year_key const k = key(interval::h1, 2022);
  kline_columns const rows = synth_year(interval::h1, 2022, {.rows = 100});
  ASSERT_TRUE(write_year_file(d.path, k, rows));
  ASSERT_TRUE(write_year_file(d.path, k, rows));  // replace
  std::vector<std::string> names;
  for (auto const& e : fs::directory_iterator(market_data_dir(d.path))) names.push_back(e.path().filename().string());
  ASSERT_EQ(names, std::vector<std::string>{file_name(k)}) << "no temp file may remain";
  auto f = year_file::open(year_file_path(d.path, k));
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->file_size(), fs::file_size(year_file_path(d.path, k)));
  kline_columns back;
  ASSERT_TRUE(f->read(field_mask::all(), back));
  expect_same(rows, back);
  EXPECT_TRUE(f->verify());
}

TEST(YearFileWriter, AtomicWriteFileAndTempNames) {
  temp_dir d;
  fs::path const p = d.path / "side.json";
  ASSERT_TRUE(atomic_write_file(p, "first"));
  ASSERT_TRUE(atomic_write_file(p, "second"));
  EXPECT_EQ(read_file(p), "second");
  std::size_t n = 0;
  for (auto const& e : fs::directory_iterator(d.path)) {
    ++n;
    EXPECT_FALSE(is_temp_file_name(e.path().filename().string()));
  }
  EXPECT_EQ(n, 1u);
  EXPECT_TRUE(is_temp_file_name("abc.atb.tmp-a1B2c3"));
  EXPECT_FALSE(is_temp_file_name("abc.atb"));
  EXPECT_FALSE(is_temp_file_name(".tmp-a1B2c3"));
  auto bad = atomic_write_file(d.path / "no-such-dir" / "x", "y");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, make_error_code(store_errc::io_error));
}

// ------------------------------------------------------------------ damaged files

class YearFileDamage : public ::testing::Test {
 protected:
  year_key k = key(interval::h1, 2022);
  kline_columns rows = synth_year(interval::h1, 2022, {.rows = 500, .gap_every = 40, .irregular_every = 77});
  std::string bytes = encode_year_file(k, rows).value();
  std::string name = file_name(k);

  error open_error(std::string b) {
    auto f = year_file::from_bytes(std::move(b), name);
    EXPECT_FALSE(f);
    return f ? error{} : f.error();
  }
};

TEST_F(YearFileDamage, EmptyFileIsACleanError) {
  auto e = open_error("");
  EXPECT_EQ(e.code, make_error_code(store_errc::truncated));
  EXPECT_NE(e.message.find(name), std::string::npos);
  temp_dir d;
  write_file(d.path / name, "");
  auto f = year_file::open(d.path / name);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code, make_error_code(store_errc::truncated));
  auto missing = year_file::open(d.path / "missing.atb");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, make_error_code(store_errc::io_error));
}

TEST_F(YearFileDamage, EveryTruncationIsDetected) {
  // every length inside the header and around each block boundary, plus a stride through the blocks
  std::vector<std::size_t> lengths;
  for (std::size_t n = 0; n < 540; ++n) lengths.push_back(n);
  for (auto const& r : regions_of(bytes))
    for (std::size_t d : {0, 1, 2}) lengths.push_back(std::min(bytes.size() - 1, r.end - d));
  for (std::size_t n = 540; n < bytes.size(); n += 97) lengths.push_back(n);
  for (std::size_t n : lengths) {
    ASSERT_LT(n, bytes.size());
    EXPECT_TRUE(detected(bytes.substr(0, n), name)) << "truncated to " << n << " bytes";
  }
  auto e = open_error(bytes.substr(0, 300));
  EXPECT_EQ(e.code, make_error_code(store_errc::truncated));
  auto e2 = open_error(bytes.substr(0, bytes.size() - 1));
  EXPECT_EQ(e2.code, make_error_code(store_errc::truncated)) << e2.message;
  EXPECT_TRUE(detected(bytes + '\0', name)) << "trailing bytes";
}

TEST_F(YearFileDamage, WrongMagic) {
  std::string b = bytes;
  b[0] = 'X';
  auto e = open_error(b);
  EXPECT_EQ(e.code, make_error_code(store_errc::not_a_year_file));
  EXPECT_NE(e.message.find("not an atb year file"), std::string::npos);
  EXPECT_EQ(open_error("PK\x03\x04 this is a zip").code, make_error_code(store_errc::not_a_year_file));
}

TEST_F(YearFileDamage, NewerAndUnknownVersions) {
  std::string b = bytes;
  std::uint16_t v = 2;
  std::memcpy(b.data() + 8, &v, 2);
  auto e = open_error(b);
  EXPECT_EQ(e.code, make_error_code(store_errc::unsupported_version));
  EXPECT_NE(e.message.find("written by a newer atb (format v2), this build reads up to v1; upgrade atb"),
            std::string::npos)
      << e.message;
  v = 0;
  std::memcpy(b.data() + 8, &v, 2);
  EXPECT_EQ(open_error(b).code, make_error_code(store_errc::unsupported_version));
}

TEST_F(YearFileDamage, ChecksumMismatchNamesFileColumnAndBothValues) {
  auto regs = regions_of(bytes);
  auto const& close_block = regs[3 + static_cast<std::size_t>(field::close)];
  std::string b = bytes;
  b[(close_block.begin + close_block.end) / 2] ^= 0x20;
  auto f = year_file::from_bytes(b, name);
  ASSERT_TRUE(f) << "blocks are not read at open";
  kline_columns out;
  auto r = f->read(field_mask{field::close}, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, make_error_code(store_errc::checksum_mismatch));
  EXPECT_NE(r.error().message.find(name), std::string::npos);
  EXPECT_NE(r.error().message.find("column close"), std::string::npos);
  EXPECT_NE(r.error().message.find("stored 0x"), std::string::npos);
  EXPECT_NE(r.error().message.find("computed 0x"), std::string::npos);
  EXPECT_TRUE(out.empty());
  // columns that do not depend on close still read
  EXPECT_TRUE(f->read(field_mask{field::volume}, out));
  auto v = f->verify();
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, make_error_code(store_errc::checksum_mismatch));

  std::string h = bytes;
  h[40] ^= 1;  // rows
  auto e = open_error(h);
  EXPECT_EQ(e.code, make_error_code(store_errc::checksum_mismatch));
  EXPECT_NE(e.message.find("header checksum mismatch"), std::string::npos);
}

TEST_F(YearFileDamage, AFlippedByteInEachRegionIsDetected) {
  for (auto const& r : regions_of(bytes)) {
    SCOPED_TRACE(r.name);
    ASSERT_LT(r.begin, r.end);
    std::vector<std::size_t> at{r.begin, r.begin + (r.end - r.begin) / 3, r.begin + (r.end - r.begin) / 2, r.end - 1};
    for (std::size_t pos : at) {
      for (unsigned mask : {0x01u, 0x80u, 0xffu}) {
        std::string b = bytes;
        b[pos] = static_cast<char>(b[pos] ^ mask);
        EXPECT_TRUE(detected(b, name)) << "byte " << pos << " ^ " << int(mask);
      }
    }
  }
}

TEST_F(YearFileDamage, EveryHeaderByteIsCovered) {
  for (std::size_t pos = 0; pos < 528; ++pos) {
    std::string b = bytes;
    b[pos] = static_cast<char>(b[pos] ^ 0x04);
    EXPECT_TRUE(detected(b, name)) << "header byte " << pos;
  }
}

TEST_F(YearFileDamage, FileNameMustMatchTheHeaderKey) {
  auto f = year_file::from_bytes(bytes, file_name(key(interval::h1, 2021))).value();
  auto v = f.verify();
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, make_error_code(store_errc::name_mismatch));
  EXPECT_NE(v.error().message.find("BTCUSDT_1h_2022"), std::string::npos);
}

TEST_F(YearFileDamage, InvariantViolationsAreReported) {
  struct cse {
    field f;
    std::size_t row;
    std::int64_t value;
    std::string_view needle;
  };
  std::vector<cse> cases{
      {field::low, 10, rows[field::open][10] + 1, "low"},
      {field::high, 11, std::min(rows[field::open][11], rows[field::close][11]) - 1, "high"},
      {field::volume, 12, -1, "volume"},
      {field::taker_buy_base_volume, 13, rows[field::volume][13] + 1, "taker_buy_base_volume"},
      {field::taker_buy_quote_volume, 14, rows[field::quote_volume][14] + 1, "taker_buy_quote_volume"},
      {field::close_time, 15, rows[field::open_time][15] - 1, "closes at"},
      {field::close_time, 17, rows[field::open_time][17] - 1000, "closes at"},
      {field::trades, 16, -3, "trades"},
  };
  for (auto const& c : cases) {
    SCOPED_TRACE(std::string(c.needle));
    kline_columns bad = rows;
    bad[c.f][c.row] = c.value;
    auto f = year_file::from_bytes(encode_year_file(k, bad).value(), name).value();
    auto v = f.verify();
    ASSERT_FALSE(v);
    EXPECT_EQ(v.error().code, make_error_code(store_errc::invariant_violation));
    EXPECT_NE(v.error().message.find(c.needle), std::string::npos) << v.error().message;
    EXPECT_NE(v.error().message.find(format_utc(rows.open_time(c.row))), std::string::npos) << v.error().message;
  }
}

TEST_F(YearFileDamage, ReadIntoVerifiesChecksumsBeforeDecoding) {
  for (field x : {field::open_time, field::close_time, field::open, field::close, field::high, field::volume}) {
    SCOPED_TRACE(std::string(to_string(x)));
    auto const reg = regions_of(bytes)[3 + static_cast<std::size_t>(x)];
    std::string b = bytes;
    b[(reg.begin + reg.end) / 2] ^= 0x20;
    auto f = year_file::from_bytes(b, name).value();
    aligned_vector<double> out(rows.size());
    std::vector<year_file::column_target> const t{{x, {}, out}};
    auto r = f.read_into(0, rows.size(), t);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, make_error_code(store_errc::checksum_mismatch));
    EXPECT_NE(r.error().message.find("column " + std::string(to_string(x))), std::string::npos) << r.error().message;
  }
  // a block whose checksum matches but that is not what the directory says: the
  // directory's hash is recomputed over a corrupted block (a writer bug, not bit rot)
  auto const reg = regions_of(bytes)[3 + static_cast<std::size_t>(field::close)];
  std::string b = bytes;
  b[reg.begin + 5] ^= 0x40;
  std::uint64_t const h = XXH3_64bits(b.data() + reg.begin, reg.end - reg.begin);
  std::memcpy(b.data() + 80 + 40 * static_cast<std::size_t>(field::close) + 32, &h, 8);
  std::uint64_t const hh = XXH3_64bits(b.data(), 520);
  std::memcpy(b.data() + 520, &hh, 8);
  auto f = year_file::from_bytes(b, name);
  ASSERT_TRUE(f) << f.error().message;
  aligned_vector<double> out(rows.size());
  std::vector<year_file::column_target> const t{{field::open, {}, out}};
  auto r = f->read_into(0, rows.size(), t);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, make_error_code(store_errc::corrupt)) << r.error().message;
}

TEST_F(YearFileDamage, ReadIntoAgreesWithReadOnMutatedBlocks) {
  // Bytes changed behind valid checksums (what a writer bug would produce) reach the
  // decoders: read_into must fail exactly when read() fails, and agree with it otherwise.
  std::mt19937_64 rng(21);
  auto const regs = regions_of(bytes);
  std::size_t agreed_ok = 0;
  for (int round = 0; round < 400; ++round) {
    std::string b = bytes;
    auto const& r = regs[3 + rng() % field_count];
    for (int j = 0, m = 1 + static_cast<int>(rng() % 3); j < m; ++j)
      b[r.begin + rng() % (r.end - r.begin)] ^= static_cast<char>(1u << (rng() % 8));
    for (std::size_t c = 0; c < field_count; ++c) {
      std::uint64_t off = 0, cs = 0;
      std::memcpy(&off, b.data() + 80 + 40 * c + 8, 8);
      std::memcpy(&cs, b.data() + 80 + 40 * c + 16, 8);
      std::uint64_t const h = XXH3_64bits(b.data() + off, cs);
      std::memcpy(b.data() + 80 + 40 * c + 32, &h, 8);
    }
    std::uint64_t const hh = XXH3_64bits(b.data(), 520);
    std::memcpy(b.data() + 520, &hh, 8);
    auto f = year_file::from_bytes(b, name);
    ASSERT_TRUE(f) << f.error().message;
    kline_columns ref;
    bool const ok = static_cast<bool>(f->read(field_mask{field::open_time, field::close_time, field::open, field::high,
                                                         field::low, field::close},
                                              ref));
    std::vector<aligned_vector<std::int64_t>> out(bar_fields.size(), aligned_vector<std::int64_t>(rows.size()));
    std::vector<year_file::column_target> t;
    for (std::size_t j = 0; j < bar_fields.size(); ++j) t.push_back({bar_fields[j], out[j], {}});
    auto r2 = f->read_into(0, rows.size(), t);
    ASSERT_EQ(static_cast<bool>(r2), ok) << "round " << round << ": " << (r2 ? "" : r2.error().message);
    if (!ok) continue;
    ++agreed_ok;
    for (std::size_t j = 0; j < bar_fields.size(); ++j)
      ASSERT_TRUE(out[j] == ref[bar_fields[j]]) << "round " << round << " " << to_string(bar_fields[j]);
  }
  EXPECT_GT(agreed_ok, 0u);
}

// ------------------------------------------------------------------ real data

TEST(YearFileSharedData, EveryKlinesCsvRoundTripsThroughYearFiles) {
  fs::path const dir = shared_klines_dir();
  if (!fs::exists(dir)) GTEST_SKIP() << "shared data absent: " << dir << " (set ATB_SHARED_DATA_DIR)";
  temp_dir cache;
  std::size_t files = 0, rows_total = 0;
  for (auto const& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".csv") continue;
    SCOPED_TRACE(e.path().filename().string());
    std::string const stem = e.path().stem().string();
    auto const dash = stem.find('-');
    symbol const s = sym(stem.substr(0, dash));
    interval const iv = parse_interval(stem.substr(dash + 1)).value();
    kline_columns const all = load_csv(e.path());
    ASSERT_GT(all.size(), 0u);
    for (auto const& [y, rows] : split_years(all)) {
      year_key const k{s, iv, y};
      ASSERT_TRUE(write_year_file(cache.path, k, rows));
      auto f = year_file::open(year_file_path(cache.path, k));
      ASSERT_TRUE(f) << f.error().message;
      kline_columns back;
      ASSERT_TRUE(f->read(field_mask::all(), back));
      expect_same(rows, back);
      auto v = f->verify();
      ASSERT_TRUE(v) << v.error().message;
      expect_read_into_matches(*f, bar_fields, 0, rows.size());
      expect_read_into_matches(*f, bar_fields, rows.size() / 3, rows.size() / 2);
      ++files;
      rows_total += rows.size();
    }
  }
  EXPECT_GT(files, 15u);
  EXPECT_GT(rows_total, 280000u);
}

TEST(YearFileSharedData, KnownGapIsReportedAsInformation) {
  fs::path const csv = shared_klines_dir() / "BTCUSDT-1h.csv";
  if (!fs::exists(csv)) GTEST_SKIP() << "shared data absent: " << csv;
  auto years = split_years(load_csv(csv));
  year_key const k = key(interval::h1, 2023);
  auto f = year_file::from_bytes(encode_year_file(k, years.at(2023)).value(), file_name(k)).value();
  auto rep = f.verify().value();
  EXPECT_EQ(rep.gaps, 1u);
  ASSERT_EQ(rep.gap_examples.size(), 1u);
  EXPECT_EQ(rep.gap_examples[0], "2023-03-24 13:00:00 (1 candle)");
}

}  // namespace
}  // namespace atb::store::test
