#pragma once
// Loopback helpers for the simulator tests: an in-process server on a free port and a
// blocking Beast client that reports what really came over the wire.
#include "atb/sim/exchange.hpp"
#include "atb/sim/server.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <thread>

namespace atb::sim::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

/// A server running on its own thread until destruction.
class running_server {
 public:
  running_server(exchange& ex, server_options opt, sim_clock clock = sim_clock{}) {
    auto s = server::create(ex, std::move(opt), clock);
    if (!s) throw std::runtime_error(s.error().message);
    srv_ = std::move(*s);
    thread_ = std::thread([this] { srv_->run(); });
  }
  ~running_server() {
    srv_->stop();
    thread_.join();
  }
  std::uint16_t port() const { return srv_->port(); }

 private:
  std::unique_ptr<server> srv_;
  std::thread thread_;
};

struct reply {
  beast::error_code ec;  ///< transport/parse error (connection reset, partial message, …)
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
  std::size_t content_length = 0;
  std::string header(std::string const& k) const {
    auto it = headers.find(k);
    return it == headers.end() ? std::string() : it->second;
  }
};

/// One request per call on a connection that the client keeps (keep-alive).
class client {
 public:
  explicit client(std::uint16_t port, asio::ssl::context* tls = nullptr) : port_(port), tls_(tls) {}

  reply get(std::string const& target, std::map<std::string, std::string> const& extra = {},
            std::string const& method = "GET") {
    reply r;
    if (!connected_) {
      connect(r.ec);
      if (r.ec) return r;
    }
    http::request<http::empty_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.keep_alive(true);
    for (auto const& [k, v] : extra) req.set(k, v);
    http::response_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    if (method == "HEAD") parser.skip(true);
    beast::flat_buffer& buf = buffer_;
    if (tls_) {
      http::write(*ssl_, req, r.ec);
      if (!r.ec) http::read(*ssl_, buf, parser, r.ec);
    } else {
      http::write(*tcp_, req, r.ec);
      if (!r.ec) http::read(*tcp_, buf, parser, r.ec);
    }
    auto& res = parser.get();
    if (parser.is_header_done()) {
      r.status = res.result_int();
      for (auto const& f : res) r.headers[std::string(f.name_string())] = std::string(f.value());
      if (auto cl = parser.content_length()) r.content_length = static_cast<std::size_t>(*cl);
      r.body = res.body();
    }
    if (r.ec || !res.keep_alive()) connected_ = false;
    return r;
  }

 private:
  void connect(beast::error_code& ec) {
    buffer_.clear();
    asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port_);
    if (tls_) {
      ssl_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc_, *tls_);
      beast::get_lowest_layer(*ssl_).expires_after(std::chrono::seconds(20));
      beast::get_lowest_layer(*ssl_).socket().connect(ep, ec);
      if (ec) return;
      SSL_set_tlsext_host_name(ssl_->native_handle(), "localhost");
      ssl_->set_verify_callback(asio::ssl::host_name_verification("localhost"));
      ssl_->handshake(asio::ssl::stream_base::client, ec);
      if (ec) return;
    } else {
      tcp_ = std::make_unique<beast::tcp_stream>(ioc_);
      tcp_->socket().connect(ep, ec);
      if (ec) return;
    }
    connected_ = true;
  }

  std::uint16_t port_;
  asio::ssl::context* tls_;
  asio::io_context ioc_;
  std::unique_ptr<beast::tcp_stream> tcp_;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> ssl_;
  beast::flat_buffer buffer_;
  bool connected_ = false;
};

}  // namespace atb::sim::test
