// Throughput of atb-mock-exchange's klines path: limit=1000 pages over loopback with a
// keep-alive Beast client (what a downloader does), plus the pure generation and
// rendering steps. Target: >= 1,000 limit=1000 responses/s on a 2-core machine.
//
//   build/release/bench/sim_server_bench --benchmark_filter=BM_Sim
#include "atb/sim/exchange.hpp"
#include "atb/sim/server.hpp"
#include "atb/sim/synthetic_market.hpp"

#include <benchmark/benchmark.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <pthread.h>
#include <thread>
#include <time.h>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace atb;

timestamp_ms const bench_now = parse_instant("2025-01-01T00:00:00Z").value();

/// One synthetic market + exchange + server per page-cache setting, alive for the whole run.
struct fixture {
  std::unique_ptr<sim::synthetic_market> market;
  std::unique_ptr<sim::exchange> ex;
  std::unique_ptr<sim::server> srv;
  std::thread thread;
  explicit fixture(bool page_cache) {
    market = sim::synthetic_market::create({1, {}, 65536}).value();
    sim::exchange_options o;
    o.limits.weight_limit = std::int64_t{1} << 60;  // measure the server, not the limiter
    o.page_cache_bytes = page_cache ? (512u << 20) : 0;
    ex = std::make_unique<sim::exchange>(*market, o);
    srv = sim::server::create(*ex, {}, sim::sim_clock{bench_now}).value();
    thread = std::thread([this] { srv->run(); });
  }
  /// CPU time the server's io thread has used so far, in µs (independent of machine load).
  double server_cpu_us() {
    clockid_t id;
    timespec ts{};
    if (pthread_getcpuclockid(thread.native_handle(), &id) != 0 || clock_gettime(id, &ts) != 0) return 0;
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
  }
  ~fixture() {
    srv->stop();
    thread.join();
  }
};
fixture& get_fixture(bool page_cache) {
  static fixture cached(true), uncached(false);
  return page_cache ? cached : uncached;
}

class keep_alive_client {
 public:
  explicit keep_alive_client(std::uint16_t port) : stream_(ioc_) {
    stream_.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  /// Returns the body size (0 on any error).
  std::size_t get(std::string const& target) {
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    beast::error_code ec;
    http::write(stream_, req, ec);
    if (ec) return 0;
    http::response_parser<http::string_body> p;
    p.body_limit(16u << 20);
    http::read(stream_, buf_, p, ec);
    if (ec || p.get().result_int() != 200) return 0;
    return p.get().body().size();
  }

 private:
  asio::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buf_;
};

/// `pages` distinct limit=1000 pages of 1m candles, walked as a downloader pages.
std::vector<std::string> page_targets(std::size_t pages) {
  std::vector<std::string> t;
  std::int64_t start = parse_instant("2021-01-01").value().ms;
  for (std::size_t i = 0; i < pages; ++i, start += 1000 * ms_per_minute)
    t.push_back("/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=" + std::to_string(start) + "&limit=1000");
  return t;
}

void run_pages(benchmark::State& state, bool page_cache, std::size_t distinct) {
  auto& f = get_fixture(page_cache);
  keep_alive_client c(f.srv->port());
  auto const targets = page_targets(distinct);
  for (auto const& t : targets) c.get(t);  // warm (fills the page cache when enabled)
  std::size_t i = 0, bytes = 0;
  double const cpu0 = f.server_cpu_us();
  for (auto _ : state) {
    std::size_t const n = c.get(targets[i++ % targets.size()]);
    if (n == 0) {
      state.SkipWithError("request failed");
      break;
    }
    bytes += n;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  // Server CPU per response: what one io thread can sustain whatever else runs on the box.
  // (With Threads(2) both client threads share one server, so the figure is per response.)
  if (state.thread_index() == 0 && state.iterations() > 0) {
    double const per = (f.server_cpu_us() - cpu0) / static_cast<double>(state.iterations() * state.threads());
    state.counters["server_cpu_us"] = per;
    if (per > 0) state.counters["server_capacity_per_s"] = 1e6 / per;
  }
  state.counters["responses_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                         benchmark::Counter::kIsRate);
}

/// Paging through cached pages (closed candles, the common downloader case once warm).
void BM_Sim_KlinesPageCached(benchmark::State& state) { run_pages(state, true, 256); }
/// Every response generated and rendered afresh (page cache off): the worst case.
void BM_Sim_KlinesPageUncached(benchmark::State& state) { run_pages(state, false, 256); }
BENCHMARK(BM_Sim_KlinesPageCached)->UseRealTime()->Threads(1)->Threads(2);
BENCHMARK(BM_Sim_KlinesPageUncached)->UseRealTime()->Threads(1)->Threads(2);

/// The pure steps: generating 1000 candles of the synthetic market and rendering them.
void BM_Sim_SyntheticGenerate1000(benchmark::State& state) {
  auto m = sim::synthetic_market::create({1, {}, 65536}).value();
  auto const* s = m->find("ETHUSDT");
  std::int64_t const first = parse_instant("2020-01-01").value().ms;
  std::int64_t start = first;
  for (auto _ : state) {
    auto k = m->klines(*s, interval::m1, sim::plan_selection(timestamp_ms{start}, std::nullopt, 1000, bench_now),
                       bench_now);
    if (!k || k->size() != 1000) {
      state.SkipWithError("short page");
      break;
    }
    benchmark::DoNotOptimize(k->cols[0].data());
    start += 1000 * ms_per_minute;
    if (start > first + 1000 * ms_per_day) start = first;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 1000);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 1000 * 88);
}
BENCHMARK(BM_Sim_SyntheticGenerate1000);

void BM_Sim_RenderKlines1000(benchmark::State& state) {
  auto m = sim::synthetic_market::create({1, {}, 65536}).value();
  auto k = m->klines(*m->find("BTCUSDT"), interval::h1,
                     sim::plan_selection(timestamp_ms{0}, std::nullopt, 1000, bench_now), bench_now)
               .value();
  std::string out;
  std::size_t bytes = 0;
  for (auto _ : state) {
    out.clear();
    sim::render_klines(out, k);
    bytes += out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 1000);
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_Sim_RenderKlines1000);

}  // namespace

BENCHMARK_MAIN();
