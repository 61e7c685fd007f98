#include "atb/sim/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detect_ssl.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <iostream>
#include <thread>
#include <vector>

namespace atb::sim {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

timestamp_ms sim_clock::now() const noexcept {
  if (!start_) return system_now();
  auto const elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - origin_);
  return timestamp_ms{start_->ms + elapsed.count()};
}

namespace {

char const* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 418: return "I'm a teapot";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

std::uint64_t mix(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

enum class ending { graceful, reset, drop };

struct state {
  exchange& ex;
  server_options opt;
  sim_clock clock;
  std::optional<ssl::context> tls;
};

awaitable<void> sleep_ms(std::int64_t ms) {
  if (ms <= 0) co_return;
  asio::steady_timer t(co_await asio::this_coro::executor);
  t.expires_after(std::chrono::milliseconds(ms));
  co_await t.async_wait(use_tuple);
}

/// Writes bufs (header + body prefix), paced to opt.bandwidth bytes/s when set.
template <class Stream>
awaitable<std::pair<beast::error_code, std::size_t>> paced_write(Stream& stream, std::string_view head,
                                                               std::string_view body, std::uint64_t bandwidth) {
  if (bandwidth == 0) {
    std::array<asio::const_buffer, 2> bufs{asio::buffer(head), asio::buffer(body)};
    auto [ec, n] = co_await asio::async_write(stream, bufs, use_tuple);
    co_return std::pair{ec, n};
  }
  std::string all;
  all.reserve(head.size() + body.size());
  all.append(head);
  all.append(body);
  std::size_t const chunk = std::max<std::size_t>(256, static_cast<std::size_t>(bandwidth / 20));
  auto const start = std::chrono::steady_clock::now();
  std::size_t sent = 0;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (sent < all.size()) {
    std::size_t const len = std::min(chunk, all.size() - sent);
    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(all.data() + sent, len), use_tuple);
    sent += n;
    if (ec) co_return std::pair{ec, sent};
    auto const due = start + std::chrono::microseconds(static_cast<std::int64_t>(
                                 static_cast<double>(sent) * 1e6 / static_cast<double>(bandwidth)));
    timer.expires_at(due);
    co_await timer.async_wait(use_tuple);
  }
  co_return std::pair{beast::error_code{}, sent};
}

template <class Stream>
awaitable<ending> serve(Stream& stream, beast::flat_buffer& buffer, std::shared_ptr<state> st, std::string ip) {
  auto& stats = st->ex.stats();
  for (;;) {
    beast::get_lowest_layer(stream).expires_after(std::chrono::milliseconds(st->opt.idle_timeout_ms));
    http::request_parser<http::empty_body> parser;
    parser.header_limit(16 * 1024);
    auto [ec, nread] = co_await http::async_read(stream, buffer, parser, use_tuple);
    (void)nread;
    if (ec == http::error::end_of_stream) co_return ending::graceful;
    if (ec) co_return ending::drop;
    beast::get_lowest_layer(stream).expires_never();
    auto const& req = parser.get();
    request_view rv;
    rv.method = req.method_string();
    rv.target = req.target();
    rv.client_ip = ip;
    if (auto it = req.find("X-MBX-TIME-UNIT"); it != req.end() && beast::iequals(it->value(), "MICROSECOND"))
      rv.unit = time_unit::microsecond;
    response r = st->ex.handle(rv, st->clock.now());

    std::int64_t delay = 0;
    if (r.counted) {
      delay = st->opt.latency_ms;
      if (st->opt.jitter_ms > 0)
        delay += static_cast<std::int64_t>(mix(st->opt.seed ^ mix(r.request_number)) %
                                           static_cast<std::uint64_t>(st->opt.jitter_ms + 1));
      if (r.fault == fault_kind::stall) delay += st->opt.stall_ms;
    }
    co_await sleep_ms(delay);
    if (r.fault == fault_kind::reset_before) co_return ending::reset;

    bool const cut = r.fault == fault_kind::truncated_body || r.fault == fault_kind::reset_mid_body;
    bool const keep = req.keep_alive() && !cut;
    std::string_view body = req.method() == http::verb::head ? std::string_view{} : std::string_view(*r.body);
    std::string head;
    head.reserve(256);
    head += "HTTP/1.1 ";
    head += std::to_string(r.status);
    head += ' ';
    head += reason(r.status);
    head += "\r\nContent-Type: ";
    head += r.content_type;
    head += "\r\nContent-Length: ";
    head += std::to_string(r.body->size());
    head += "\r\n";
    for (auto const& [k, v] : r.headers) {
      head += k;
      head += ": ";
      head += v;
      head += "\r\n";
    }
    head += keep ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
    head += "Server: atb-mock-exchange\r\n\r\n";
    if (cut) body = body.substr(0, body.size() / 2);

    auto [wec, written] = co_await paced_write(stream, head, body, st->opt.bandwidth);
    stats.bytes_sent.fetch_add(written, std::memory_order_relaxed);
    if (wec) co_return ending::drop;
    if (r.fault == fault_kind::reset_mid_body) {
      co_await sleep_ms(50);  // let the partial body reach the client before the RST
      co_return ending::reset;
    }
    if (r.fault == fault_kind::truncated_body || !keep) co_return ending::graceful;
  }
}

void reset_socket(tcp::socket& s) {
  beast::error_code ec;
  s.set_option(asio::socket_base::linger(true, 0), ec);
  s.close(ec);
}

awaitable<void> session(tcp::socket socket, std::shared_ptr<state> st) {
  auto& stats = st->ex.stats();
  struct guard {
    exchange_stats& s;
    ~guard() { s.connections_active.fetch_sub(1, std::memory_order_relaxed); }
  } g{stats};
  beast::error_code ec;
  std::string ip = socket.remote_endpoint(ec).address().to_string();
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  if (st->tls) {
    stream.expires_after(std::chrono::seconds(30));
    auto [dec, is_tls] = co_await beast::async_detect_ssl(stream, buffer, use_tuple);
    if (dec) co_return;
    if (is_tls) {
      beast::ssl_stream<beast::tcp_stream> tls(std::move(stream), *st->tls);
      auto [hec, used] =
          co_await tls.async_handshake(ssl::stream_base::server, buffer.data(), use_tuple);
      if (hec) co_return;
      buffer.consume(used);
      ending const e = co_await serve(tls, buffer, st, ip);
      if (e == ending::reset) {
        reset_socket(beast::get_lowest_layer(tls).socket());
      } else if (e == ending::graceful) {
        beast::get_lowest_layer(tls).expires_after(std::chrono::seconds(5));
        co_await tls.async_shutdown(use_tuple);
        beast::get_lowest_layer(tls).socket().close(ec);
      }
      co_return;
    }
  }
  ending const e = co_await serve(stream, buffer, st, ip);
  if (e == ending::reset) {
    reset_socket(stream.socket());
  } else {
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.socket().close(ec);
  }
}

awaitable<void> listen(tcp::acceptor& acceptor, std::shared_ptr<state> st) {
  auto& stats = st->ex.stats();
  auto& ioc = static_cast<asio::io_context&>(acceptor.get_executor().context());
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(ioc), use_tuple);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {  // e.g. out of file descriptors: back off instead of spinning
      co_await sleep_ms(10);
      continue;
    }
    if (stats.connections_active.load(std::memory_order_relaxed) >= st->opt.max_connections) {
      stats.connections_refused.fetch_add(1, std::memory_order_relaxed);
      beast::error_code ignored;
      socket.close(ignored);
      continue;
    }
    stats.connections_accepted.fetch_add(1, std::memory_order_relaxed);
    stats.connections_active.fetch_add(1, std::memory_order_relaxed);
    auto ex = socket.get_executor();
    asio::co_spawn(ex, session(std::move(socket), st), [st](std::exception_ptr e) {
      if (!e) return;
      st->ex.stats().session_errors.fetch_add(1, std::memory_order_relaxed);
      try {
        std::rethrow_exception(e);
      } catch (std::exception const& x) {
        std::cerr << "atb-mock-exchange: a connection failed unexpectedly: " << x.what() << '\n';
      }
    });
  }
}

}  // namespace

struct server::impl {
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::shared_ptr<state> st;
  std::optional<asio::signal_set> signals;
  std::string host;
  std::uint16_t port = 0;
};

server::server(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
server::~server() = default;

result<std::unique_ptr<server>> server::create(exchange& ex, server_options opt, sim_clock clock) {
  auto p = std::make_unique<impl>();
  p->st = std::make_shared<state>(state{ex, opt, clock, std::nullopt});
  if (!opt.tls_cert.empty() || !opt.tls_key.empty()) {
    if (opt.tls_cert.empty() || opt.tls_key.empty())
      return error{sim_errc::invalid_option, "--tls-cert and --tls-key must be given together to serve HTTPS."};
    ssl::context ctx(ssl::context::tls_server);
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                    ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    beast::error_code ec;
    ctx.use_certificate_chain_file(opt.tls_cert, ec);
    if (ec)
      return error{sim_errc::network, "cannot use TLS certificate '" + opt.tls_cert + "': " + ec.message() +
                                          "; give a PEM certificate chain with --tls-cert."};
    ctx.use_private_key_file(opt.tls_key, ssl::context::pem, ec);
    if (ec)
      return error{sim_errc::network, "cannot use TLS key '" + opt.tls_key + "': " + ec.message() +
                                          "; give the PEM private key of the certificate with --tls-key."};
    p->st->tls.emplace(std::move(ctx));
  }
  beast::error_code ec;
  auto const addr = asio::ip::make_address(opt.host, ec);
  if (ec)
    return error{sim_errc::invalid_option, "--host '" + opt.host + "' is not an IP address; use e.g. 127.0.0.1."};
  tcp::endpoint const ep(addr, opt.port);
  auto fail = [&](char const* what) {
    return error{sim_errc::network, std::string("cannot ") + what + " " + opt.host + ":" + std::to_string(opt.port) +
                                        ": " + ec.message() + "; choose another --port (0 picks a free one)."};
  };
  p->acceptor.open(ep.protocol(), ec);
  if (ec) return fail("open a socket for");
  p->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  p->acceptor.bind(ep, ec);
  if (ec) return fail("bind");
  p->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen on");
  p->host = opt.host;
  p->port = p->acceptor.local_endpoint().port();
  return std::unique_ptr<server>(new server(std::move(p)));
}

std::uint16_t server::port() const noexcept { return impl_->port; }
std::string const& server::host() const noexcept { return impl_->host; }

void server::stop_on_signals() {
  impl_->signals.emplace(impl_->ioc, SIGINT, SIGTERM);
  impl_->signals->async_wait([this](beast::error_code ec, int) {
    if (!ec) stop();
  });
}

void server::run() {
  impl_->ioc.restart();
  asio::co_spawn(impl_->acceptor.get_executor(), listen(impl_->acceptor, impl_->st), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  unsigned const n = std::max(1u, impl_->st->opt.threads);
  std::vector<std::thread> helpers;
  for (unsigned i = 1; i < n; ++i) helpers.emplace_back([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  for (auto& t : helpers) t.join();
}

void server::stop() noexcept {
  asio::post(impl_->ioc, [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
    if (impl_->signals) impl_->signals->cancel(ec);
  });
  impl_->ioc.stop();
}

}  // namespace atb::sim
