// atb data preload-offline | prefill-cache | download, atb demo: the downloader's commands.
#include "cli_common.hpp"

#include "atb/core/kline_csv.hpp"
#include "atb/fetch/errors.hpp"
#include "atb/fetch/planner.hpp"
#include "atb/fetch/preload.hpp"
#include "atb/store/cache.hpp"
#include "atb/store/year_file.hpp"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace atb::cli {
namespace {

using namespace atb::fetch;

// Flags shared by every command that talks to the API.
struct net_flags {
  std::string base_url = "https://api.binance.com";
  std::size_t concurrency = 8;
  double weight_share = 0.95;
  std::optional<std::string> ca_file;
  double request_timeout_s = 60;
  std::optional<int> zstd_level;
  bool json = false;
};

void add_net_flags(CLI::App& c, net_flags& f) {
  c.add_option("--base-url", f.base_url, "API base URL (env ATB_BASE_URL)")
      ->envname("ATB_BASE_URL")
      ->capture_default_str();
  c.add_option("--concurrency", f.concurrency, "Requests in flight at once")->capture_default_str()->check(CLI::Range(1, 256));
  c.add_option("--weight-share", f.weight_share, "Fraction of the server's request-weight limit to use")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 1.0));
  c.add_option("--ca-file", f.ca_file, "Extra trusted CA certificate (PEM) for HTTPS, besides the system store");
  c.add_option("--request-timeout", f.request_timeout_s, "Seconds one HTTP request may take in all")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  c.add_option("--zstd-level", f.zstd_level, "zstd level of the year files written (default: the store's; lower is faster)")
      ->check(CLI::Range(1, 19));
  c.add_flag("--json", f.json, "Print a JSON summary on stdout (human lines go to stderr)");
}

// Human output: stdout, or stderr when --json owns stdout.
struct console {
  std::FILE* out = stdout;
  bool live = false;  // a terminal: one self-overwriting progress line
  bool line_open = false;
  std::int64_t last_plain_ms = 0;
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();

  explicit console(bool json) : out(json ? stderr : stdout) { live = ::isatty(::fileno(out)) == 1; }
  void clear_line() {
    if (line_open) std::fputs("\r\033[K", out), line_open = false;
  }
  void line(std::string const& s) {
    clear_line();
    std::fputs(s.c_str(), out);
    std::fputc('\n', out);
    std::fflush(out);
  }
  void progress(live_status const& s) {
    std::string eta = s.progress.eta_ms ? format_duration_ms(*s.progress.eta_ms) : std::string("?");
    std::string weight = s.weight_limit > 0 ? fmt::format("weight {}/{} (limit {} per {} s)", s.window_weight, s.weight_budget,
                                                          s.weight_limit, s.window_ms / 1000)
                                            : std::string("no weight limit");
    std::string text = fmt::format("{} / ~{} candles | {:.1f} req/s | {} | 429s {} | retries {} | ETA {}",
                                   format_count(s.progress.candles), format_count(s.progress.candles_total_estimate),
                                   s.progress.requests_per_s, weight, s.status_429, s.retries, eta);
    if (live) {
      std::fputs("\r\033[K", out);
      std::fputs(text.c_str(), out);
      std::fflush(out);
      line_open = true;
      return;
    }
    auto const now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    if (now - last_plain_ms >= 10'000) {
      last_plain_ms = now;
      line("Progress: " + text);
    }
  }
};

std::atomic<bool> g_stop{false};

result<std::vector<atb::symbol>> parse_symbols(std::vector<std::string> const& in) {
  std::vector<atb::symbol> out;
  for (auto const& s : in) {
    auto r = atb::symbol::parse(s);
    if (!r) return r.error();
    if (std::find(out.begin(), out.end(), *r) == out.end()) out.push_back(*r);
  }
  return out;
}
result<std::vector<atb::interval>> parse_intervals(std::vector<std::string> const& in) {
  std::vector<atb::interval> out;
  for (auto const& s : in) {
    auto r = parse_interval(s);
    if (!r) return r.error();
    if (std::find(out.begin(), out.end(), *r) == out.end()) out.push_back(*r);
  }
  return out;
}

preload_options base_options(net_flags const& f, std::filesystem::path cache_dir, console& con) {
  preload_options o;
  o.cache_dir = std::move(cache_dir);
  o.base_url = f.base_url;
  o.concurrency = f.concurrency;
  o.weight_share = f.weight_share;
  o.zstd_level = f.zstd_level;
  if (f.ca_file) o.http.ca_file = std::filesystem::path(*f.ca_file);
  o.http.request_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(f.request_timeout_s * 1000));
  o.http.read_timeout = std::min(o.http.read_timeout, o.http.request_timeout);
  o.http.connect_timeout = std::min(o.http.connect_timeout, o.http.request_timeout);
  o.log = [&con](std::string const& s) { con.line(s); };
  o.progress = [&con](live_status const& s) { con.progress(s); };
  o.stop = &g_stop;
  o.handle_signals = true;
  return o;
}

void print_summary(console& con, preload_summary const& s, bool json) {
  double const rate = s.seconds > 0 ? static_cast<double>(s.weight_used) / s.seconds : 0;
  double const ceiling = s.window_ms > 0 ? static_cast<double>(s.weight_budget) * 1000.0 / static_cast<double>(s.window_ms) : 0;
  // A run shorter than one window may spend the whole window's budget at once, so a
  // per-second average would wrongly look like the budget was exceeded: compare with
  // the window budget instead.
  bool const within_one_window = s.window_ms > 0 && s.seconds * 1000.0 < static_cast<double>(s.window_ms);
  std::string const usage =
      within_one_window ? fmt::format("{} of {} allowed per {} ms window at share {:.2f}", s.weight_used, s.weight_budget,
                                      s.window_ms, s.weight_share)
      : ceiling > 0     ? fmt::format("{:.1f}/s of {:.1f}/s allowed at share {:.2f}", rate, ceiling, s.weight_share)
                        : fmt::format("{:.1f}/s", rate);
  con.line(fmt::format("{} in {:.1f} s: {} candles, {} requests ({} klines), weight {} ({}), {} × 429, {} retries, "
                       "{} files written, {} failed ranges.",
                       s.interrupted ? "Interrupted" : "Done", s.seconds, format_count(static_cast<std::int64_t>(s.candles)), s.requests,
                       s.klines_requests, s.weight_used, usage,
                       s.status_429, s.retries, s.files_written, s.failed.size()));
  for (auto const& f : s.failed) con.line("  failed: " + f.describe());
  if (s.interrupted) con.line("Run the same command again to resume where it stopped.");
  else if (!s.failed.empty()) con.line("Run the same command again later to fetch the failed ranges; everything else is saved.");
  if (json) {
    std::fputs(s.to_json().c_str(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  }
}

// "Cache hit …" / "Cache miss …" per year: what an offline run can serve. Returns misses.
int report_cache(console& con, std::filesystem::path const& dir, std::vector<atb::symbol> const& syms,
                 std::vector<atb::interval> const& ivs, int y0, int y1) {
  int misses = 0;
  for (auto const& s : syms)
    for (auto iv : ivs)
      for (int y = y0; y <= y1; ++y) {
        store::year_key k{s, iv, y};
        std::string const what = store::key_string(k);
        auto path = store::year_file_path(dir, k);
        std::error_code ec;
        if (!std::filesystem::exists(path, ec)) {
          ++misses;
          con.line(fmt::format("Cache miss {}: not in {}; fill it with `atb data preload-offline --symbols {} --timeframes {}` "
                               "where the API is reachable.",
                               what, dir.string(), s.view(), to_string(iv)));
          continue;
        }
        auto f = store::year_file::open(path);
        if (!f) {
          ++misses;
          con.line("Cache miss " + what + ": " + f.error().message);
          continue;
        }
        con.line(fmt::format("Cache hit {} ({} candles{})", what, format_count(f->header().rows),
                             f->header().complete() ? ", complete" : ", partial"));
      }
  return misses;
}

int print_coverage(console& con, std::filesystem::path const& dir, std::vector<atb::symbol> const& syms,
                   std::vector<atb::interval> const& ivs, int y0, int y1) {
  auto rows = offline_coverage(dir, syms, ivs, y0, y1);
  con.line(fmt::format("Offline coverage of {} (years {}..{}), read back through the offline path:", dir.string(), y0, y1));
  con.line(fmt::format("{:<10} {:<4} {:>5} {:>8} {:>12} {:>6}  {:<19}  {:<19}", "symbol", "tf", "years", "complete", "candles",
                       "gaps", "first", "last"));
  int bad = 0;
  for (auto const& r : rows) {
    con.line(fmt::format("{:<10} {:<4} {:>5} {:>8} {:>12} {:>6}  {:<19}  {:<19}", r.symbol.view(), to_string(r.interval), r.years,
                         r.complete_years, format_count(static_cast<std::int64_t>(r.candles)), r.gaps,
                         r.candles ? format_utc(r.first) : "-", r.candles ? format_utc(r.last) : "-"));
    for (auto const& p : r.problems) con.line("  problem: " + p);
    if (r.candles == 0 || !r.problems.empty()) ++bad;
  }
  if (bad) con.line(fmt::format("{} symbol × timeframe pairs have no readable data offline.", bad));
  else con.line("Offline access OK: every symbol × timeframe has data.");
  return bad;
}

// Year buffers are large (a 1m year is ~46 MB) and are freed on writer threads: a fixed
// mmap threshold returns them to the system at once instead of letting glibc's adaptive
// threshold keep them in fragmented heaps, which keeps peak RSS near the engine's budget.
void limit_heap_growth() { ::mallopt(M_MMAP_THRESHOLD, 4 << 20); }

// Runs a download and prints its summary; the offline fallback when the API is unreachable.
int run_download(preload_options& o, console& con, net_flags const& f, bool& unreachable) {
  unreachable = false;
  g_stop = false;
  limit_heap_growth();
  auto r = run_preload(o);
  con.clear_line();
  if (!r) {
    print_error(r.error());
    unreachable = is_unreachable(r.error());
    if (f.json) std::printf("{\"error\":\"%s\"}\n", r.error().message.c_str());
    return exit_usage;
  }
  print_summary(con, *r, f.json);
  return (r->failed.empty() && !r->interrupted) ? exit_ok : exit_problems;
}

// ------------------------------------------------------------------ demo

std::filesystem::path self_dir() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path(".") : p.parent_path();
}

struct child {
  pid_t pid = -1;
  int out_fd = -1;
};

// Starts argv[0] with argv (no shell); stdout piped back when pipe_out.
std::optional<child> spawn(std::vector<std::string> const& args, bool pipe_out) {
  int fds[2] = {-1, -1};
  if (pipe_out && ::pipe(fds) != 0) return std::nullopt;
  pid_t pid = ::fork();
  if (pid < 0) return std::nullopt;
  if (pid == 0) {
    if (pipe_out) {
      ::dup2(fds[1], STDOUT_FILENO);
      ::close(fds[0]);
      ::close(fds[1]);
    }
    std::vector<char*> av;
    for (auto const& a : args) av.push_back(const_cast<char*>(a.c_str()));
    av.push_back(nullptr);
    ::execv(av[0], av.data());
    std::_Exit(127);
  }
  child c{pid, -1};
  if (pipe_out) {
    ::close(fds[1]);
    c.out_fd = fds[0];
  }
  return c;
}

int wait_child(pid_t pid) {
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

struct demo_flags {
  std::optional<std::string> cache_dir;
  // 40 weight/s: the 10 × 3 × 10-year preload (~2,200 weight) takes about a minute.
  std::int64_t weight_limit = 40;
  std::int64_t window_ms = 1000;
  std::int64_t latency_ms = 20;
  std::string now = "2026-11-25T12:00:00Z";
  std::uint64_t seed = 42;
};

int run_demo(demo_flags const& d) {
  console con(false);
  auto const dir = std::filesystem::path(d.cache_dir ? *d.cache_dir : "demo-cache");
  auto const bin = self_dir();
  auto const sim = bin / "atb-mock-exchange";
  auto const verify = bin / "atb-verify";
  if (::access(sim.c_str(), X_OK) != 0) {
    print_error("The simulator " + sim.string() + " is missing; build it with `cmake --build <build dir> --target atb-mock-exchange`.");
    return exit_usage;
  }
  std::error_code ec;
  auto const marker = dir / "meta" / "atb-demo";
  if (std::filesystem::exists(dir / "market_data", ec)) {
    // A fresh cache each time, but never wipe a cache the demo did not create.
    if (!std::filesystem::exists(marker, ec)) {
      print_error(dir.string() + " already holds a cache that atb demo did not create; pass an empty or new --cache-dir.");
      return exit_usage;
    }
    std::filesystem::remove_all(dir / "market_data", ec);
    if (!ec) std::filesystem::remove(first_candles_path(dir), ec);
    if (ec) {
      print_error("Cannot clear the demo cache " + dir.string() + " (" + ec.message() + "); pass another --cache-dir.");
      return exit_usage;
    }
  }
  std::filesystem::create_directories(dir / "meta", ec);
  if (ec || !store::atomic_write_file(marker, "created by atb demo\n")) {
    print_error("Cannot create the demo cache " + dir.string() + "; pass a writable --cache-dir.");
    return exit_usage;
  }
  double const per_s = static_cast<double>(d.weight_limit) * 1000.0 / static_cast<double>(d.window_ms);
  con.line(fmt::format("atb demo: simulated Binance on 127.0.0.1 (now = {}, seed {}), limit {} weight per {} ms = {:.0f} weight/s "
                       "({:.0f}/min; real Binance allows 6000/min), {} ms latency.",
                       d.now, d.seed, d.weight_limit, d.window_ms, per_s, per_s * 60, d.latency_ms));
  auto c = spawn({sim.string(), "--port", "0", "--now", d.now, "--seed", std::to_string(d.seed), "--weight-limit",
                  std::to_string(d.weight_limit), "--window-ms", std::to_string(d.window_ms), "--latency-ms",
                  std::to_string(d.latency_ms)},
                 true);
  if (!c) {
    print_error("Cannot start " + sim.string() + " (" + std::strerror(errno) + ").");
    return exit_usage;
  }
  std::string first;
  char ch = 0;
  while (::read(c->out_fd, &ch, 1) == 1 && ch != '\n') first.push_back(ch);
  auto const kill_sim = [&] {
    ::kill(c->pid, SIGTERM);
    wait_child(c->pid);
    ::close(c->out_fd);
  };
  if (!first.starts_with("listening ")) {
    kill_sim();
    print_error("The simulator did not start (its first line was \"" + first.substr(0, 80) + "\").");
    return exit_usage;
  }
  auto const addr = first.substr(10);
  con.line("Simulator listening on " + addr + "; preloading 10 symbols × 1h 4h 1d × 10 years into " + dir.string() + " …");
  net_flags nf;
  nf.base_url = "http://" + addr;
  auto o = base_options(nf, dir, con);
  o.log = [&con](std::string const& s) {
    if (!s.starts_with("Saved ")) con.line(s);
  };
  g_stop = false;
  limit_heap_growth();
  auto r = run_preload(o);
  con.clear_line();
  kill_sim();
  if (!r) {
    print_error(r.error());
    return exit_problems;
  }
  print_summary(con, *r, false);
  int verify_rc = -1;
  if (::access(verify.c_str(), X_OK) == 0) {
    con.line("Verifying: atb-verify --cache-dir " + dir.string());
    if (auto v = spawn({verify.string(), "--cache-dir", dir.string()}, true)) {
      // Per-file "ok" lines are noise here; everything else (problems, the summary) is shown.
      std::string text, line;
      char buf[4096];
      for (ssize_t n; (n = ::read(v->out_fd, buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
      ::close(v->out_fd);
      verify_rc = wait_child(v->pid);
      std::size_t pos = 0;
      while (pos < text.size()) {
        auto const nl = text.find('\n', pos);
        line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? text.size() : nl + 1;
        if (!line.starts_with("ok ")) con.line("  " + line);
      }
    }
  } else {
    con.line("atb-verify is not built; skipping verification.");
  }
  int backtest_rc = -1;
  auto const self = (bin / "atb").string();
  if (auto h = spawn({self, "backtest", "--help"}, true)) {
    char buf[256];
    while (::read(h->out_fd, buf, sizeof buf) > 0) {
    }
    ::close(h->out_fd);
    if (wait_child(h->pid) == 0) {
      con.line("Backtest: atb backtest sma_cross --symbol BTCUSDT --timeframe 1d --days 1000 --cache-dir " + dir.string());
      if (auto b = spawn({self, "backtest", "sma_cross", "--symbol", "BTCUSDT", "--timeframe", "1d", "--days", "1000", "--cache-dir",
                          dir.string()},
                         false))
        backtest_rc = wait_child(b->pid);
    } else {
      con.line("`atb backtest` is not available in this build; skipping the backtest.");
    }
  }
  con.line("");
  con.line("Demo summary");
  con.line(fmt::format("  download : {} candles in {:.1f} s, {} requests, {} × 429, {} failed ranges, at {:.1f} weight/s "
                       "(simulator limit {:.0f}/s, share {:.2f})",
                       format_count(static_cast<std::int64_t>(r->candles)), r->seconds, r->requests, r->status_429, r->failed.size(),
                       r->seconds > 0 ? static_cast<double>(r->weight_used) / r->seconds : 0.0, per_s, r->weight_share));
  con.line("  verify   : " + std::string(verify_rc == 0 ? "clean" : verify_rc < 0 ? "not run" : "PROBLEMS (exit " + std::to_string(verify_rc) + ")"));
  con.line("  backtest : " + std::string(backtest_rc == 0 ? "ok" : backtest_rc < 0 ? "not run" : "failed (exit " + std::to_string(backtest_rc) + ")"));
  con.line("  cache    : " + dir.string());
  bool const ok = r->failed.empty() && !r->interrupted && (verify_rc <= 0) && backtest_rc <= 0;
  return ok ? exit_ok : exit_problems;
}

// What preload-offline and prefill-cache share: the same engine, differing only in the
// current year's TTL and in the flags they offer.
struct fill_args {
  std::vector<std::string> symbols, timeframes;
  int years = default_years_back;
  std::optional<std::string> cache_dir;
  bool force_refresh = false, test_offline = false;
  net_flags net;
};

int run_fill(fill_args const& a, std::int64_t current_year_ttl_ms) {
  auto syms = parse_symbols(a.symbols);
  if (!syms) return print_error(syms.error()), exit_usage;
  auto ivs = parse_intervals(a.timeframes);
  if (!ivs) return print_error(ivs.error()), exit_usage;
  console con(a.net.json);
  auto const dir = resolve_cache_dir(a.cache_dir);
  auto o = base_options(a.net, dir, con);
  o.symbols = *syms;
  o.intervals = *ivs;
  o.years_back = a.years;
  o.force_refresh = a.force_refresh;
  o.current_year_ttl_ms = current_year_ttl_ms;
  bool unreachable = false;
  int rc = run_download(o, con, a.net, unreachable);
  auto const [y0, y1] = years_back_range(system_now(), a.years);
  if (unreachable) {
    con.line("The API is unreachable; what the cache can serve offline:");
    report_cache(con, dir, *syms, *ivs, y0, y1);
  }
  if (a.test_offline && print_coverage(con, dir, *syms, *ivs, y0 - 1, y1 + 1) && rc == exit_ok) rc = exit_problems;
  return rc;
}

std::shared_ptr<fill_args> default_fill_args() {
  auto s = std::make_shared<fill_args>();
  for (auto const& x : default_symbols()) s->symbols.push_back(x.str());
  for (auto iv : default_intervals()) s->timeframes.emplace_back(to_string(iv));
  return s;
}

}  // namespace

void register_fetch_commands(CLI::App& root, CLI::App& data, command_registry& registry) {
  // ---- preload-offline
  {
    auto s = default_fill_args();
    auto* c = data.add_subcommand("preload-offline", "Download years of klines into the cache for offline use");
    c->add_option("--symbols", s->symbols, "Trading pairs")->capture_default_str();
    c->add_option("--timeframes", s->timeframes, "Intervals (1m 5m 1h 4h 1d …)")->capture_default_str();
    c->add_option("--years-back", s->years, "Years of history")->capture_default_str()->check(CLI::Range(1, 30));
    add_cache_dir_option(*c, s->cache_dir);
    c->add_flag("--force-refresh", s->force_refresh, "Refresh the current year even if it is within its TTL");
    c->add_flag("--test-offline", s->test_offline, "Read everything back offline and print the coverage per symbol × timeframe");
    add_net_flags(*c, s->net);
    c->callback([s, &registry] { registry.action = [s] { return run_fill(*s, preload_current_year_ttl_ms); }; });
  }
  // ---- prefill-cache
  {
    auto s = default_fill_args();
    s->years = 3;
    auto* c = data.add_subcommand("prefill-cache", "Fill the cache (current year refreshed when older than an hour)");
    c->add_option("--symbols", s->symbols, "Trading pairs")->capture_default_str();
    c->add_option("--timeframes", s->timeframes, "Intervals")->capture_default_str();
    c->add_option("--years", s->years, "Years of history")->capture_default_str()->check(CLI::Range(1, 30));
    add_cache_dir_option(*c, s->cache_dir);
    add_net_flags(*c, s->net);
    c->callback([s, &registry] { registry.action = [s] { return run_fill(*s, regular_current_year_ttl_ms); }; });
  }
  // ---- download
  {
    struct st {
      std::string symbol, timeframe = "1h", start_date;
      std::optional<std::string> end_date, output, cache_dir;
      net_flags net;
    };
    auto s = std::make_shared<st>();
    auto* c = data.add_subcommand("download", "Download one symbol's klines for a date range (through the cache) into a CSV file");
    c->add_option("symbol", s->symbol, "Trading pair, e.g. BTCUSDT")->required();
    c->add_option("--timeframe", s->timeframe, "Interval")->capture_default_str();
    c->add_option("--start_date,--start-date", s->start_date, "First day (YYYY-MM-DD, UTC)")->required();
    c->add_option("--end_date,--end-date", s->end_date, "Last day, inclusive (default: today)");
    c->add_option("--output", s->output, "CSV file to write (default: <SYMBOL>_<tf>_<start>_<end>.csv)");
    add_cache_dir_option(*c, s->cache_dir);
    add_net_flags(*c, s->net);
    c->callback([s, &registry] {
      registry.action = [s]() -> int {
        auto sym = atb::symbol::parse(s->symbol);
        if (!sym) return print_error(sym.error()), exit_usage;
        auto iv = parse_interval(s->timeframe);
        if (!iv) return print_error(iv.error()), exit_usage;
        auto sd = parse_date(s->start_date);
        if (!sd) return print_error(sd.error()), exit_usage;
        timestamp_ms const from = to_timestamp(*sd);
        timestamp_ms to = system_now();
        std::string end_text = format_date(to);
        if (s->end_date) {
          auto ed = parse_date(*s->end_date);
          if (!ed) return print_error(ed.error()), exit_usage;
          to = timestamp_ms{to_timestamp(*ed).ms + ms_per_day};
          end_text = *s->end_date;
        }
        if (to <= from) return print_error("--end_date is before --start_date; give a range that moves forward in time."), exit_usage;
        std::string const out_path =
            s->output ? *s->output : fmt::format("{}_{}_{}_{}.csv", sym->view(), to_string(*iv), s->start_date, end_text);
        if (out_path.empty()) return print_error("--output is empty; name a CSV file."), exit_usage;
        console con(s->net.json);
        auto const dir = resolve_cache_dir(s->cache_dir);
        auto o = base_options(s->net, dir, con);
        o.symbols = {*sym};
        o.intervals = {*iv};
        int const y0 = year_of(from), y1 = year_of(timestamp_ms{to.ms - 1});
        o.years = std::pair{y0, y1};
        o.current_year_ttl_ms = regular_current_year_ttl_ms;
        o.progress = nullptr;
        bool unreachable = false;
        int rc = run_download(o, con, s->net, unreachable);
        if (rc == exit_usage && !unreachable) return rc;
        int misses = 0;
        if (unreachable) {
          con.line("The API is unreachable; serving the range from the cache.");
          misses = report_cache(con, dir, o.symbols, o.intervals, y0, y1);
        }
        store::cache cache(dir);
        auto rows = cache.load(*sym, *iv, from, to);
        if (!rows) return print_error(rows.error()), exit_usage;
        std::string csv;
        csv.reserve(rows->size() * 160);
        for (std::size_t i = 0; i < rows->size(); ++i) append_kline_csv_line(csv, *rows, i);
        if (auto w = store::atomic_write_file(out_path, csv); !w) return print_error(w.error()), exit_usage;
        con.line(fmt::format("Wrote {} candles of {} {} ({} .. {}) to {}.", format_count(static_cast<std::int64_t>(rows->size())),
                             sym->view(), to_string(*iv), s->start_date, end_text, out_path));
        if (rows->empty()) {
          con.line(fmt::format("No candles: run `atb data preload-offline --symbols {} --timeframes {}` where the API is reachable.",
                               sym->view(), to_string(*iv)));
          return exit_problems;
        }
        // Offline, every year of the range found in the cache is a success (the guide's
        // offline mode); a year missing from it is a problem (its candles are not in the CSV).
        if (unreachable) return misses ? exit_problems : exit_ok;
        return rc;
      };
    });
  }
  // ---- demo
  {
    auto d = std::make_shared<demo_flags>();
    auto* c = root.add_subcommand("demo", "Preload 10 symbols × 1h 4h 1d × 10 years from a local simulated Binance, verify, backtest");
    add_cache_dir_option(*c, d->cache_dir)->description("Cache directory for the demo (default ./demo-cache; its market data is replaced)");
    c->add_option("--weight-limit", d->weight_limit, "Simulator weight limit per window")->capture_default_str()->check(CLI::Range(10, 1000000));
    c->add_option("--window-ms", d->window_ms, "Simulator window (whole seconds in ms)")->capture_default_str()->check(CLI::Range(1000, 3600000));
    c->add_option("--latency-ms", d->latency_ms, "Simulator latency")->capture_default_str()->check(CLI::Range(0, 10000));
    c->callback([d, &registry] { registry.action = [d]() -> int { return run_demo(*d); }; });
  }
}

}  // namespace atb::cli
