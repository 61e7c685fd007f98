// atb data import | export | cache-manager {info, list, clear-old}.
#include "cache_scan.hpp"
#include "cli_common.hpp"

#include "atb/core/interval.hpp"
#include "atb/core/symbol.hpp"
#include "atb/core/time.hpp"
#include "atb/store/cache.hpp"
#include "atb/store/csv_import.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace atb::cli {

namespace {

/// Parses --symbol and --timeframe values; prints the error and returns false when invalid.
bool parse_symbol_opt(std::optional<std::string> const& text, std::optional<atb::symbol>& out) {
  if (!text) return true;
  auto s = atb::symbol::parse(*text);
  if (!s) {
    print_error(s.error().message + " (--symbol)");
    return false;
  }
  out = *s;
  return true;
}

bool parse_interval_opt(std::optional<std::string> const& text, std::optional<atb::interval>& out) {
  if (!text) return true;
  auto iv = atb::parse_interval(*text, /*allow_archive_spelling=*/true);
  if (!iv) {
    print_error(iv.error().message + " (--timeframe)");
    return false;
  }
  out = *iv;
  return true;
}

std::string cache_dir_flag(std::optional<std::string> const& flag) {
  // The flag to repeat in a suggested command, so that it targets the same cache.
  return flag && !flag->empty() ? " --cache-dir " + *flag : "";
}

// ---------------------------------------------------------------------------------------
// import

struct import_args {
  std::optional<std::string> cache_dir, symbol, timeframe;
  std::vector<std::string> files;
};

int run_import(import_args const& a) {
  store::csv_import_options opt;
  if (!parse_symbol_opt(a.symbol, opt.symbol) || !parse_interval_opt(a.timeframe, opt.interval)) return exit_usage;
  store::cache c(resolve_cache_dir(a.cache_dir));

  int rc = exit_ok;
  std::uint64_t tot_rows = 0, tot_added = 0, tot_dups = 0, tot_conflicts = 0, tot_bad = 0, tot_written = 0;
  std::size_t ok_files = 0;
  for (auto const& file : a.files) {
    auto r = store::import_csv_file(c, file, opt);
    if (!r) {
      print_error(r.error());
      rc = exit_usage;
      continue;
    }
    auto const& rep = *r;
    for (auto const& p : rep.problems) print_error(p);
    if (rep.problems_not_shown)
      print_error(fmt::format("{}: {} more problems like these were not shown.", file, rep.problems_not_shown));
    fmt::print("{}: {} {}: {} rows read, {} added, {} duplicates, {} conflicts, {} bad rows, {} year files written\n",
               file, rep.symbol->view(), to_string(rep.interval), rep.rows_read, rep.added, rep.duplicates,
               rep.conflicts, rep.bad_rows, rep.files_written);
    if (rep.rows_read == 0 && rep.bad_rows == 0)
      print_error(file + ": the file holds no kline rows.");
    if (rep.has_problems() && rc == exit_ok) rc = exit_problems;
    ++ok_files;
    tot_rows += rep.rows_read, tot_added += rep.added, tot_dups += rep.duplicates;
    tot_conflicts += rep.conflicts, tot_bad += rep.bad_rows, tot_written += rep.files_written;
  }
  if (a.files.size() > 1)
    fmt::print("total: {} of {} files imported: {} rows read, {} added, {} duplicates, {} conflicts, {} bad rows, "
               "{} year files written\n",
               ok_files, a.files.size(), tot_rows, tot_added, tot_dups, tot_conflicts, tot_bad, tot_written);
  if (tot_conflicts)
    print_error("conflicting rows were not imported: the cache keeps the row it had (or the file's first row); "
                "check the lines listed above.");
  std::fflush(stdout);
  return rc;
}

// ---------------------------------------------------------------------------------------
// export

struct export_args {
  std::optional<std::string> cache_dir, output, start, end;
  std::string symbol, timeframe;
};

int run_export(export_args const& a) {
  std::optional<atb::symbol> sym;
  std::optional<atb::interval> iv;
  if (!parse_symbol_opt(a.symbol, sym) || !parse_interval_opt(a.timeframe, iv)) return exit_usage;
  timestamp_ms from{std::numeric_limits<std::int64_t>::min()}, to{std::numeric_limits<std::int64_t>::max()};
  if (a.start) {
    auto d = parse_date(*a.start);
    if (!d) return print_error(d.error().message + " (--start)"), exit_usage;
    from = to_timestamp(*d);
  }
  if (a.end) {
    auto d = parse_date(*a.end);
    if (!d) return print_error(d.error().message + " (--end)"), exit_usage;
    to = to_timestamp(*d);
  }
  if (a.start && a.end && to <= from) {
    print_error("--end " + *a.end + " is not after --start " + *a.start +
                ": the range is [start, end) by open time, so give a later --end.");
    return exit_usage;
  }
  std::filesystem::path const dir = resolve_cache_dir(a.cache_dir);
  store::cache c(dir);

  std::optional<store::atomic_output_file> out;
  if (a.output) {
    auto f = store::atomic_output_file::create(*a.output);
    if (!f) return print_error(f.error()), exit_usage;
    out.emplace(std::move(*f));
  }
  auto sink = [&](std::string_view bytes) -> result<void> {
    if (out) return out->write(bytes);
    if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size())
      return error{core_errc::io_error, "cannot write the CSV to standard output."};
    return {};
  };
  auto rep = store::export_csv(c, *sym, *iv, from, to, sink);
  if (!rep) return print_error(rep.error()), exit_usage;

  std::string const range = std::string(a.start ? " from " + *a.start : "") + (a.end ? " before " + *a.end : "");
  if (rep->rows == 0) {
    // Suggest the command that fills exactly this gap.
    int years_back = 10;
    if (a.start) years_back = std::max(1, year_of(system_now()) - year_of(from) + 1);
    print_error(fmt::format("no {} {} candles in {}{}; fill the cache first, e.g. `atb data preload-offline --symbols "
                            "{} --timeframes {} --years-back {}{}` (or `atb data import {}-{}-….csv`).",
                            sym->view(), to_string(*iv), dir.string(), range, sym->view(), to_string(*iv), years_back,
                            cache_dir_flag(a.cache_dir), sym->view(), to_string(*iv)));
    return exit_problems;  // the temp output file is removed, nothing is written
  }
  if (out) {
    if (auto r = out->commit(); !r) return print_error(r.error()), exit_usage;
    fmt::print("{}: {} {} {} rows {} .. {} ({} bytes)\n", *a.output, sym->view(), to_string(*iv), rep->rows,
               format_utc(rep->first_open), format_utc(rep->last_open), rep->bytes);
  } else if (std::fflush(stdout) != 0) {
    print_error("cannot write the CSV to standard output.");
    return exit_usage;
  }
  return exit_ok;
}

// ---------------------------------------------------------------------------------------
// cache-manager

struct cache_args {
  std::optional<std::string> cache_dir;
  double hours = -1;
  bool dry_run = false;
};

struct opened_file {
  cache_file file;
  std::optional<store::year_header> header;  ///< empty when the header is unreadable
  std::string error;
};

/// Scans the cache; prints the error and returns nullopt when the directory is unusable.
std::optional<std::vector<opened_file>> open_cache(std::filesystem::path const& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    print_error("the cache directory " + dir.string() +
                " does not exist; pass --cache-dir or set ATB_CACHE_DIR, or fill it with `atb data preload-offline`.");
    return std::nullopt;
  }
  auto files = scan_market_data(dir);
  if (!files) return print_error(files.error()), std::nullopt;
  std::vector<opened_file> out;
  for (auto& f : *files) {
    opened_file o{std::move(f), std::nullopt, {}};
    if (o.file.kind == cache_file_kind::year_file) {
      auto y = store::year_file::open(o.file.path);
      if (y)
        o.header = y->header();
      else
        o.error = y.error().message;
    }
    out.push_back(std::move(o));
  }
  return out;
}

std::string candle_text(timestamp_ms t) { return format_utc(t); }

int run_info(cache_args const& a) {
  std::filesystem::path const dir = resolve_cache_dir(a.cache_dir);
  auto files = open_cache(dir);
  if (!files) return exit_usage;

  struct series {
    std::set<int> years;
    std::uint64_t rows = 0, bytes = 0;
    std::size_t files = 0;
  };
  std::map<std::pair<std::string, int>, series> by_series;  // (symbol, interval index)
  std::set<std::string> symbols;
  std::set<int> intervals, years;
  std::uint64_t bytes = 0, rows = 0;
  std::size_t year_files = 0, unreadable = 0, temps = 0, foreign = 0;
  std::optional<std::pair<timestamp_ms, std::string>> oldest, newest;
  for (auto const& f : *files) {
    bytes += f.file.bytes;
    if (f.file.kind == cache_file_kind::temp_file) ++temps;
    if (f.file.kind == cache_file_kind::foreign) ++foreign;
    if (f.file.kind != cache_file_kind::year_file) continue;
    ++year_files;
    if (!f.header) {
      ++unreadable;
      continue;
    }
    auto const& h = *f.header;
    std::string const sym(h.key.symbol.view());
    symbols.insert(sym);
    intervals.insert(static_cast<int>(h.key.interval));
    years.insert(h.key.year);
    rows += h.rows;
    auto& s = by_series[{sym, static_cast<int>(h.key.interval)}];
    s.years.insert(h.key.year), s.rows += h.rows, s.bytes += f.file.bytes, ++s.files;
    if (h.rows == 0) continue;
    std::string const label = sym + " " + std::string(to_string(h.key.interval));
    if (!oldest || h.first_open < oldest->first) oldest = {h.first_open, label};
    if (!newest || h.last_open > newest->first) newest = {h.last_open, label};
  }
  std::error_code ec;
  auto const abs = std::filesystem::absolute(dir, ec);
  fmt::print("cache directory: {}\n", ec ? dir.string() : abs.lexically_normal().string());
  fmt::print("year files:      {} ({}, {} bytes in market_data)\n", year_files, format_bytes(bytes), bytes);
  std::string sym_list, iv_list;
  for (auto const& s : symbols) sym_list += " " + s;
  for (int i : intervals) iv_list += " " + std::string(to_string(static_cast<atb::interval>(i)));
  fmt::print("symbols:         {}{}\n", symbols.size(), symbols.empty() ? "" : " (" + sym_list.substr(1) + ")");
  fmt::print("intervals:       {}{}\n", intervals.size(), intervals.empty() ? "" : " (" + iv_list.substr(1) + ")");
  if (years.empty())
    fmt::print("years:           0\n");
  else
    fmt::print("years:           {} ({}–{})\n", years.size(), *years.begin(), *years.rbegin());
  fmt::print("coverage:        {} symbols × {} intervals × {} years; {} series, {} rows\n", symbols.size(),
             intervals.size(), years.size(), by_series.size(), rows);
  fmt::print("oldest candle:   {}\n", oldest ? candle_text(oldest->first) + " (" + oldest->second + ")" : "none");
  fmt::print("newest candle:   {}\n", newest ? candle_text(newest->first) + " (" + newest->second + ")" : "none");
  for (auto const& [k, s] : by_series)
    fmt::print("  {:<12} {:<4} {}–{}  {:>3} files {:>10} rows {:>12} bytes\n", k.first,
               to_string(static_cast<atb::interval>(k.second)), *s.years.begin(), *s.years.rbegin(), s.files, s.rows,
               s.bytes);
  if (unreadable || temps || foreign)
    fmt::print("attention:       {} unreadable year files, {} leftover temp files, {} other files (run atb-verify{})\n",
               unreadable, temps, foreign, cache_dir_flag(a.cache_dir));
  return exit_ok;
}

int run_list(cache_args const& a) {
  std::filesystem::path const dir = resolve_cache_dir(a.cache_dir);
  auto files = open_cache(dir);
  if (!files) return exit_usage;
  std::int64_t const now = system_now().ms;
  std::vector<opened_file const*> good, other;
  for (auto const& f : *files) (f.header ? good : other).push_back(&f);
  std::sort(good.begin(), good.end(), [](opened_file const* x, opened_file const* y) {
    auto const &a1 = x->header->key, &b1 = y->header->key;
    return std::tuple(a1.symbol, a1.interval, a1.year) < std::tuple(b1.symbol, b1.interval, b1.year);
  });
  fmt::print("{:<12} {:<8} {:<4} {:>8}  {:<19}  {:<19}  {:>10}  {:>5}  {}\n", "SYMBOL", "INTERVAL", "YEAR", "ROWS",
             "FIRST CANDLE", "LAST CANDLE", "BYTES", "AGE", "FILE");
  for (auto const* f : good) {
    auto const& h = *f->header;
    fmt::print("{:<12} {:<8} {:<4} {:>8}  {:<19}  {:<19}  {:>10}  {:>5}  {}\n", h.key.symbol.view(),
               to_string(h.key.interval), h.key.year, h.rows, h.rows ? candle_text(h.first_open) : "-",
               h.rows ? candle_text(h.last_open) : "-", f->file.bytes, format_age(f->file.mtime_ms, now),
               f->file.path.filename().string());
  }
  for (auto const* f : other) {
    char const* what = f->file.kind == cache_file_kind::year_file   ? "unreadable year file"
                       : f->file.kind == cache_file_kind::temp_file ? "leftover temp file"
                                                                    : "not a cache file";
    fmt::print("{:<12} {:<8} {:<4} {:>8}  {:<19}  {:<19}  {:>10}  {:>5}  {} ({}{})\n", "-", "-", "-", "-", "-", "-",
               f->file.bytes, format_age(f->file.mtime_ms, now), f->file.path.filename().string(), what,
               f->error.empty() ? "" : ": " + f->error);
  }
  fmt::print("{} year files, {} other files\n", good.size(), other.size());
  return exit_ok;
}

int run_clear_old(cache_args const& a) {
  std::filesystem::path const dir = resolve_cache_dir(a.cache_dir);
  auto files = open_cache(dir);
  if (!files) return exit_usage;
  std::int64_t const now = system_now().ms;
  auto const cutoff = now - static_cast<std::int64_t>(a.hours * 3'600'000.0);
  std::size_t removed = 0, kept = 0, failed = 0;
  std::uint64_t freed = 0;
  char const* verb = a.dry_run ? "would remove" : "removed";
  for (auto const& f : *files) {
    // Only what the store writes is ever deleted; other files belong to the user.
    if (f.file.kind == cache_file_kind::foreign) continue;
    if (f.file.mtime_ms >= cutoff) {
      ++kept;
      continue;
    }
    std::string what = f.header ? fmt::format("{} {} {}", f.header->key.symbol.view(), to_string(f.header->key.interval),
                                              f.header->key.year)
                       : f.file.kind == cache_file_kind::temp_file ? std::string("leftover temp file")
                                                                   : std::string("unreadable year file");
    if (!a.dry_run) {
      std::error_code ec;
      std::filesystem::remove(f.file.path, ec);
      if (ec) {
        print_error("cannot remove " + f.file.path.string() + ": " + ec.message() + ".");
        ++failed;
        continue;
      }
    }
    fmt::print("{} {} ({}, {}, {} old)\n", verb, what, f.file.path.string(), format_bytes(f.file.bytes),
               format_age(f.file.mtime_ms, now));
    ++removed, freed += f.file.bytes;
  }
  fmt::print("{} {} files older than {} hours ({}); {} kept\n", verb, removed, a.hours, format_bytes(freed), kept);
  return failed ? exit_usage : exit_ok;
}

}  // namespace

void register_store_commands(CLI::App& data, command_registry& registry) {
  // ---- import
  auto ia = std::make_shared<import_args>();
  CLI::App* imp = data.add_subcommand("import", "Import Binance kline CSV files (REST/data.binance.vision layout) into the cache");
  add_cache_dir_option(*imp, ia->cache_dir);
  imp->add_option("--symbol", ia->symbol, "Symbol of every file (default: from the SYMBOL-INTERVAL[-…].csv name)");
  imp->add_option("--timeframe", ia->timeframe, "Interval of every file, e.g. 1h or 1M (default: from the file name)");
  imp->add_option("files", ia->files, "CSV files to import")->required();
  imp->callback([ia, &registry] { registry.action = [ia] { return run_import(*ia); }; });

  // ---- export
  auto ea = std::make_shared<export_args>();
  CLI::App* exp = data.add_subcommand("export", "Write cached klines as Binance CSV (12 fields, ms, no header)");
  add_cache_dir_option(*exp, ea->cache_dir);
  exp->add_option("--symbol", ea->symbol, "Symbol, e.g. BTCUSDT")->required();
  exp->add_option("--timeframe", ea->timeframe, "Interval, e.g. 1h")->required();
  exp->add_option("--start", ea->start, "First day, YYYY-MM-DD (UTC, inclusive; default: all)");
  exp->add_option("--end", ea->end, "Day after the last, YYYY-MM-DD (UTC, exclusive; default: all)");
  exp->add_option("--output", ea->output, "Output file, written atomically (default: standard output)");
  exp->callback([ea, &registry] { registry.action = [ea] { return run_export(*ea); }; });

  // ---- cache-manager
  auto ca = std::make_shared<cache_args>();
  CLI::App* cm = data.add_subcommand("cache-manager", "Inspect and maintain the cache: info, list, clear-old");
  cm->require_subcommand(1);
  add_cache_dir_option(*cm, ca->cache_dir);
  CLI::App* info = cm->add_subcommand("info", "Directory, files, bytes, symbols × intervals × years, oldest/newest candle");
  add_cache_dir_option(*info, ca->cache_dir);
  info->callback([ca, &registry] { registry.action = [ca] { return run_info(*ca); }; });
  CLI::App* list = cm->add_subcommand("list", "One line per year file: symbol, interval, year, rows, candles, bytes, age");
  add_cache_dir_option(*list, ca->cache_dir);
  list->callback([ca, &registry] { registry.action = [ca] { return run_list(*ca); }; });
  CLI::App* clear = cm->add_subcommand("clear-old", "Remove year files (and leftover temp files) older than --hours");
  add_cache_dir_option(*clear, ca->cache_dir);
  clear->add_option("--hours", ca->hours, "Age limit in hours, by file modification time")
      ->required()
      ->check(CLI::NonNegativeNumber);
  clear->add_flag("--dry-run", ca->dry_run, "Only print what would be removed");
  clear->callback([ca, &registry] { registry.action = [ca] { return run_clear_old(*ca); }; });
}

}  // namespace atb::cli
