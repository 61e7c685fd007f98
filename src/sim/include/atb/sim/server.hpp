#pragma once
// The network side of atb-mock-exchange: a Boost.Beast HTTP/1.1 server written with C++20
// coroutines (as_tuple(use_awaitable): expected errors are values). One io_context, run by
// `threads` threads (default 1); each connection on its own strand. With a TLS certificate
// the same port serves HTTPS and plain HTTP (the first bytes decide). The request logic is
// exchange.hpp; this file only adds latency, bandwidth, connection limits, keep-alive and
// the wire-level faults.
#include "atb/sim/errors.hpp"
#include "atb/sim/exchange.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace atb::sim {

struct server_options {
  std::string host = "127.0.0.1";  ///< loopback by default: nothing here is meant for a network
  std::uint16_t port = 0;          ///< 0: the OS picks a free port (see server::port())
  unsigned threads = 1;
  std::int64_t latency_ms = 0;     ///< added before each response…
  std::int64_t jitter_ms = 0;      ///< …plus a deterministic 0..jitter_ms
  std::uint64_t bandwidth = 0;     ///< bytes per second per connection (0: unlimited)
  std::size_t max_connections = 1024;  ///< further connections are accepted and closed at once
  std::int64_t stall_ms = 5000;    ///< length of the `stall` fault
  std::int64_t idle_timeout_ms = 120000;  ///< keep-alive connections idle this long are closed
  std::string tls_cert;            ///< PEM certificate chain; with tls_key enables HTTPS
  std::string tls_key;             ///< PEM private key
  std::uint64_t seed = 1;          ///< jitter
};

/// The exchange clock: the real clock, or a start instant that advances in real time.
class sim_clock {
 public:
  sim_clock() = default;  ///< the real clock
  explicit sim_clock(timestamp_ms start) : start_(start), origin_(std::chrono::steady_clock::now()) {}
  timestamp_ms now() const noexcept;

 private:
  std::optional<timestamp_ms> start_;
  std::chrono::steady_clock::time_point origin_{};
};

class server {
 public:
  /// Binds and listens (nothing runs yet). `ex` must outlive the server (connections
  /// still open when it is destroyed update ex's statistics as they close).
  /// Errors: sim_errc::network (bind, TLS files),
  /// one sentence naming the address or file.
  static result<std::unique_ptr<server>> create(exchange& ex, server_options opt, sim_clock clock);
  ~server();

  /// The bound port (the real one when options.port was 0).
  std::uint16_t port() const noexcept;
  std::string const& host() const noexcept;
  /// Stop on SIGINT/SIGTERM (call before run()).
  void stop_on_signals();
  /// Serves until stop(); blocks the calling thread (plus threads-1 helpers).
  void run();
  /// Thread-safe; run() returns soon after.
  void stop() noexcept;

 private:
  struct impl;
  explicit server(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace atb::sim
