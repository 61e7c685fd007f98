// `atb-verify`: checks every file of <cache>/market_data. Corruption is an error naming the
// file and what is wrong; gaps against the interval grid are information; leftover temp
// files and foreign files are warnings. Exit 0 all year files intact, 1 problems, 2 usage/I/O.
#include "cache_scan.hpp"
#include "cli_common.hpp"

#include "atb/store/year_file.hpp"

#include <fmt/core.h>

#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace atb::cli {
namespace {

struct verify_args {
  std::optional<std::string> cache_dir;
  bool json = false;
  unsigned jobs = 0;  // 0 = hardware threads
};

enum class file_status { ok, error, warning };

struct file_result {
  cache_file file;
  file_status status = file_status::ok;
  std::optional<store::year_header> header;
  std::vector<std::string> errors, warnings;
  std::uint64_t gaps = 0, decoded_bytes = 0;
  std::vector<std::string> gap_examples;
};

void check_file(file_result& r) {
  switch (r.file.kind) {
    case cache_file_kind::temp_file:
      r.status = file_status::warning;
      r.warnings.push_back(r.file.path.string() +
                           " is a temp file left by an interrupted write; its data never reached the cache, "
                           "so it can be removed (atb data cache-manager clear-old removes old ones).");
      return;
    case cache_file_kind::foreign:
      r.status = file_status::warning;
      r.warnings.push_back(r.file.path.string() + (r.file.is_directory ? " is a directory" : " is not a year file") +
                           " (the store only writes <sha256>.atb files here); move it out of the cache.");
      return;
    case cache_file_kind::year_file:
      break;
  }
  auto f = store::year_file::open(r.file.path);
  if (!f) {
    r.status = file_status::error;
    r.errors.push_back(f.error().message);
    return;
  }
  r.header = f->header();
  auto v = f->verify();
  if (!v) {
    r.status = file_status::error;
    r.errors.push_back(v.error().message);
    return;
  }
  r.gaps = v->gaps;
  r.gap_examples = v->gap_examples;
  r.decoded_bytes = v->decoded_bytes;
}

/// JSON string literal of s. Bytes that are not valid UTF-8 (possible in file names)
/// become U+FFFD so that the output is always valid JSON.
std::string json_str(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size();) {
    auto const c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\', out += static_cast<char>(c), ++i;
    } else if (c < 0x20) {
      out += fmt::format("\\u{:04x}", c), ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c), ++i;
    } else {
      std::size_t const n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
      bool ok = n != 0 && i + n <= s.size();
      for (std::size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
      if (ok && n == 3) {  // no overlong forms or surrogates
        auto const c1 = static_cast<unsigned char>(s[i + 1]);
        ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);
      }
      if (ok && n == 4) {
        auto const c1 = static_cast<unsigned char>(s[i + 1]);
        ok = !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
      }
      if (ok) {
        out.append(s.substr(i, n)), i += n;
      } else {
        out += "\\ufffd", ++i;
      }
    }
  }
  return out + '"';
}

std::string json_str_array(std::vector<std::string> const& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + json_str(v[i]);
  return out + "]";
}

char const* status_name(file_status s) {
  return s == file_status::ok ? "ok" : s == file_status::error ? "error" : "warning";
}

std::string gap_text(file_result const& r) {
  if (r.gaps == 0) return "";
  std::string s = fmt::format(", {} missing candle{}", r.gaps, r.gaps == 1 ? "" : "s");
  if (!r.gap_examples.empty()) {
    s += " (";
    for (std::size_t i = 0; i < r.gap_examples.size() && i < 3; ++i) s += (i ? "; " : "") + r.gap_examples[i];
    if (r.gap_examples.size() > 3) s += "; …";
    s += ")";
  }
  return s;
}

int run_verify(verify_args const& a) {
  std::filesystem::path const dir = resolve_cache_dir(a.cache_dir);
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    print_error("the cache directory " + dir.string() +
                " does not exist; pass --cache-dir or set ATB_CACHE_DIR to the cache to verify.");
    return exit_usage;
  }
  auto scanned = scan_market_data(dir);
  if (!scanned) return print_error(scanned.error()), exit_usage;

  std::vector<file_result> results(scanned->size());
  for (std::size_t i = 0; i < results.size(); ++i) results[i].file = std::move((*scanned)[i]);

  unsigned jobs = a.jobs ? a.jobs : std::max(1u, std::thread::hardware_concurrency());
  jobs = static_cast<unsigned>(std::min<std::size_t>(jobs, std::max<std::size_t>(results.size(), 1)));
  auto const t0 = std::chrono::steady_clock::now();
  {
    // A fixed pool of workers taking the next file from a shared index.
    std::atomic<std::size_t> next{0};
    auto worker = [&] {
      for (std::size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < results.size();) check_file(results[i]);
    };
    std::vector<std::jthread> pool;
    for (unsigned j = 1; j < jobs; ++j) pool.emplace_back(worker);
    worker();
  }
  double const seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // CPU time of the whole process: on a busy machine wall time says little about decoding.
  double cpu_seconds = 0;
  if (rusage ru{}; ::getrusage(RUSAGE_SELF, &ru) == 0)
    cpu_seconds = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                  static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;

  std::size_t year_files = 0, intact = 0, corrupt = 0, warnings = 0, with_gaps = 0;
  std::uint64_t bytes = 0, decoded = 0, gaps = 0, rows = 0;
  for (auto const& r : results) {
    bytes += r.file.bytes;
    decoded += r.decoded_bytes;
    gaps += r.gaps;
    if (r.file.kind == cache_file_kind::year_file) ++year_files;
    if (r.status == file_status::ok) ++intact, rows += r.header ? r.header->rows : 0;
    if (r.status == file_status::error) ++corrupt;
    if (r.status == file_status::warning) ++warnings;
    if (r.gaps) ++with_gaps;
  }
  double const rate = seconds > 0 ? static_cast<double>(decoded) / seconds : 0.0;
  int const rc = corrupt ? exit_problems : exit_ok;

  if (a.json) {
    for (auto const& r : results) {
      std::string o = "{\"type\":" + json_str(r.file.kind == cache_file_kind::year_file   ? "year_file"
                                              : r.file.kind == cache_file_kind::temp_file ? "temp_file"
                                                                                          : "foreign");
      o += ",\"path\":" + json_str(r.file.path.string());
      if (r.header) {
        o += ",\"symbol\":" + json_str(r.header->key.symbol.view());
        o += ",\"interval\":" + json_str(to_string(r.header->key.interval));
        o += fmt::format(",\"year\":{},\"rows\":{}", r.header->key.year, r.header->rows);
      } else {
        o += ",\"symbol\":null,\"interval\":null,\"year\":null,\"rows\":null";
      }
      o += fmt::format(",\"status\":\"{}\",\"errors\":{},\"warnings\":{},\"gaps\":{},\"gap_examples\":{}",
                       status_name(r.status), json_str_array(r.errors), json_str_array(r.warnings), r.gaps,
                       json_str_array(r.gap_examples));
      o += fmt::format(",\"bytes\":{},\"decoded_bytes\":{}}}\n", r.file.bytes, r.decoded_bytes);
      std::fputs(o.c_str(), stdout);
    }
    fmt::print("{{\"type\":\"summary\",\"cache_dir\":{},\"status\":\"{}\",\"files\":{},\"year_files\":{},"
               "\"intact\":{},\"corrupt\":{},\"warnings\":{},\"files_with_gaps\":{},\"gaps\":{},\"rows\":{},"
               "\"bytes\":{},\"decoded_bytes\":{},\"seconds\":{:.6f},\"cpu_seconds\":{:.6f},"
               "\"decoded_bytes_per_second\":{:.0f},\"jobs\":{}}}\n",
               json_str(dir.string()), rc == exit_ok ? "ok" : "problems", results.size(), year_files, intact, corrupt,
               warnings, with_gaps, gaps, rows, bytes, decoded, seconds, cpu_seconds, rate, jobs);
  } else {
    for (auto const& r : results) {
      switch (r.status) {
        case file_status::ok:
          fmt::print("ok       {} {} {} ({} rows{}) {}\n", r.header->key.symbol.view(), to_string(r.header->key.interval),
                     r.header->key.year, r.header->rows, gap_text(r), r.file.path.filename().string());
          break;
        case file_status::error:
          for (auto const& e : r.errors) {
            // Store messages name the file; add the path only when one does not.
            bool const named = e.find(r.file.path.filename().string()) != std::string::npos;
            fmt::print("ERROR    {}{}\n", named ? "" : r.file.path.string() + ": ", e);
          }
          break;
        case file_status::warning:
          for (auto const& w : r.warnings) fmt::print("WARNING  {}\n", w);
          break;
      }
    }
    if (year_files == 0) fmt::print("no year files in {}\n", store::market_data_dir(dir).string());
    fmt::print("{}: {} of {} year files intact, {} corrupt, {} warnings; {} missing candles in {} files (information); "
               "{} rows, {} on disk; decoded {} in {:.3f} s = {:.2f} GB/s with {} jobs ({:.3f} s CPU)\n",
               corrupt ? "PROBLEMS" : "OK", intact, year_files, corrupt, warnings, gaps, with_gaps, rows,
               format_bytes(bytes), format_bytes(decoded), seconds, rate / 1e9, jobs, cpu_seconds);
  }
  std::fflush(stdout);
  return rc;
}

}  // namespace
}  // namespace atb::cli

int main(int argc, char** argv) {
  CLI::App app{"atb-verify: check every year file of the atb cache (checksums, decoding, invariants, gaps)"};
  app.set_version_flag("--version", "atb-verify 0.1.0");
  atb::cli::command_registry registry;
  atb::cli::verify_args args;
  atb::cli::add_cache_dir_option(app, args.cache_dir);
  app.add_flag("--json", args.json, "One JSON object per line: each file, then a summary");
  app.add_option("--jobs", args.jobs, "Files verified in parallel (default: hardware threads)")
      ->check(CLI::Range(1u, 1024u));
  app.callback([&] { registry.action = [&] { return atb::cli::run_verify(args); }; });
  return atb::cli::run_app(app, registry, argc, argv);
}
