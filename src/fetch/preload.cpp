#include "atb/fetch/preload.hpp"

#include "atb/fetch/binance_json.hpp"
#include "atb/fetch/errors.hpp"
#include "atb/fetch/planner.hpp"
#include "atb/fetch/rate_limiter.hpp"
#include "atb/store/cache.hpp"
#include "atb/store/year_file.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/string.hpp>

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <deque>
#include <exception>
#include <fstream>
#include <random>
#include <sstream>

namespace atb::fetch {
namespace asio = boost::asio;
constexpr auto tok = asio::as_tuple(asio::use_awaitable);
constexpr std::int64_t page_limit = 1000;
constexpr std::int64_t pages_per_segment = 10;
constexpr std::uint64_t bytes_per_row = field_count * sizeof(std::int64_t);

std::vector<atb::symbol> default_symbols() {
  std::vector<atb::symbol> out;
  for (char const* s : {"BTCUSDT", "ETHUSDT", "BNBUSDT", "ADAUSDT", "SOLUSDT", "XRPUSDT", "DOTUSDT", "LINKUSDT", "LTCUSDT", "AVAXUSDT"})
    out.push_back(atb::symbol::parse(s).value());
  return out;
}
std::vector<atb::interval> default_intervals() { return {atb::interval::h1, atb::interval::h4, atb::interval::d1}; }

std::string failed_range::describe() const {
  return std::string(symbol.view()) + " " + std::string(to_string(interval)) + " " + format_utc(from) + " .. " +
         format_utc(timestamp_ms{to.ms - 1}) + ": " + reason;
}

namespace {
std::string json_escape(std::string_view s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\', o += c;
    else if (static_cast<unsigned char>(c) < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
      o += b;
    } else o += c;
  }
  return o;
}
}  // namespace

std::string preload_summary::to_json() const {
  std::ostringstream o;
  o << "{\"requests\":" << requests << ",\"klines_requests\":" << klines_requests << ",\"weight_used\":" << weight_used
    << ",\"status_429\":" << status_429 << ",\"status_418\":" << status_418 << ",\"retries\":" << retries
    << ",\"candles\":" << candles << ",\"bytes\":" << bytes;
  char sec[32];
  std::snprintf(sec, sizeof sec, "%.3f", seconds);
  o << ",\"seconds\":" << sec << ",\"files_written\":" << files_written << ",\"years_planned\":" << years_planned
    << ",\"years_skipped\":" << years_skipped << ",\"first_candle_lookups\":" << first_candle_lookups
    << ",\"weight_limit\":" << weight_limit << ",\"window_ms\":" << window_ms << ",\"weight_budget\":" << weight_budget;
  char share[32];
  std::snprintf(share, sizeof share, "%.4f", weight_share);
  o << ",\"weight_share\":" << share << ",\"max_used_weight_header\":" << max_used_weight_header;
  char sus[32];
  std::snprintf(sus, sizeof sus, "%.3f", sustained_weight_per_s);
  o << ",\"sustained_weight_per_s\":" << sus;
  double const ceiling = window_ms > 0 ? static_cast<double>(weight_budget) * 1000.0 / static_cast<double>(window_ms) : 0;
  char rate[64];
  std::snprintf(rate, sizeof rate, "%.3f", seconds > 0 ? static_cast<double>(weight_used) / seconds : 0.0);
  o << ",\"weight_per_s\":" << rate;
  std::snprintf(rate, sizeof rate, "%.3f", ceiling);
  o << ",\"budget_per_s\":" << rate;
  std::snprintf(rate, sizeof rate, "%.1f", seconds > 0 ? static_cast<double>(candles) / seconds : 0.0);
  o << ",\"candles_per_s\":" << rate << ",\"server_time\":\"" << format_iso(server_time) << "\""
    << ",\"interrupted\":" << (interrupted ? "true" : "false") << ",\"failed_ranges\":[";
  for (std::size_t i = 0; i < failed.size(); ++i) {
    auto const& f = failed[i];
    o << (i ? "," : "") << "{\"symbol\":\"" << f.symbol.view() << "\",\"interval\":\"" << to_string(f.interval)
      << "\",\"from\":\"" << format_iso(f.from) << "\",\"to\":\"" << format_iso(f.to) << "\",\"reason\":\""
      << json_escape(f.reason) << "\"}";
  }
  o << "]}";
  return o.str();
}

// ---------------------------------------------------------------- first candle book

std::filesystem::path first_candles_path(std::filesystem::path const& cache_dir) {
  return cache_dir / "meta" / "first_candles.json";
}

first_candle_book first_candle_book::load(std::filesystem::path const& cache_dir) {
  first_candle_book b;
  std::ifstream in(first_candles_path(cache_dir), std::ios::binary);
  if (!in) return b;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > (16u << 20)) return b;
  simdjson::dom::parser p;
  simdjson::dom::element root;
  if (p.parse(text).get(root) != simdjson::SUCCESS) return b;
  simdjson::dom::object syms;
  if (root["first_open"].get_object().get(syms) != simdjson::SUCCESS) return b;
  for (auto [sym, per] : syms) {
    if (!atb::symbol::is_valid(sym)) continue;
    simdjson::dom::object ivs;
    if (per.get_object().get(ivs) != simdjson::SUCCESS) continue;
    for (auto [iv, v] : ivs) {
      std::int64_t ms = 0;
      if (!parse_interval(iv) || v.get_int64().get(ms) != simdjson::SUCCESS || ms < -1) continue;
      b.entries[std::string(sym)][std::string(iv)] = ms;
    }
  }
  return b;
}

result<void> first_candle_book::save(std::filesystem::path const& cache_dir) const {
  std::ostringstream o;
  o << "{\"version\":1,\"note\":\"first candle open time (ms) per symbol and interval, -1 = none; learned by atb\",\"first_open\":{";
  bool first_s = true;
  for (auto const& [s, m] : entries) {
    o << (first_s ? "" : ",") << "\n\"" << s << "\":{";
    first_s = false;
    bool first_i = true;
    for (auto const& [iv, ms] : m) {
      o << (first_i ? "" : ",") << "\"" << iv << "\":" << ms;
      first_i = false;
    }
    o << "}";
  }
  o << "\n}}\n";
  std::error_code ec;
  std::filesystem::create_directories(cache_dir / "meta", ec);
  if (ec)
    return atb::error{fetch_errc::io_error, "Cannot create " + (cache_dir / "meta").string() + " (" + ec.message() + "); check the cache directory's permissions."};
  return store::atomic_write_file(first_candles_path(cache_dir), o.str());
}

std::optional<std::int64_t> first_candle_book::find(atb::symbol const& s, atb::interval iv) const {
  auto it = entries.find(s.str());
  if (it == entries.end()) return std::nullopt;
  auto jt = it->second.find(std::string(to_string(iv)));
  if (jt == it->second.end()) return std::nullopt;
  return jt->second;
}
void first_candle_book::set(atb::symbol const& s, atb::interval iv, std::int64_t ms) { entries[s.str()][std::string(to_string(iv))] = ms; }

// ---------------------------------------------------------------- coverage

std::vector<coverage_row> offline_coverage(std::filesystem::path const& cache_dir, std::vector<atb::symbol> const& symbols,
                                           std::vector<atb::interval> const& intervals, int first_year, int last_year) {
  std::vector<coverage_row> out;
  for (auto const& s : symbols)
    for (auto iv : intervals) {
      coverage_row row{s, iv, 0, 0, 0, 0, {}, {}, {}};
      std::optional<std::int64_t> prev;
      kline_columns k;
      for (int y = first_year; y <= last_year; ++y) {
        store::year_key key{s, iv, y};
        auto path = store::year_file_path(cache_dir, key);
        std::error_code ec;
        if (!std::filesystem::exists(path, ec)) continue;
        auto f = store::year_file::open(path);
        if (!f) {
          row.problems.push_back(f.error().message);
          continue;
        }
        ++row.years;
        if (f->header().complete()) ++row.complete_years;
        if (auto r = f->read(field_mask{field::open_time}, k); !r) {
          row.problems.push_back(r.error().message);
          continue;
        }
        auto const& ot = k[field::open_time];
        for (std::size_t i = 0; i < ot.size(); ++i) {
          if (prev) {
            if (has_fixed_length(iv)) {
              auto const len = nominal_ms(iv);
              auto const d = ot[i] - *prev;
              if (d > len) row.gaps += static_cast<std::uint64_t>((d - 1) / len);
            } else {
              for (auto t = next_open(iv, timestamp_ms{*prev}); t.ms < ot[i]; t = next_open(iv, t)) ++row.gaps;
            }
          } else {
            row.first = timestamp_ms{ot[i]};
          }
          prev = ot[i];
        }
        row.candles += ot.size();
        if (prev) row.last = timestamp_ms{*prev};
      }
      out.push_back(std::move(row));
    }
  return out;
}

// ---------------------------------------------------------------- the engine

namespace {

struct segment {
  timestamp_ms from{}, to{};
  kline_columns rows;
  enum state_t { pending, running, done } state = pending;
};

struct year_job {
  atb::symbol sym;
  atb::interval iv;
  year_plan plan;
  kline_columns buffer;    // stored rows (when kept) + the contiguous prefix of fetched segments
  kline_columns existing;  // stored rows to unite with, when plan.overlaps_existing
  std::vector<segment> segs;
  std::size_t next = 0, prefix = 0, running = 0;
  std::size_t pages_since_save = 0;
  std::int64_t last_save_ms = 0;
  std::size_t rows_at_last_save = 0;
  std::uint64_t mem_est = 0;
  bool writing = false, failed = false, finalized = false;
  std::string label() const { return std::string(sym.view()) + " " + std::string(to_string(iv)) + " " + std::to_string(plan.year); }
};

struct discovery_item {
  atb::symbol sym;
  atb::interval iv;
};

struct call_result {
  http_response resp;
};

asio::awaitable<result<void>> write_task(std::filesystem::path dir, store::year_key key, kline_columns const* rows,
                                         store::write_options wo) {
  co_return store::write_year_file(dir, key, *rows, wo);
}

// Rows of a and b (each ascending) united on open time; a's row wins on a tie.
kline_columns unite(kline_columns const& a, kline_columns const& b) {
  kline_columns out;
  out.scale = a.scale;
  out.reserve(a.size() + b.size());
  std::size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (j >= b.size() || (i < a.size() && a.open_time(i) <= b.open_time(j))) {
      if (j < b.size() && a.open_time(i) == b.open_time(j)) ++j;
      out.push_row(a, i++);
    } else {
      out.push_row(b, j++);
    }
  }
  return out;
}

class engine {
 public:
  engine(preload_options const& o, asio::io_context& ioc, asio::thread_pool& pool, asio::thread_pool& parse_pool)
      : opt_(o), ioc_(ioc), pool_(pool), parse_pool_(parse_pool), limiter_(binance_default_limits(), o.weight_share),
        t0_(std::chrono::steady_clock::now()), rng_(std::random_device{}()) {}

  preload_summary summary;
  std::optional<atb::error> fatal;

  asio::awaitable<void> run() {
    auto r = co_await run_inner();
    if (!r && !fatal) fatal = r.error();
    done_ = true;
    if (progress_timer_) progress_timer_->cancel();  // else the run lingers up to a progress interval
    if (http_) http_->close_idle();
    if (signals_) {
      boost::system::error_code ignored;
      signals_->cancel(ignored);
    }
  }

 private:
  preload_options const& opt_;
  asio::io_context& ioc_;
  asio::thread_pool& pool_;        // year writes: encode, then fsync (blocks on the disk)
  asio::thread_pool& parse_pool_;  // klines pages: CPU only, never held up by an fsync
  std::unique_ptr<http_client> http_;
  weight_limiter limiter_;
  std::chrono::steady_clock::time_point t0_;
  std::mt19937_64 rng_;
  json_parser json_;
  progress_meter meter_;
  timestamp_ms run_now_{};
  bool done_ = false;
  asio::steady_timer* progress_timer_ = nullptr;  // report_progress's, while it sleeps
  bool stop_requested_ = false;
  std::unique_ptr<asio::signal_set> signals_;
  std::deque<std::shared_ptr<year_job>> waiting_;
  std::vector<std::shared_ptr<year_job>> active_;
  std::uint64_t mem_used_ = 0;
  std::vector<asio::steady_timer*> sleepers_;
  std::int64_t first_block_ms_ = -1;   // first time the limiter made a request wait
  std::int64_t last_send_ms_ = 0;
  std::uint64_t weight_after_block_ = 0;

 public:
  void finish_rate_stats() {
    if (first_block_ms_ < 0 || last_send_ms_ <= first_block_ms_) return;
    summary.sustained_weight_per_s =
        static_cast<double>(weight_after_block_) * 1000.0 / static_cast<double>(last_send_ms_ - first_block_ms_);
  }

 private:

  timestamp_ms mono_now() const {
    return timestamp_ms{std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0_).count()};
  }
  bool stopping() const { return stop_requested_ || fatal.has_value() || (opt_.stop && opt_.stop->load()); }
  void log(std::string const& line) {
    if (opt_.log) opt_.log(line);
  }
  void notify() {
    for (auto* t : sleepers_) t->cancel();
  }
  asio::awaitable<void> sleep_until_notified(std::chrono::milliseconds max) {
    asio::steady_timer t(co_await asio::this_coro::executor, max);
    sleepers_.push_back(&t);
    co_await t.async_wait(tok);
    std::erase(sleepers_, &t);
  }
  asio::awaitable<void> sleep_ms(std::int64_t ms) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    // Wake at least every 200 ms to notice a stop request.
    auto const until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!stopping() && std::chrono::steady_clock::now() < until) {
      t.expires_at(std::min(until, std::chrono::steady_clock::now() + std::chrono::milliseconds(200)));
      co_await t.async_wait(tok);
    }
  }

  // Waits until the limiter admits `weight`; false when the run is stopping.
  asio::awaitable<bool> acquire(std::int64_t weight) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    for (;;) {
      if (stopping()) co_return false;
      auto const now = mono_now();
      auto const ready = limiter_.try_acquire(weight, now);
      if (ready <= now) {
        last_send_ms_ = now.ms;
        if (first_block_ms_ >= 0) weight_after_block_ += static_cast<std::uint64_t>(weight);
        co_return true;
      }
      if (first_block_ms_ < 0 && limiter_.paused_until() <= now) first_block_ms_ = now.ms;
      t.expires_after(std::chrono::milliseconds(std::min<std::int64_t>(ready.ms - now.ms, 200)));
      co_await t.async_wait(tok);
    }
  }

  void observe_headers(http_response const& r) {
    constexpr std::string_view prefix = "x-mbx-used-weight-";
    for (auto const& [k, v] : r.headers) {
      if (k.size() <= prefix.size() || !boost::beast::iequals(std::string_view(k).substr(0, prefix.size()), prefix)) continue;
      std::string suffix = k.substr(prefix.size());
      for (char& c : suffix) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      std::int64_t used = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), used);
      if (ec != std::errc{}) continue;
      limiter_.observe_used_weight(suffix, used, mono_now());
      summary.max_used_weight_header = std::max(summary.max_used_weight_header, used);

    }
  }

  template <class OnOk>
  static asio::awaitable<result<void>> parse_on_pool(OnOk& on_ok, std::string& body) {
    co_return on_ok(body);
  }

  /// One JSON parser per thread (simdjson parsers keep state and are not shared).
  static json_parser& thread_parser() {
    thread_local json_parser p;
    return p;
  }

  // One API call with the retry policy. `on_ok` consumes a 200 body (klines bodies on
  // the pool: it may only touch what its caller owns); a malformed body (its error) is
  // retried like a 5xx. `fail_fast_unreachable`: DNS/connect/TLS errors are returned at
  // once (the start of a run, to detect being offline quickly).
  template <class OnOk>
  asio::awaitable<result<void>> call(std::string target, std::int64_t weight, bool klines, std::string what, OnOk on_ok,
                                     bool fail_fast_unreachable = false) {
    int retries = 0, limited = 0;
    std::string last;
    for (;;) {
      if (!co_await acquire(weight)) co_return atb::error{fetch_errc::interrupted, "Interrupted."};
      ++summary.requests;
      if (klines) ++summary.klines_requests;
      summary.weight_used += static_cast<std::uint64_t>(weight);
      auto r = co_await http_->get(target);
      if (r) summary.bytes += r->wire_bytes;
      std::optional<atb::error> err;
      if (!r) {
        if (fail_fast_unreachable && is_unreachable(r.error())) co_return r.error();
        if (!is_retryable(r.error()) && !is_unreachable(r.error())) co_return r.error();
        err = r.error();
      } else {
        observe_headers(*r);
        unsigned const st = r->status;
        if (st == 200) {
          // A klines page is parsed on its own pool (not the writers', whose threads
          // wait in fsync), so that this thread only moves bytes: on two cores, network
          // I/O, parsing, compression and (when local) the server overlap instead of
          // queueing on one thread.
          // (No co_await inside ?: — g++ 12 destroys such temporaries twice.)
          result<void> ok;
          if (klines) {
            auto task = parse_on_pool(on_ok, r->body);
            ok = co_await asio::co_spawn(parse_pool_.get_executor(), std::move(task), asio::use_awaitable);
          } else {
            ok = on_ok(r->body);
          }
          if (ok) co_return ok;
          err = ok.error();
        } else if (st == 429 || st == 418) {
          std::int64_t secs = 1;
          if (auto ra = r->header("Retry-After")) {
            std::int64_t v = 0;
            auto [p, ec] = std::from_chars(ra->data(), ra->data() + ra->size(), v);
            if (ec == std::errc{} && v > 0) secs = std::min<std::int64_t>(v, 3 * 86400);
          }
          limiter_.pause_until(timestamp_ms{mono_now().ms + secs * 1000});
          if (st == 418) {
            ++summary.status_418;
            fatal = atb::error{fetch_errc::ip_banned, "The server banned this IP (HTTP 418) for " + std::to_string(secs) +
                                                          " s after too many requests; wait that long, then run the same command to resume."};
            notify();
            co_return *fatal;
          }
          ++summary.status_429;
          if (++limited > opt_.max_rate_limited_retries)
            co_return atb::error{fetch_errc::rate_limited, "Still rate limited (HTTP 429) after " + std::to_string(limited - 1) +
                                                               " waits for " + what + "."};
          log("HTTP 429 for " + what + ": every request waits " + std::to_string(secs) + " s (Retry-After).");
          ++summary.retries;
          continue;  // the pause applies to every worker through the limiter
        } else if (st >= 500) {
          err = atb::error{fetch_errc::server_error, "HTTP " + std::to_string(st) + " (" + json_.describe_error_body(r->body) + ")"};
        } else {
          co_return atb::error{fetch_errc::api_error,
                               "The API rejected " + what + " with HTTP " + std::to_string(st) + " (" + json_.describe_error_body(r->body) + ")."};
        }
      }
      last = err->message;
      if (!may_retry(opt_.backoff, retries))
        co_return atb::error{fetch_errc::retries_exhausted,
                             "Gave up on " + what + " after " + std::to_string(retries) + " retries; last error: " + last};
      ++retries;
      ++summary.retries;
      std::uniform_real_distribution<double> u(0.0, 1.0);
      co_await sleep_ms(backoff_delay_ms(opt_.backoff, retries, u(rng_)));
      if (stopping()) co_return atb::error{fetch_errc::interrupted, "Interrupted."};
    }
  }

  static std::string klines_target(atb::symbol const& s, atb::interval iv, timestamp_ms start, std::optional<timestamp_ms> end,
                                   std::int64_t limit) {
    std::string t = "/api/v3/klines?symbol=" + s.str() + "&interval=" + std::string(to_string(iv)) +
                     "&startTime=" + std::to_string(start.ms);
    if (end) t += "&endTime=" + std::to_string(end->ms);
    t += "&limit=" + std::to_string(limit);
    return t;
  }

  asio::awaitable<result<void>> run_inner() {
    auto url = parse_base_url(opt_.base_url);
    if (!url) co_return url.error();
    auto client = http_client::create(co_await asio::this_coro::executor, *url, opt_.http);
    if (!client) co_return client.error();
    http_ = std::move(*client);
    if (opt_.handle_signals) {
      signals_ = std::make_unique<asio::signal_set>(ioc_, SIGINT, SIGTERM);
      signals_->async_wait([this](boost::system::error_code ec, int) {
        if (ec) return;
        stop_requested_ = true;
        log("Stopping: saving what has been downloaded (run the same command again to resume).");
        notify();
        signals_->async_wait([](boost::system::error_code e2, int) {
          if (!e2) std::_Exit(130);
        });
      });
    }
    std::error_code fec;
    std::filesystem::create_directories(opt_.cache_dir, fec);
    if (fec)
      co_return atb::error{fetch_errc::io_error, "Cannot create the cache directory " + opt_.cache_dir.string() + " (" + fec.message() + ")."};

    // 1. Limits: exchangeInfo (weight 20) with the first symbol, which keeps the body small.
    std::vector<rate_limit_rule> rules;
    auto on_info = [&](std::string& body) -> result<void> {
      auto r = json_.parse_rate_limits(body);
      if (!r) return r.error();
      rules = std::move(*r);
      return {};
    };
    std::string info_target = "/api/v3/exchangeInfo";
    if (!opt_.symbols.empty()) info_target += "?symbol=" + opt_.symbols.front().str();
    auto info = co_await call(info_target, 20, false, "exchangeInfo", on_info, true);
    if (!info && info.error().code == fetch_errc::api_error)
      info = co_await call("/api/v3/exchangeInfo", 20, false, "exchangeInfo", on_info, true);
    if (!info) co_return info.error();
    if (!rules.empty()) {
      weight_limiter fresh(rules, opt_.weight_share);
      fresh.try_acquire(20, mono_now());  // the exchangeInfo request itself
      if (summary.max_used_weight_header > 0)
        for (auto const& r : rules)
          if (r.kind == limit_kind::request_weight) fresh.observe_used_weight(r.header_suffix, summary.max_used_weight_header, mono_now());
      limiter_ = std::move(fresh);
    }
    summary.weight_limit = limiter_.weight_limit();
    summary.window_ms = limiter_.weight_window_ms();
    summary.weight_budget = limiter_.weight_budget();
    summary.weight_share = opt_.weight_share;

    // 2. The server's clock decides which candles are closed.
    auto tr = co_await call("/api/v3/time", 1, false, "the server time", [&](std::string& body) -> result<void> {
      auto t = json_.parse_server_time(body);
      if (!t) return t.error();
      run_now_ = *t;
      return {};
    }, true);
    if (!tr) co_return tr.error();
    summary.server_time = run_now_;
    auto const [first_year, last_year] = opt_.years ? *opt_.years : years_back_range(run_now_, opt_.years_back);
    if (opt_.log) {
      char line[256];
      std::snprintf(line, sizeof line, "Server %s, time %s; limit %" PRId64 " weight per %" PRId64 " ms, using up to %" PRId64 " (share %.2f); years %d..%d.",
                    http_->url().origin().c_str(), format_utc(run_now_).c_str(), summary.weight_limit, summary.window_ms,
                    summary.weight_budget, opt_.weight_share, first_year, last_year);
      log(line);
    }

    // 3. First candles, learned once per symbol and interval.
    auto book = first_candle_book::load(opt_.cache_dir);
    std::deque<discovery_item> lookups;
    for (auto const& s : opt_.symbols)
      for (auto iv : opt_.intervals)
        if (!book.find(s, iv)) lookups.push_back({s, iv});
    summary.first_candle_lookups = lookups.size();
    if (!lookups.empty()) {
      bool changed = false;
      std::size_t running = 0;
      std::size_t const n = std::min<std::size_t>(std::max<std::size_t>(1, opt_.concurrency), lookups.size());
      std::exception_ptr crash;
      for (std::size_t w = 0; w < n; ++w) {
        ++running;
        asio::co_spawn(ioc_, discover(lookups, book, changed), [&](std::exception_ptr e) {
          if (e && !crash) crash = e;
          --running;
          notify();
        });
      }
      while (running > 0) co_await sleep_until_notified(std::chrono::milliseconds(200));
      if (crash) std::rethrow_exception(crash);
      if (changed)
        if (auto w = book.save(opt_.cache_dir); !w) log("Warning: " + w.error().message);
      if (fatal) co_return *fatal;
    }

    // 4. Plan what is left.
    std::int64_t total_est = 0;
    for (auto const& s : opt_.symbols)
      for (auto iv : opt_.intervals) {
        auto fc = book.find(s, iv);
        if (!fc) continue;  // lookup failed: reported as a failed range
        plan_input in;
        in.interval = iv;
        in.first_year = first_year;
        in.last_year = last_year;
        if (*fc >= 0) in.first_candle = timestamp_ms{*fc};
        in.now = run_now_;
        in.current_year_ttl_ms = opt_.current_year_ttl_ms;
        in.force_refresh = opt_.force_refresh;
        std::map<int, year_state> states;
        for (int y = first_year; y <= last_year; ++y) {
          auto path = store::year_file_path(opt_.cache_dir, {s, iv, y});
          std::error_code ec;
          if (!std::filesystem::exists(path, ec)) continue;
          auto f = store::year_file::open(path);
          if (!f) {
            log("Warning: " + f.error().message + " The year will be downloaded again.");
            continue;
          }
          auto const& h = f->header();
          states[y] = year_state{h.complete(), h.rows, h.first_open, h.last_open, h.written_at};
        }
        for (auto const& p : plan_years(in, states)) {
          ++summary.years_planned;
          if (p.action != year_action::fetch) {
            ++summary.years_skipped;
            continue;
          }
          auto job = std::make_shared<year_job>(year_job{s, iv, p, {}, {}, {}});
          auto const est = estimate_candles(iv, p.from, p.to);
          total_est += est;
          job->mem_est = (static_cast<std::uint64_t>(est) + (p.keep_existing ? states[p.year].rows : 0u)) * bytes_per_row * 5 / 4;
          waiting_.push_back(std::move(job));
        }
      }
    meter_.set_total_estimate(total_est);
    if (opt_.log)
      log("Plan: " + std::to_string(waiting_.size()) + " year files to fetch (about " + format_count(total_est) +
          " candles), " + std::to_string(summary.years_skipped) + " up to date or outside the listing.");

    // 5. Everything concurrently under the one limiter.
    std::size_t running = 0;
    std::exception_ptr crash;
    asio::co_spawn(ioc_, report_progress(), asio::detached);  // only reads counters; ends with done_
    for (std::size_t w = 0; w < std::max<std::size_t>(1, opt_.concurrency); ++w) {
      ++running;
      asio::co_spawn(ioc_, worker(), [&](std::exception_ptr e) {
        if (e && !crash) crash = e;
        --running;
        notify();
      });
    }
    while (running > 0) co_await sleep_until_notified(std::chrono::milliseconds(200));
    if (crash) std::rethrow_exception(crash);

    // 6. Interrupted or stopped: save the contiguous prefix of every unfinished year.
    for (auto& j : active_) {
      if (j->finalized || j->writing) continue;
      append_prefix(*j);
      if (j->buffer.size() > j->rows_at_last_save) co_await write_year(*j, false);
    }
    summary.interrupted = !fatal && stopping();
    if (fatal) co_return *fatal;
    co_return result<void>{};
  }

  asio::awaitable<void> discover(std::deque<discovery_item>& items, first_candle_book& book, bool& changed) {
    while (!items.empty() && !stopping()) {
      auto item = items.front();
      items.pop_front();
      std::int64_t first = -1;
      std::string const what = std::string(item.sym.view()) + " " + std::string(to_string(item.iv)) + " first candle";
      auto r = co_await call(klines_target(item.sym, item.iv, timestamp_ms{0}, std::nullopt, 1), 2, true, what,
                             [&](std::string& body) -> result<void> {
                               kline_columns k;
                               auto n = thread_parser().parse_klines(body, k);
                               if (!n) return n.error();
                               first = *n ? k[field::open_time][0] : -1;
                               return {};
                             });
      if (!r) {
        if (r.error().code != fetch_errc::interrupted)
          summary.failed.push_back({item.sym, item.iv, timestamp_ms{0}, run_now_, r.error().message});
        continue;
      }
      book.set(item.sym, item.iv, first);
      changed = true;
    }
  }

  // Activates waiting years while the memory budget allows (always at least one).
  void activate_more() {
    while (!waiting_.empty() && !stopping()) {
      auto& j = waiting_.front();
      if (!active_.empty() && mem_used_ + j->mem_est > opt_.memory_budget_bytes) break;
      auto job = j;
      waiting_.pop_front();
      mem_used_ += job->mem_est;
      active_.push_back(job);
      if (job->plan.keep_existing) {
        auto f = store::year_file::open(store::year_file_path(opt_.cache_dir, {job->sym, job->iv, job->plan.year}));
        kline_columns stored;
        result<void> rr = f ? f->read(field_mask::all(), stored) : result<void>(f.error());
        if (!rr) {
          log("Warning: " + rr.error().message + " The year will be downloaded again.");
          job->plan.keep_existing = false;
          job->plan.overlaps_existing = false;
          job->plan.from = std::max(year_start(job->plan.year), job->plan.from);
        } else if (job->plan.overlaps_existing) {
          job->existing = std::move(stored);
        } else {
          job->buffer = std::move(stored);
        }
      }
      job->rows_at_last_save = job->buffer.size();
      job->last_save_ms = mono_now().ms;
      job->buffer.reserve(job->buffer.size() + static_cast<std::size_t>(estimate_candles(job->iv, job->plan.from, job->plan.to)) + 1);
      for (auto [a, b] : split_segments(job->iv, job->plan.from, job->plan.to, page_limit, pages_per_segment))
        job->segs.push_back(segment{a, b, {}, segment::pending});
    }
  }

  enum class work_kind { none, segment, finalize };
  struct work {
    work_kind kind = work_kind::none;
    std::shared_ptr<year_job> job;
    std::size_t seg = 0;
  };

  work pick() {
    for (auto& j : active_) {
      if (j->finalized || j->writing) continue;
      if (!j->failed && j->next < j->segs.size()) return {work_kind::segment, j, j->next++};
      if ((j->failed || j->next >= j->segs.size()) && j->running == 0) return {work_kind::finalize, j, 0};
    }
    return {};
  }

  asio::awaitable<void> worker() {
    while (!stopping()) {
      activate_more();
      work w = pick();
      if (w.kind == work_kind::none) {
        if (waiting_.empty()) {
          bool busy = false;  // another worker may still finish (and free memory for) a year
          for (auto& j : active_) busy = busy || (!j->finalized);
          if (!busy) break;
        }
        co_await sleep_until_notified(std::chrono::milliseconds(500));
        continue;
      }
      if (w.kind == work_kind::finalize) {
        co_await advance(w.job);
        continue;
      }
      auto job = w.job;
      ++job->running;
      job->segs[w.seg].state = segment::running;
      auto r = co_await fetch_segment(job, w.seg);
      --job->running;
      if (!r) {
        job->segs[w.seg].state = segment::pending;
        job->segs[w.seg].rows = {};
        if (r.error().code != fetch_errc::interrupted && !job->failed) {
          job->failed = true;
          auto const& s = job->segs[w.seg];
          summary.failed.push_back({job->sym, job->iv, s.from, job->plan.to, r.error().message});
          log("Failed: " + summary.failed.back().describe() + " The rest continues; rerun the command later to fill it.");
        }
      } else {
        job->segs[w.seg].state = segment::done;
      }
      co_await advance(job);
      notify();
    }
  }

  asio::awaitable<result<void>> fetch_segment(std::shared_ptr<year_job> job, std::size_t idx) {
    auto& seg = job->segs[idx];
    seg.rows.clear();
    seg.rows.reserve(static_cast<std::size_t>(std::min<std::int64_t>(estimate_candles(job->iv, seg.from, seg.to), page_limit * pages_per_segment)) + 1);
    timestamp_ms cursor = seg.from;
    timestamp_ms const seg_to = seg.to;
    while (cursor < seg_to) {
      std::size_t got = 0;
      std::size_t kept = 0;
      std::int64_t last_open = 0;
      std::string const what = std::string(job->sym.view()) + " " + std::string(to_string(job->iv)) + " from " + format_utc(cursor);
      auto r = co_await call(klines_target(job->sym, job->iv, cursor, timestamp_ms{seg_to.ms - 1}, page_limit), 2, true, what,
                             [&](std::string& body) -> result<void> {
                               auto& rows = job->segs[idx].rows;
                               auto const before = rows.size();
                               auto n = thread_parser().parse_klines(body, rows);
                               if (!n) return n.error();
                               got = *n;
                               if (got) last_open = rows[field::open_time][before + got - 1];
                               // Rows outside [startTime, endTime] mean a broken answer
                               // (retried); the candle still in progress is dropped.
                               std::size_t keep = before;
                               for (std::size_t i = before; i < rows.size(); ++i) {
                                 auto const o = rows[field::open_time][i];
                                 if (o < cursor.ms || o >= seg_to.ms) {
                                   for (auto& c : rows.cols) c.resize(before);
                                   return atb::error{fetch_errc::malformed_body,
                                                     "The klines response holds a candle (" + format_utc(timestamp_ms{o}) +
                                                         ") outside the requested range."};
                                 }
                                 if (rows[field::close_time][i] >= run_now_.ms) break;
                                 ++keep;
                               }
                               for (auto& c : rows.cols) c.resize(keep);
                               kept = keep - before;
                               return {};
                             });
      if (!r) co_return r.error();
      ++job->pages_since_save;
      summary.candles += kept;
      meter_.add(static_cast<std::int64_t>(kept), 1, mono_now());
      if (got < static_cast<std::size_t>(page_limit) || kept < got) break;
      if (next_open(job->iv, timestamp_ms{last_open}) >= seg_to) break;
      cursor = timestamp_ms{last_open + 1};
    }
    co_return result<void>{};
  }

  void append_prefix(year_job& j) {
    while (j.prefix < j.segs.size() && j.segs[j.prefix].state == segment::done) {
      auto& s = j.segs[j.prefix];
      if (j.buffer.empty() && j.buffer.size() == 0 && s.rows.size()) j.buffer.scale = s.rows.scale;
      for (std::size_t c = 0; c < field_count; ++c)
        j.buffer.cols[c].insert(j.buffer.cols[c].end(), s.rows.cols[c].begin(), s.rows.cols[c].end());
      s.rows = kline_columns{};
      ++j.prefix;
    }
  }

  // Appends finished segments in order, saves partial progress now and then, and writes
  // the year when nothing of it is left running. Only one advance() per year at a time.
  asio::awaitable<void> advance(std::shared_ptr<year_job> job) {
    if (job->writing || job->finalized) co_return;
    job->writing = true;
    for (;;) {
      append_prefix(*job);
      bool const dispatched = job->failed || job->next >= job->segs.size();
      if (dispatched && job->running == 0 && !stopping()) {
        bool const all = !job->failed && job->prefix == job->segs.size();
        if (all)
          co_await write_year(*job, job->plan.past, true);
        else if (job->buffer.size() > job->rows_at_last_save)
          co_await write_year(*job, false);
        job->finalized = true;
        job->buffer = kline_columns{};
        job->existing = kline_columns{};
        job->segs.clear();
        mem_used_ -= std::min(mem_used_, job->mem_est);
        std::erase(active_, job);
        notify();
        break;
      }
      if (!stopping() && job->pages_since_save >= opt_.save_every_pages &&
          mono_now().ms - job->last_save_ms >= opt_.save_interval_ms && job->buffer.size() > job->rows_at_last_save) {
        co_await write_year(*job, false);
        continue;
      }
      break;
    }
    job->writing = false;
  }

  asio::awaitable<bool> write_year(year_job& j, bool complete, bool final_write = false) {
    store::write_options wo;
    if (opt_.zstd_level) wo.zstd_level = *opt_.zstd_level;
    wo.flags = complete ? store::flag_complete : 0u;
    // A complete year never changes again: stamp it with the year's end, so an
    // interrupted-and-resumed run writes byte-identical files.
    wo.written_at = complete ? year_end(j.plan.year) : run_now_;
    kline_columns united;
    kline_columns const* rows = &j.buffer;
    if (j.plan.overlaps_existing) {
      united = unite(j.existing, j.buffer);
      rows = &united;
    }
    if (rows->empty() && !complete && !final_write) co_return true;  // a partial save with nothing to keep
    store::year_key key{j.sym, j.iv, j.plan.year};
    auto const n = rows->size();
    auto r = co_await asio::co_spawn(pool_.get_executor(), write_task(opt_.cache_dir, key, rows, wo), asio::use_awaitable);
    j.pages_since_save = 0;
    j.last_save_ms = mono_now().ms;
    j.rows_at_last_save = j.buffer.size();
    if (!r) {
      summary.failed.push_back({j.sym, j.iv, year_start(j.plan.year), j.plan.to, r.error().message});
      log("Failed: " + r.error().message);
      if (r.error().code == store::store_errc::io_error)
        fatal = atb::error{r.error().code, r.error().message + " Check the cache directory (space, permissions)."};
      co_return false;
    }
    ++summary.files_written;
    log("Saved " + j.label() + ": " + format_count(static_cast<std::int64_t>(n)) + " candles" +
        (complete ? " (complete)" : j.plan.past ? " (partial, resumable)" : " (current year, up to " + format_utc(run_now_) + ")"));
    co_return true;
  }

  asio::awaitable<void> report_progress() {
    asio::steady_timer t(co_await asio::this_coro::executor);
    while (!done_ && opt_.progress) {
      live_status s;
      auto const now = mono_now();
      s.progress = meter_.snapshot(now);
      s.window_weight = limiter_.window_weight(now);
      s.weight_budget = limiter_.weight_budget();
      s.weight_limit = limiter_.weight_limit();
      s.window_ms = limiter_.weight_window_ms();
      s.status_429 = static_cast<std::int64_t>(summary.status_429);
      s.retries = static_cast<std::int64_t>(summary.retries);
      opt_.progress(s);
      t.expires_after(std::chrono::milliseconds(std::max<std::int64_t>(50, opt_.progress_interval_ms)));
      progress_timer_ = &t;
      co_await t.async_wait(tok);
      progress_timer_ = nullptr;
    }
  }
};

}  // namespace

result<preload_summary> run_preload(preload_options const& opt) {
  if (opt.symbols.empty() || opt.intervals.empty())
    return atb::error{fetch_errc::invalid_url, "Nothing to download: give at least one symbol and one timeframe."};
  if (!(opt.weight_share > 0.0 && opt.weight_share <= 1.0))
    return atb::error{fetch_errc::invalid_url, "--weight-share must be in (0, 1], e.g. 0.95."};
  auto const t0 = std::chrono::steady_clock::now();
  asio::io_context ioc(1);
  asio::thread_pool pool(2), parse_pool(2);
  engine e(opt, ioc, pool, parse_pool);
  std::exception_ptr crash;
  asio::co_spawn(ioc, e.run(), [&](std::exception_ptr ex) { crash = ex; });
  ioc.run();
  pool.join();
  parse_pool.join();
  if (crash) std::rethrow_exception(crash);
  e.summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  e.finish_rate_stats();
  if (e.fatal) return *e.fatal;
  return e.summary;
}

}  // namespace atb::fetch
