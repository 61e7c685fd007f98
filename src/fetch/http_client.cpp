#include "atb/fetch/http_client.hpp"

#include "atb/fetch/errors.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <charconv>
#include <variant>

namespace atb::fetch {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
constexpr auto tok = asio::as_tuple(asio::use_awaitable);

std::string base_url::origin() const {
  std::string s = tls ? "https://" : "http://";
  s += host;
  if ((tls && port != 443) || (!tls && port != 80)) s += ":" + std::to_string(port);
  return s;
}

result<base_url> parse_base_url(std::string_view text) {
  auto bad = [&](std::string why) {
    return atb::error{fetch_errc::invalid_url,
                      "The base URL \"" + std::string(text.substr(0, 200)) + "\" is not usable: " + why +
                          "; expected http(s)://host[:port][/path], e.g. https://api.binance.com."};
  };
  base_url u;
  std::string_view rest;
  if (text.starts_with("https://")) {
    u.tls = true, u.port = 443, rest = text.substr(8);
  } else if (text.starts_with("http://")) {
    u.tls = false, u.port = 80, rest = text.substr(7);
  } else {
    return bad("it must start with http:// or https://");
  }
  auto const slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (authority.empty()) return bad("the host is missing");
  std::string_view host = authority;
  if (authority.front() == '[') {  // [IPv6]:port
    auto const close = authority.find(']');
    if (close == std::string_view::npos) return bad("an IPv6 address is missing its ']'");
    host = authority.substr(1, close - 1);
    authority = authority.substr(close + 1);
    if (!authority.empty() && authority.front() != ':') return bad("unexpected text after the IPv6 address");
    if (!authority.empty()) authority.remove_prefix(1);
    else authority = {};
    if (!authority.empty()) {
      unsigned p = 0;
      auto [ptr, ec] = std::from_chars(authority.data(), authority.data() + authority.size(), p);
      if (ec != std::errc{} || ptr != authority.data() + authority.size() || p == 0 || p > 65535) return bad("the port is not a number in 1..65535");
      u.port = static_cast<std::uint16_t>(p);
    }
  } else if (auto const colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    auto const ps = authority.substr(colon + 1);
    unsigned p = 0;
    auto [ptr, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), p);
    if (ec != std::errc{} || ptr != ps.data() + ps.size() || p == 0 || p > 65535) return bad("the port is not a number in 1..65535");
    u.port = static_cast<std::uint16_t>(p);
  }
  if (host.empty()) return bad("the host is missing");
  for (char c : host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '_'))
      return bad("the host contains a character that is not allowed");
  for (char c : path)
    if (static_cast<unsigned char>(c) <= 0x20 || c == '?' || c == '#' || static_cast<unsigned char>(c) >= 0x7f)
      return bad("the path contains a character that is not allowed");
  u.host = std::string(host);
  u.path = std::string(path);
  return u;
}

std::optional<std::string_view> http_response::header(std::string_view name) const {
  for (auto const& [k, v] : headers)
    if (beast::iequals(k, name)) return std::string_view(v);
  return std::nullopt;
}

namespace {
using plain_stream = beast::tcp_stream;
using tls_stream = ssl::stream<beast::tcp_stream>;

struct connection {
  // Beast reads max(512, free capacity) bytes per call (at most 64 KiB): without room
  // reserved up front the buffer never grows and a 150 KB klines page takes ~300
  // recvmsg calls of 512 bytes instead of a few of 64 KiB.
  connection() { buffer.reserve(64 * 1024); }
  std::variant<std::unique_ptr<plain_stream>, std::unique_ptr<tls_stream>> stream;
  beast::flat_buffer buffer;
  beast::tcp_stream& lowest() {
    if (auto* p = std::get_if<0>(&stream)) return **p;
    return std::get<1>(stream)->next_layer();
  }
};

bool is_ip_literal(std::string const& host) {
  boost::system::error_code ec;
  (void)asio::ip::make_address(host, ec);
  return !ec;
}
}  // namespace

struct http_client::impl {
  asio::any_io_executor ex;
  base_url url;
  http_options opt;
  std::optional<ssl::context> tls_ctx;
  std::vector<std::unique_ptr<connection>> idle;
  std::uint64_t bytes = 0;
  std::uint64_t opened = 0;
  std::string host_header;

  std::string where() const { return url.host + ":" + std::to_string(url.port); }

  asio::awaitable<result<std::unique_ptr<connection>>> connect(std::chrono::steady_clock::time_point deadline) {
    using namespace asio::experimental::awaitable_operators;
    auto const conn_deadline = std::min(deadline, std::chrono::steady_clock::now() + opt.connect_timeout);
    tcp::resolver resolver(ex);
    asio::steady_timer timer(ex, conn_deadline);
    auto resolved = co_await (resolver.async_resolve(url.host, std::to_string(url.port), tok) || timer.async_wait(tok));
    if (resolved.index() == 1)
      co_return atb::error{fetch_errc::timeout, "Resolving " + url.host + " timed out; check the network or --base-url."};
    auto [rec, endpoints] = std::get<0>(resolved);
    if (rec)
      co_return atb::error{fetch_errc::dns_failed, "Cannot resolve host " + url.host + " (" + rec.message() +
                                                       "); check the network connection or --base-url."};
    auto c = std::make_unique<connection>();
    auto tcp_s = std::make_unique<plain_stream>(ex);
    tcp_s->expires_at(conn_deadline);
    auto [cec, ep] = co_await tcp_s->async_connect(endpoints, tok);
    if (cec) {
      if (cec == beast::error::timeout)
        co_return atb::error{fetch_errc::timeout, "Connecting to " + where() + " timed out; check the network or --base-url."};
      co_return atb::error{fetch_errc::connect_failed,
                           "Cannot connect to " + where() + " (" + cec.message() + "); check the network connection or --base-url."};
    }
    tcp_s->socket().set_option(tcp::no_delay(true));
    ++opened;
    if (!url.tls) {
      c->stream = std::move(tcp_s);
      co_return c;
    }
    auto s = std::make_unique<tls_stream>(std::move(*tcp_s), *tls_ctx);
    SSL* ssl_h = s->native_handle();
    if (!is_ip_literal(url.host)) {
      if (!SSL_set_tlsext_host_name(ssl_h, url.host.c_str()))
        co_return atb::error{fetch_errc::tls_failed, "Cannot set the TLS server name for " + url.host + "."};
      if (!SSL_set1_host(ssl_h, url.host.c_str()))
        co_return atb::error{fetch_errc::tls_failed, "Cannot set the expected certificate host name " + url.host + "."};
    } else {
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl_h);
      if (!X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str()))
        co_return atb::error{fetch_errc::tls_failed, "Cannot set the expected certificate IP address " + url.host + "."};
    }
    s->next_layer().expires_at(conn_deadline);
    auto [hec] = co_await s->async_handshake(ssl::stream_base::client, tok);
    if (hec) {
      long const vr = SSL_get_verify_result(ssl_h);
      std::string why;
      if (vr != X509_V_OK) {
        why = std::string("the server certificate was rejected: ") + X509_verify_cert_error_string(vr);
        why += vr == X509_V_ERR_HOSTNAME_MISMATCH || vr == X509_V_ERR_IP_ADDRESS_MISMATCH
                   ? "; the certificate is not for " + url.host + ", check --base-url"
                   : "; if the server uses a private CA, pass its certificate with --ca-file";
      } else if (hec == beast::error::timeout) {
        co_return atb::error{fetch_errc::timeout, "The TLS handshake with " + where() + " timed out."};
      } else {
        why = hec.message();
      }
      co_return atb::error{fetch_errc::tls_failed, "TLS with " + where() + " failed: " + why + "."};
    }
    c->stream = std::move(s);
    co_return c;
  }

  template <class Stream>
  asio::awaitable<result<http_response>> exchange(Stream& s, connection& c, http::request<http::empty_body>& req,
                                                  std::chrono::steady_clock::time_point deadline, bool& keep, bool& nothing_received) {
    auto& low = beast::get_lowest_layer(s);
    keep = false;
    nothing_received = true;
    low.expires_at(std::min(deadline, std::chrono::steady_clock::now() + opt.read_timeout));
    auto [wec, wn] = co_await http::async_write(s, req, tok);
    (void)wn;
    if (wec) {
      if (wec == beast::error::timeout)
        co_return atb::error{fetch_errc::timeout, "Sending a request to " + where() + " timed out."};
      co_return atb::error{fetch_errc::network, "Sending a request to " + where() + " failed (" + wec.message() + ")."};
    }
    std::uint64_t got = 0;
    http::response_parser<http::string_body> p;
    p.body_limit(opt.max_body_bytes);
    p.header_limit(opt.max_header_bytes);
    while (!p.is_done()) {
      low.expires_at(std::min(deadline, std::chrono::steady_clock::now() + opt.read_timeout));
      auto [rec, n] = co_await http::async_read_some(s, c.buffer, p, tok);
      bytes += n;
      got += n;
      if (n) nothing_received = false;
      if (rec) {
        if (rec == http::error::body_limit || rec == http::error::header_limit)
          co_return atb::error{fetch_errc::response_too_large,
                               "The response from " + where() + " exceeds the size limit (" + std::to_string(opt.max_body_bytes) + " bytes)."};
        if (rec == beast::error::timeout)
          co_return atb::error{fetch_errc::timeout, "Waiting for the response of " + where() + " timed out."};
        if (rec == http::error::end_of_stream || rec == asio::error::eof || rec == asio::error::connection_reset ||
            rec == ssl::error::stream_truncated || rec == http::error::partial_message)
          co_return atb::error{fetch_errc::network, "The connection to " + where() + " closed before the response was complete (" + rec.message() + ")."};
        if (rec.category() == make_error_code(http::error::bad_version).category())
          co_return atb::error{fetch_errc::bad_response, "The server at " + where() + " sent an invalid HTTP response (" + rec.message() + ")."};
        co_return atb::error{fetch_errc::network, "Reading the response of " + where() + " failed (" + rec.message() + ")."};
      }
    }
    auto msg = p.release();
    http_response r;
    r.status = msg.result_int();
    r.wire_bytes = got;
    for (auto const& f : msg) r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    keep = msg.keep_alive();
    r.body = std::move(msg.body());
    co_return r;
  }

  asio::awaitable<result<http_response>> get(std::string target) {
    auto const deadline = std::chrono::steady_clock::now() + opt.request_timeout;
    http::request<http::empty_body> req{http::verb::get, url.path + target, 11};
    req.set(http::field::host, host_header);
    req.set(http::field::user_agent, opt.user_agent);
    req.set(http::field::accept, "application/json");
    for (int attempt = 0;; ++attempt) {
      std::unique_ptr<connection> c;
      bool reused = false;
      if (!idle.empty()) {
        c = std::move(idle.back());
        idle.pop_back();
        reused = true;
      } else {
        auto r = co_await connect(deadline);
        if (!r) co_return r.error();
        c = std::move(*r);
      }
      bool keep = false, nothing = true;
      result<http_response> res = atb::error{};
      if (auto* p = std::get_if<0>(&c->stream))
        res = co_await exchange(**p, *c, req, deadline, keep, nothing);
      else
        res = co_await exchange(*std::get<1>(c->stream), *c, req, deadline, keep, nothing);
      if (!res) {
        boost::system::error_code ignored;
        c->lowest().socket().close(ignored);
        // A kept-alive connection the server closed meanwhile: replace it once.
        if (reused && nothing && attempt == 0 && res.error().code == fetch_errc::network) continue;
        co_return res;
      }
      if (keep && idle.size() < opt.max_idle_connections) {
        c->lowest().expires_never();
        idle.push_back(std::move(c));
      } else {
        boost::system::error_code ignored;
        c->lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
        c->lowest().socket().close(ignored);
      }
      co_return res;
    }
  }
};

http_client::http_client(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
http_client::~http_client() { close_idle(); }

result<std::unique_ptr<http_client>> http_client::create(asio::any_io_executor ex, base_url url, http_options opt) {
  auto p = std::make_unique<impl>();
  p->ex = ex;
  p->host_header = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  if ((url.tls && url.port != 443) || (!url.tls && url.port != 80)) p->host_header += ":" + std::to_string(url.port);
  if (url.tls) {
    p->tls_ctx.emplace(ssl::context::tls_client);
    boost::system::error_code ec;
    p->tls_ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                            ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    p->tls_ctx->set_default_verify_paths(ec);
    if (ec)
      return atb::error{fetch_errc::tls_failed, "Cannot load the system's trusted certificates (" + ec.message() + "); install ca-certificates or pass --ca-file."};
    if (opt.ca_file) {
      p->tls_ctx->load_verify_file(opt.ca_file->string(), ec);
      if (ec)
        return atb::error{fetch_errc::tls_failed, "Cannot load the CA file " + opt.ca_file->string() + " (" + ec.message() + "); it must be a PEM certificate."};
    }
    p->tls_ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  p->url = std::move(url);
  p->opt = std::move(opt);
  return std::unique_ptr<http_client>(new http_client(std::move(p)));
}

asio::awaitable<result<http_response>> http_client::get(std::string target) { return impl_->get(std::move(target)); }
std::uint64_t http_client::bytes_received() const noexcept { return impl_->bytes; }
std::uint64_t http_client::connections_opened() const noexcept { return impl_->opened; }
base_url const& http_client::url() const noexcept { return impl_->url; }
void http_client::close_idle() noexcept {
  if (!impl_) return;
  for (auto& c : impl_->idle) {
    boost::system::error_code ignored;
    c->lowest().socket().close(ignored);
  }
  impl_->idle.clear();
}

}  // namespace atb::fetch
