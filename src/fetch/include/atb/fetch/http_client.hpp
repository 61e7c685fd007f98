#pragma once
// A small HTTP/1.1 GET client on Boost.Beast and C++20 coroutines: one base URL, a pool
// of keep-alive connections (one per concurrent request), HTTPS through OpenSSL with
// peer and host-name verification against the system store (plus --ca-file), SNI,
// connect/read/whole-request timeouts and response size limits. Errors are values.
//
// Thread safety: one client belongs to one executor (a single-threaded io_context);
// call get() only from coroutines running on it.
#include "atb/core/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace atb::fetch {

struct http_options {
  /// TCP connect (and DNS), then TLS handshake, each bounded by this.
  std::chrono::milliseconds connect_timeout{10'000};
  /// Longest silence while waiting for response bytes.
  std::chrono::milliseconds read_timeout{20'000};
  /// Whole request from acquiring a connection to the last body byte.
  std::chrono::milliseconds request_timeout{60'000};
  /// Bodies over this are rejected: a 1000-candle klines page is ~200 KB; exchangeInfo
  /// for all symbols is a few MB. This limit exists so a broken server cannot exhaust memory.
  std::uint64_t max_body_bytes = 32u << 20;
  std::uint32_t max_header_bytes = 64u << 10;
  /// Idle keep-alive connections kept for reuse.
  std::size_t max_idle_connections = 64;
  /// An extra trusted CA (PEM) besides the system store, e.g. a test CA or a corporate proxy's.
  std::optional<std::filesystem::path> ca_file;
  std::string user_agent = "atb/0.1";
};

/// A parsed base URL: http(s)://host[:port][/path].
struct base_url {
  bool tls = true;
  std::string host;
  std::uint16_t port = 443;
  std::string path;  ///< prefix without trailing '/', may be empty
  std::string origin() const;  ///< "https://api.binance.com" (port shown when not default)
};
/// Error fetch_errc::invalid_url with one sentence naming the input.
result<base_url> parse_base_url(std::string_view text);

struct http_response {
  unsigned status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::uint64_t wire_bytes = 0;  ///< bytes read from the connection for this response
  /// First header with this name (case-insensitive), or nullopt.
  std::optional<std::string_view> header(std::string_view name) const;
};

class http_client {
 public:
  /// Builds the TLS context (system store + ca_file). Error (tls_failed) when the CA
  /// file cannot be loaded.
  static result<std::unique_ptr<http_client>> create(boost::asio::any_io_executor ex, base_url url, http_options opt);
  ~http_client();

  /// GET <base path><target> (target starts with '/'). Reuses an idle connection when
  /// there is one; a reused connection that turns out closed is replaced once,
  /// transparently. Any status is a response; transport problems are errors
  /// (dns_failed, connect_failed, tls_failed, timeout, network, response_too_large, bad_response).
  boost::asio::awaitable<result<http_response>> get(std::string target);

  /// Bytes received (headers + bodies) so far.
  std::uint64_t bytes_received() const noexcept;
  std::uint64_t connections_opened() const noexcept;
  base_url const& url() const noexcept;
  /// Closes idle connections (call before the io_context is destroyed).
  void close_idle() noexcept;

 private:
  struct impl;
  explicit http_client(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace atb::fetch
