// Year-file benchmarks over the real klines of ../shared/data/klines:
//   BM_Store_Decode       all 11 columns of every year file (bytes = decoded column bytes)
//   BM_Store_DecodeClose  the close column only
//   BM_Store_Verify       year_file::verify() of every file (what atb-verify runs per file)
//   BM_Store_Encode/L     encoding every year at zstd level L (9 is the default)
//   BM_Store_SizeReport   .atb bytes vs the same CSVs at zstd -19 (libzstd), bytes per candle per file
// Run: build/store-rel/bench/store_year_file_bench
#include "atb/core/kline_csv.hpp"
#include "atb/store/year_file.hpp"

#include <benchmark/benchmark.h>
#include <zstd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace {

namespace fs = std::filesystem;
using namespace atb;
using namespace atb::store;

struct year_blob {
  std::string csv_name;
  year_key key;
  std::size_t rows;
  std::string bytes;  // encoded year file
};

struct corpus {
  std::vector<std::pair<std::string, std::string>> csvs;  // name, content
  std::vector<year_blob> years;
  std::vector<year_file> files;
  std::size_t total_rows = 0;
};

std::string read_all(fs::path const& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

corpus const& shared_corpus() {
  static corpus const c = [] {
    corpus out;
    fs::path const dir = fs::path(ATB_SHARED_DATA_DIR) / "klines";
    if (!fs::exists(dir)) return out;
    std::vector<fs::path> paths;
    for (auto const& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".csv") paths.push_back(e.path());
    std::sort(paths.begin(), paths.end());
    for (auto const& p : paths) {
      std::string const text = read_all(p);
      std::string const stem = p.stem().string();
      auto const dash = stem.find('-');
      auto sym = symbol::parse(stem.substr(0, dash));
      auto iv = parse_interval(stem.substr(dash + 1));
      if (!sym || !iv) continue;
      kline_columns all;
      std::size_t start = 0;
      while (start < text.size()) {
        std::size_t nl = text.find('\n', start);
        if (nl == std::string::npos) nl = text.size();
        (void)parse_kline_csv_line(std::string_view(text).substr(start, nl - start), all);
        start = nl + 1;
      }
      std::map<int, kline_columns> by_year;
      for (std::size_t i = 0; i < all.size(); ++i) by_year[year_of(all.open_time(i))].push_row(all, i);
      for (auto& [y, rows] : by_year) {
        year_key k{*sym, *iv, y};
        auto bytes = encode_year_file(k, rows);
        if (!bytes) {
          std::fprintf(stderr, "encode failed: %s\n", bytes.error().message.c_str());
          std::exit(2);
        }
        out.total_rows += rows.size();
        out.years.push_back(year_blob{p.filename().string(), k, rows.size(), std::move(*bytes)});
      }
      out.csvs.emplace_back(p.filename().string(), text);
    }
    for (auto const& y : out.years) out.files.push_back(year_file::from_bytes(y.bytes, file_name(y.key)).value());
    return out;
  }();
  return c;
}

bool skip_without_data(benchmark::State& st) {
  if (shared_corpus().years.empty()) {
    st.SkipWithError("../shared/data/klines is absent (set ATB_SHARED_DATA_DIR)");
    return true;
  }
  return false;
}

void decode_bench(benchmark::State& st, field_mask mask) {
  if (skip_without_data(st)) return;
  auto const& c = shared_corpus();
  kline_columns out;
  std::size_t rows = 0, bytes = 0;
  for (auto _ : st) {
    for (auto const& f : c.files) {
      if (!f.read(mask, out)) st.SkipWithError("decode failed");
      benchmark::DoNotOptimize(out.cols[4].data());
      rows += f.header().rows;
      for (auto const& col : out.cols) bytes += col.size() * sizeof(std::int64_t);
    }
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(rows));
  st.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}

void BM_Store_Decode(benchmark::State& st) { decode_bench(st, field_mask::all()); }
BENCHMARK(BM_Store_Decode)->Unit(benchmark::kMillisecond);

void BM_Store_DecodeClose(benchmark::State& st) { decode_bench(st, field_mask{field::close}); }
BENCHMARK(BM_Store_DecodeClose)->Unit(benchmark::kMillisecond);

// What atb-verify does per file (decode everything + invariants + gaps), one core.
void BM_Store_Verify(benchmark::State& st) {
  if (skip_without_data(st)) return;
  auto const& c = shared_corpus();
  std::size_t rows = 0, bytes = 0;
  for (auto _ : st) {
    for (auto const& f : c.files) {
      auto rep = f.verify();
      if (!rep) st.SkipWithError(rep.error().message.c_str());
      else bytes += rep->decoded_bytes;
      rows += f.header().rows;
    }
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(rows));
  st.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_Store_Verify)->Unit(benchmark::kMillisecond);

void BM_Store_Encode(benchmark::State& st) {
  if (skip_without_data(st)) return;
  auto const& c = shared_corpus();
  std::vector<kline_columns> inputs;
  for (auto const& f : c.files) {
    kline_columns k;
    (void)f.read(field_mask::all(), k);
    inputs.push_back(std::move(k));
  }
  write_options wo;
  wo.zstd_level = static_cast<int>(st.range(0));
  std::size_t rows = 0, bytes = 0, out_bytes = 0;
  for (auto _ : st) {
    out_bytes = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      auto b = encode_year_file(c.years[i].key, inputs[i], wo);
      benchmark::DoNotOptimize(b);
      rows += inputs[i].size();
      bytes += inputs[i].size() * field_count * sizeof(std::int64_t);
      out_bytes += b->size();
    }
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(rows));
  st.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  st.counters["atb_bytes"] = static_cast<double>(out_bytes);
  st.counters["bytes_per_candle"] = static_cast<double>(out_bytes) / static_cast<double>(c.total_rows);
}
BENCHMARK(BM_Store_Encode)->Arg(3)->Arg(6)->Arg(9)->Arg(12)->Arg(19)->Unit(benchmark::kMillisecond);

void BM_Store_SizeReport(benchmark::State& st) {
  if (skip_without_data(st)) return;
  auto const& c = shared_corpus();
  std::map<std::string, std::pair<std::size_t, std::size_t>> atb_per_csv;  // bytes, rows
  std::size_t atb_total = 0;
  for (auto const& y : c.years) {
    atb_per_csv[y.csv_name].first += y.bytes.size();
    atb_per_csv[y.csv_name].second += y.rows;
    atb_total += y.bytes.size();
  }
  std::size_t zstd_total = 0;
  std::map<std::string, std::size_t> zstd_per_csv;
  for (auto _ : st) {
    zstd_total = 0;
    for (auto const& [name, text] : c.csvs) {
      std::string buf(ZSTD_compressBound(text.size()), '\0');
      std::size_t const n = ZSTD_compress(buf.data(), buf.size(), text.data(), text.size(), 19);
      zstd_per_csv[name] = n;
      zstd_total += n;
    }
  }
  std::printf("\n%-20s %8s %12s %12s %8s %10s %10s\n", "file", "rows", "atb bytes", "zstd19 bytes", "ratio",
              "atb B/row", "zstd B/row");
  for (auto const& [name, br] : atb_per_csv) {
    double const rows = static_cast<double>(br.second);
    std::printf("%-20s %8zu %12zu %12zu %8.3f %10.2f %10.2f\n", name.c_str(), br.second, br.first,
                zstd_per_csv[name], static_cast<double>(br.first) / static_cast<double>(zstd_per_csv[name]),
                static_cast<double>(br.first) / rows, static_cast<double>(zstd_per_csv[name]) / rows);
  }
  // per-column share (directory entry c at byte 80 + 40c, compressed size at +16; docs/FORMAT.md)
  std::array<std::size_t, field_count> col_bytes{};
  for (auto const& y : c.years)
    for (std::size_t k = 0; k < field_count; ++k) {
      std::uint64_t cs = 0;
      std::memcpy(&cs, y.bytes.data() + 80 + 40 * k + 16, 8);
      col_bytes[k] += cs;
    }
  for (std::size_t k = 0; k < field_count; ++k)
    std::printf("  column %-24s %10zu bytes %6.2f B/row\n", std::string(to_string(static_cast<field>(k))).c_str(),
                col_bytes[k], static_cast<double>(col_bytes[k]) / static_cast<double>(c.total_rows));
  double const ratio = static_cast<double>(atb_total) / static_cast<double>(zstd_total);
  std::printf("%-20s %8zu %12zu %12zu %8.3f %10.2f %10.2f   (target ratio <= 0.55)\n\n", "TOTAL", c.total_rows,
              atb_total, zstd_total, ratio, static_cast<double>(atb_total) / static_cast<double>(c.total_rows),
              static_cast<double>(zstd_total) / static_cast<double>(c.total_rows));
  st.counters["atb_bytes"] = static_cast<double>(atb_total);
  st.counters["zstd19_csv_bytes"] = static_cast<double>(zstd_total);
  st.counters["ratio"] = ratio;
  st.counters["atb_bytes_per_candle"] = static_cast<double>(atb_total) / static_cast<double>(c.total_rows);
  std::size_t csv_bytes = 0;
  for (auto const& [n, t] : c.csvs) csv_bytes += t.size();
  st.SetBytesProcessed(static_cast<std::int64_t>(csv_bytes * st.iterations()));
  st.SetItemsProcessed(static_cast<std::int64_t>(c.total_rows * st.iterations()));
}
BENCHMARK(BM_Store_SizeReport)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
