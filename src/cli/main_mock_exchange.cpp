// atb-mock-exchange: a simulated Binance spot REST API on loopback. Wiring only: the
// request logic lives in src/sim (exchange.hpp), the network side in server.hpp.
#include "cli_common.hpp"

#include "atb/sim/cache_market.hpp"
#include "atb/sim/exchange.hpp"
#include "atb/sim/server.hpp"
#include "atb/sim/synthetic_market.hpp"

#include <cstdio>
#include <iostream>

namespace {

struct options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::optional<std::string> data;
  std::vector<std::string> symbols;
  std::uint64_t seed = 1;
  std::optional<std::string> now;
  std::int64_t weight_limit = 6000;
  std::int64_t window_ms = 60000;
  std::int64_t ban_after = 10;
  std::int64_t latency_ms = 0;
  std::optional<std::int64_t> jitter_ms;
  std::uint64_t bandwidth = 0;
  std::size_t max_connections = 1024;
  std::string tls_cert, tls_key;
  double fault_rate = 0;
  std::string faults;
  std::int64_t stall_ms = 5000;
  unsigned threads = 1;
  std::int64_t idle_timeout_ms = 120000;
  std::size_t page_cache_mb = 256;
};

int run(options const& o) {
  using namespace atb;
  using atb::cli::print_error;
  if (o.window_ms <= 0 || o.window_ms % 1000 != 0) {
    print_error("--window-ms " + std::to_string(o.window_ms) + " is not a positive whole number of seconds; use e.g. 60000.");
    return cli::exit_usage;
  }
  if (o.weight_limit < 1 || o.ban_after < 0 || o.latency_ms < 0 || o.stall_ms < 0 || o.idle_timeout_ms < 1 ||
      (o.jitter_ms && *o.jitter_ms < 0)) {
    print_error("--weight-limit, --ban-after, --latency-ms, --jitter-ms, --stall-ms and --idle-timeout-ms must not be "
                "negative (and --weight-limit at least 1).");
    return cli::exit_usage;
  }
  if (!(o.fault_rate >= 0 && o.fault_rate <= 1)) {
    print_error("--fault-rate " + std::to_string(o.fault_rate) + " is not a share between 0 and 1; use e.g. 0.05.");
    return cli::exit_usage;
  }
  if (o.threads < 1 || o.threads > 64) {
    print_error("--threads must be between 1 and 64.");
    return cli::exit_usage;
  }
  auto kinds = sim::parse_fault_list(o.faults);
  if (!kinds) {
    print_error(kinds.error());
    return cli::exit_usage;
  }
  sim::sim_clock clock;
  if (o.now) {
    auto t = parse_instant(*o.now);
    if (!t) {
      print_error("--now '" + o.now->substr(0, 40) + "' is not an instant; use ISO-8601 UTC (2024-03-01T12:00:00Z) or ms since 1970.");
      return cli::exit_usage;
    }
    clock = sim::sim_clock(*t);
  }

  std::unique_ptr<sim::market> market;
  if (o.data) {
    auto m = sim::open_cache_market({*o.data, o.symbols, 256});
    if (!m) {
      print_error(m.error());
      return cli::exit_usage;
    }
    market = std::move(*m);
  } else {
    auto m = sim::synthetic_market::create({o.seed, o.symbols, 4096});
    if (!m) {
      print_error(m.error());
      return cli::exit_usage;
    }
    market = std::move(*m);
  }

  sim::exchange_options eo;
  eo.limits.weight_limit = o.weight_limit;
  eo.limits.window_ms = o.window_ms;
  eo.limits.ban_after = o.ban_after;
  eo.seed = o.seed;
  eo.fault_rate = o.fault_rate;
  eo.faults = *kinds;
  eo.page_cache_bytes = o.page_cache_mb << 20;
  sim::exchange ex(*market, eo);

  sim::server_options so;
  so.host = o.host;
  so.port = o.port;
  so.threads = o.threads;
  so.latency_ms = o.latency_ms;
  so.jitter_ms = o.jitter_ms ? *o.jitter_ms : o.latency_ms / 4;
  so.bandwidth = o.bandwidth;
  so.max_connections = o.max_connections;
  so.stall_ms = o.stall_ms;
  so.idle_timeout_ms = o.idle_timeout_ms;
  so.tls_cert = o.tls_cert;
  so.tls_key = o.tls_key;
  so.seed = o.seed;
  auto srv = sim::server::create(ex, so, clock);
  if (!srv) {
    print_error(srv.error());
    return cli::exit_usage;
  }
  std::printf("listening %s:%u\n", (*srv)->host().c_str(), static_cast<unsigned>((*srv)->port()));
  std::fflush(stdout);
  (*srv)->stop_on_signals();
  (*srv)->run();
  return cli::exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"atb-mock-exchange: a simulated Binance spot REST API (klines, exchangeInfo, time, ping) on loopback,\n"
               "with Binance's selection rules, errors, weight limits, bans, latency and injected faults."};
  atb::cli::command_registry registry;
  options o;
  app.add_option("--host", o.host, "Address to listen on")->capture_default_str();
  app.add_option("--port", o.port, "TCP port; 0 picks a free one (the first stdout line says which)")->capture_default_str();
  app.add_option("--data", o.data, "Serve this cache directory (written by `atb data`) instead of the synthetic market");
  app.add_option("--symbols", o.symbols,
                 "Symbols of the synthetic market (default: BTCUSDT ETHUSDT BNBUSDT ADAUSDT SOLUSDT XRPUSDT DOTUSDT "
                 "LINKUSDT LTCUSDT AVAXUSDT); with --data: serve only these")
      ->delimiter(',');
  app.add_option("--seed", o.seed, "Seed of the synthetic market, faults and jitter (same seed, same bytes)")->capture_default_str();
  app.add_option("--now", o.now, "Start the exchange clock at this instant (ISO-8601 UTC or ms); it then advances in real time");
  app.add_option("--weight-limit", o.weight_limit, "Request weight allowed per IP per window")->capture_default_str();
  app.add_option("--window-ms", o.window_ms, "Rate-limit window in ms (a whole number of seconds)")->capture_default_str();
  app.add_option("--ban-after", o.ban_after, "429s tolerated in one window before an IP ban (418)")->capture_default_str();
  app.add_option("--latency-ms", o.latency_ms, "Delay added before every response")->capture_default_str();
  app.add_option("--jitter-ms", o.jitter_ms, "Extra random delay 0..N ms per response (default: latency/4)");
  app.add_option("--bandwidth", o.bandwidth, "Bytes per second per connection (0: unlimited)")->capture_default_str();
  app.add_option("--max-connections", o.max_connections, "Connections served at once; more are closed on accept")->capture_default_str();
  app.add_option("--tls-cert", o.tls_cert, "PEM certificate chain: serve HTTPS (and plain HTTP) on the port");
  app.add_option("--tls-key", o.tls_key, "PEM private key of --tls-cert");
  app.add_option("--fault-rate", o.fault_rate, "Share of API responses (0..1) that get an injected fault")->capture_default_str();
  app.add_option("--faults", o.faults,
                 "Fault kinds to inject, comma-separated (default all): reset_before, reset_mid_body, http_500, "
                 "http_502, http_503, truncated_body, bad_json, stall, 429_no_retry_after");
  app.add_option("--stall-ms", o.stall_ms, "How long the `stall` fault holds a response back")->capture_default_str();
  app.add_option("--threads", o.threads, "I/O threads")->capture_default_str();
  app.add_option("--idle-timeout-ms", o.idle_timeout_ms, "Close keep-alive connections idle this long")->capture_default_str();
  app.add_option("--page-cache-mb", o.page_cache_mb, "Memory for rendered klines pages of closed candles (0: off)")->capture_default_str();
  app.callback([&] { registry.action = [&] { return run(o); }; });
  return atb::cli::run_app(app, registry, argc, argv);
}
