#pragma once
// Errors of the fetch module: HTTP transport, the Binance API, and the download engine.
#include "atb/core/error.hpp"

namespace atb::fetch {

enum class fetch_errc {
  ok = 0,
  invalid_url = 1,      ///< --base-url / ATB_BASE_URL is not http(s)://host[:port][/path]
  dns_failed,           ///< host name did not resolve (offline)
  connect_failed,       ///< TCP connect refused / unreachable (offline)
  tls_failed,           ///< TLS handshake or certificate verification failed (offline or misconfigured)
  timeout,              ///< connect, read or whole-request timeout
  network,              ///< connection reset / closed mid-response
  response_too_large,   ///< body or header over the configured limit
  bad_response,         ///< not a parsable HTTP/1.1 response
  malformed_body,       ///< JSON not shaped like the endpoint's documented response
  rate_limited,         ///< HTTP 429 (retried after Retry-After)
  ip_banned,            ///< HTTP 418: the run stops at once
  server_error,         ///< HTTP 5xx (retried with backoff)
  api_error,            ///< HTTP 4xx with a Binance {"code","msg"} body (not retried)
  retries_exhausted,    ///< a range failed after the bounded retries
  interrupted,          ///< Ctrl-C / SIGTERM
  io_error,             ///< local file problem (meta files)
};

boost::system::error_category const& fetch_category() noexcept;
inline boost::system::error_code make_error_code(fetch_errc e) noexcept {
  return {static_cast<int>(e), fetch_category()};
}

/// True for errors that mean "the API cannot be reached at all" (DNS, connect, TLS):
/// the cue for commands to serve data from the cache instead (offline fallback).
bool is_unreachable(atb::error const& e) noexcept;

/// True for errors worth retrying with backoff (timeouts, resets, 5xx, malformed bodies).
bool is_retryable(atb::error const& e) noexcept;

}  // namespace atb::fetch

template <>
struct boost::system::is_error_code_enum<atb::fetch::fetch_errc> : std::true_type {};
