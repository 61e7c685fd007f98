#pragma once
// Helpers shared by the store tests: synthetic klines, temp directories, shared CSVs.
#include "atb/core/kline_csv.hpp"
#include "atb/store/year_file.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>

namespace atb::store::test {

namespace fs = std::filesystem;

inline symbol sym(std::string_view s) { return symbol::parse(s).value(); }

/// A fresh empty directory under the build tree, removed by the destructor.
struct temp_dir {
  fs::path path;
  temp_dir() {
    static int counter = 0;
    path = fs::path(ATB_BINARY_DIR) / "tmp-store-tests" /
           (std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

struct synth_options {
  std::size_t rows = 200;
  std::size_t gap_every = 0;        ///< skip one candle after every n rows (0: none)
  std::size_t irregular_every = 0;  ///< every n-th candle closes early
  unsigned price_scale = 8, volume_scale = 8, quote_scale = 8;
  std::int64_t start_offset_ms = 0;  ///< first open relative to the first grid candle of the year
  std::uint32_t seed = 1;
};

/// Valid klines (all invariants hold) of one year, following next_open() from the first
/// candle on or after year start (plus start_offset_ms), truncated at the year's end.
inline kline_columns synth_year(interval iv, int year, synth_options const& o = {}) {
  kline_columns k;
  k.scale[static_cast<std::size_t>(field::open)] = k.scale[static_cast<std::size_t>(field::high)] =
      k.scale[static_cast<std::size_t>(field::low)] = k.scale[static_cast<std::size_t>(field::close)] =
          static_cast<std::uint8_t>(o.price_scale);
  k.scale[static_cast<std::size_t>(field::volume)] = k.scale[static_cast<std::size_t>(field::taker_buy_base_volume)] =
      static_cast<std::uint8_t>(o.volume_scale);
  k.scale[static_cast<std::size_t>(field::quote_volume)] =
      k.scale[static_cast<std::size_t>(field::taker_buy_quote_volume)] = static_cast<std::uint8_t>(o.quote_scale);
  std::mt19937_64 rng(o.seed);
  timestamp_ms t = grid_floor(iv, year_start(year));
  if (t < year_start(year)) t = next_open(iv, t);
  t = timestamp_ms{t.ms + o.start_offset_ms};
  std::int64_t const pu = pow10_i64(o.price_scale >= 2 ? o.price_scale - 2 : 0);  // tick 0.01
  std::int64_t price = 3000000 * pu;
  std::int64_t const vu = pow10_i64(o.volume_scale >= 5 ? o.volume_scale - 5 : 0);
  for (std::size_t i = 0; i < o.rows && t < year_end(year); ++i) {
    std::int64_t const open = price;
    std::int64_t const close = std::max<std::int64_t>(pu, open + static_cast<std::int64_t>(rng() % 2001) * pu - 1000 * pu);
    std::int64_t const high = std::max(open, close) + static_cast<std::int64_t>(rng() % 500) * pu;
    std::int64_t const low = std::max<std::int64_t>(0, std::min(open, close) - static_cast<std::int64_t>(rng() % 500) * pu);
    std::int64_t const vol = static_cast<std::int64_t>(rng() % 100000000) * vu;
    std::int64_t const tb = vol ? static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(vol + 1)) : 0;
    std::int64_t const q = static_cast<std::int64_t>(rng() % 1000000000000ULL);
    std::int64_t const tq = q ? static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(q + 1)) : 0;
    timestamp_ms const close_t = (o.irregular_every && i % o.irregular_every == o.irregular_every - 1)
                                     ? timestamp_ms{t.ms + (next_open(iv, t).ms - t.ms) / 3}
                                     : regular_close(iv, t);
    k[field::open_time].push_back(t.ms);
    k[field::open].push_back(open);
    k[field::high].push_back(high);
    k[field::low].push_back(low);
    k[field::close].push_back(close);
    k[field::volume].push_back(vol);
    k[field::close_time].push_back(close_t.ms);
    k[field::quote_volume].push_back(q);
    k[field::trades].push_back(static_cast<std::int64_t>(rng() % 50000));
    k[field::taker_buy_base_volume].push_back(tb);
    k[field::taker_buy_quote_volume].push_back(tq);
    price = close;
    t = next_open(iv, t);
    if (o.gap_every && i % o.gap_every == o.gap_every - 1) t = next_open(iv, t);
  }
  return k;
}

inline void expect_same(kline_columns const& a, kline_columns const& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t c = 0; c < field_count; ++c) {
    EXPECT_EQ(a.scale[c], b.scale[c]) << to_string(static_cast<field>(c));
    ASSERT_EQ(a.cols[c].size(), b.cols[c].size()) << to_string(static_cast<field>(c));
    for (std::size_t i = 0; i < a.cols[c].size(); ++i)
      ASSERT_EQ(a.cols[c][i], b.cols[c][i]) << to_string(static_cast<field>(c)) << " row " << i;
  }
}

inline std::string read_file(fs::path const& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(fs::path const& p, std::string const& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

inline fs::path shared_klines_dir() { return fs::path(ATB_SHARED_DATA_DIR) / "klines"; }

/// Parses a shared CSV (no header, ms) into columns at scale 8.
inline kline_columns load_csv(fs::path const& p) {
  std::string const text = read_file(p);
  kline_columns k;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    auto r = parse_kline_csv_line(std::string_view(text).substr(start, nl - start), k);
    EXPECT_TRUE(r) << p << ": " << (r ? "" : r.error().message);
    start = nl + 1;
  }
  return k;
}

inline std::map<int, kline_columns> split_years(kline_columns const& all) {
  std::map<int, kline_columns> out;
  for (std::size_t i = 0; i < all.size(); ++i) {
    auto& y = out[year_of(all.open_time(i))];
    y.scale = all.scale;
    y.push_row(all, i);
  }
  return out;
}

/// Byte ranges of a year file: header [0, 520), header checksum [520, 528), then one block per column.
struct region {
  std::string name;
  std::size_t begin, end;
};
inline std::vector<region> regions_of(std::string const& bytes) {
  std::vector<region> r{{"header", 0, 80}, {"directory", 80, 520}, {"header checksum", 520, 528}};
  for (std::size_t c = 0; c < field_count; ++c) {
    std::uint64_t off = 0, cs = 0;
    std::memcpy(&off, bytes.data() + 80 + 40 * c + 8, 8);
    std::memcpy(&cs, bytes.data() + 80 + 40 * c + 16, 8);
    r.push_back({"column " + std::string(to_string(static_cast<field>(c))), off, off + cs});
  }
  return r;
}

/// True if opening, reading and verifying `bytes` (named as `name`) reports an error.
inline bool detected(std::string bytes, std::string const& name) {
  auto f = year_file::from_bytes(std::move(bytes), name);
  if (!f) return true;
  kline_columns k;
  if (!f->read(field_mask::all(), k)) return true;
  return !f->verify();
}

}  // namespace atb::store::test
