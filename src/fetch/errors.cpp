#include "atb/fetch/errors.hpp"

namespace atb::fetch {
namespace {
struct fetch_category_impl final : boost::system::error_category {
  char const* name() const noexcept override { return "atb.fetch"; }
  std::string message(int ev) const override {
    switch (static_cast<fetch_errc>(ev)) {
      case fetch_errc::ok: return "ok";
      case fetch_errc::invalid_url: return "invalid base URL";
      case fetch_errc::dns_failed: return "host name did not resolve";
      case fetch_errc::connect_failed: return "connection failed";
      case fetch_errc::tls_failed: return "TLS handshake or certificate verification failed";
      case fetch_errc::timeout: return "timed out";
      case fetch_errc::network: return "connection lost";
      case fetch_errc::response_too_large: return "response over the size limit";
      case fetch_errc::bad_response: return "not a valid HTTP response";
      case fetch_errc::malformed_body: return "malformed response body";
      case fetch_errc::rate_limited: return "rate limited (HTTP 429)";
      case fetch_errc::ip_banned: return "IP banned (HTTP 418)";
      case fetch_errc::server_error: return "server error (HTTP 5xx)";
      case fetch_errc::api_error: return "request rejected by the API";
      case fetch_errc::retries_exhausted: return "retries exhausted";
      case fetch_errc::interrupted: return "interrupted";
      case fetch_errc::io_error: return "file I/O error";
    }
    return "unknown fetch error";
  }
};
}  // namespace

boost::system::error_category const& fetch_category() noexcept {
  static fetch_category_impl const c;
  return c;
}

bool is_unreachable(atb::error const& e) noexcept {
  return e.code == fetch_errc::dns_failed || e.code == fetch_errc::connect_failed || e.code == fetch_errc::tls_failed;
}

bool is_retryable(atb::error const& e) noexcept {
  return e.code == fetch_errc::timeout || e.code == fetch_errc::network || e.code == fetch_errc::server_error ||
         e.code == fetch_errc::malformed_body || e.code == fetch_errc::bad_response ||
         e.code == fetch_errc::connect_failed || e.code == fetch_errc::response_too_large;
}

}  // namespace atb::fetch
