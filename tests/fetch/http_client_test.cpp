// The HTTP client against a tiny Beast server inside the test (127.0.0.1 only):
// keep-alive reuse, reconnect after the server closes, timeouts, size limits, and TLS
// with a throw-away CA (unknown CA and wrong host name refused with clear errors).
#include "atb/fetch/errors.hpp"
#include "atb/fetch/http_client.hpp"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <thread>

namespace atb::fetch {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

enum class behaviour { ok, hang, close_after, huge };

// Serves HTTP/1.1 on 127.0.0.1:<port> from its own thread, optionally over TLS.
class tiny_server {
 public:
  explicit tiny_server(asio::ssl::context* tls = nullptr) : tls_(tls), acc_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acc_.local_endpoint().port();
    accept();
    th_ = std::thread([this] { ioc_.run(); });
  }
  ~tiny_server() {
    ioc_.stop();
    th_.join();
  }
  std::uint16_t port() const { return port_; }
  std::atomic<behaviour> mode{behaviour::ok};
  std::atomic<int> accepted{0};
  std::atomic<int> requests{0};

 private:
  void accept() {
    acc_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      ++accepted;
      auto sp = std::make_shared<tcp::socket>(std::move(s));
      if (tls_) {
        auto ts = std::make_shared<asio::ssl::stream<tcp::socket>>(std::move(*sp), *tls_);
        ts->async_handshake(asio::ssl::stream_base::server, [this, ts](boost::system::error_code hec) {
          if (!hec) serve(ts);
        });
      } else {
        serve(sp);
      }
      accept();
    });
  }
  template <class S>
  void serve(std::shared_ptr<S> s) {
    auto buf = std::make_shared<beast::flat_buffer>();
    auto req = std::make_shared<http::request<http::string_body>>();
    http::async_read(*s, *buf, *req, [this, s, buf, req](boost::system::error_code ec, std::size_t) {
      if (ec) return;
      ++requests;
      auto m = mode.load();
      if (m == behaviour::hang) {
        hung_.push_back(s);  // keep it open, never answer
        return;
      }
      auto res = std::make_shared<http::response<http::string_body>>(http::status::ok, 11);
      res->set("X-MBX-USED-WEIGHT-1M", "7");
      res->body() = m == behaviour::huge ? std::string(3u << 20, 'x') : "{\"target\":\"" + std::string(req->target()) + "\"}";
      res->keep_alive(true);  // close_after: announce keep-alive, then close anyway (a stale pooled connection)
      res->prepare_payload();
      http::async_write(*s, *res, [this, s, buf, res, m](boost::system::error_code wec, std::size_t) {
        if (wec) return;
        if (m == behaviour::close_after) {
          boost::system::error_code ignored;
          beast::get_lowest_layer(*s).shutdown(tcp::socket::shutdown_both, ignored);
          return;
        }
        serve(s);
      });
    });
  }
  asio::ssl::context* tls_;
  asio::io_context ioc_;
  tcp::acceptor acc_;
  std::uint16_t port_ = 0;
  std::thread th_;
  std::vector<std::shared_ptr<void>> hung_;
};

// Runs one coroutine to completion on a fresh io_context.
template <class F>
auto run_client(F f) {
  asio::io_context ioc;
  std::optional<decltype(asio::co_spawn(ioc, f(ioc.get_executor()), asio::use_future).get())> out;
  auto fut = asio::co_spawn(ioc, f(ioc.get_executor()), asio::use_future);
  ioc.run();
  out = fut.get();
  return std::move(*out);
}

struct get_result {
  std::vector<result<http_response>> responses;
  std::uint64_t opened = 0;
};

asio::awaitable<get_result> do_gets(asio::any_io_executor ex, std::string url, http_options opt, int n, std::function<void(int)> between) {
  get_result out;
  auto u = parse_base_url(url);
  if (!u) {
    out.responses.push_back(u.error());
    co_return out;
  }
  auto c = http_client::create(ex, *u, opt);
  if (!c) {
    out.responses.push_back(c.error());
    co_return out;
  }
  for (int i = 0; i < n; ++i) {
    if (between) between(i);
    out.responses.push_back(co_await (*c)->get("/api/v3/ping?i=" + std::to_string(i)));
  }
  out.opened = (*c)->connections_opened();
  (*c)->close_idle();
  co_return out;
}

get_result gets(std::string url, http_options opt, int n, std::function<void(int)> between = {}) {
  return run_client([&](asio::any_io_executor ex) { return do_gets(ex, url, opt, n, between); });
}

TEST(base_url, parses_and_rejects) {
  auto u = parse_base_url("https://api.binance.com");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->origin(), "https://api.binance.com");
  u = parse_base_url("http://127.0.0.1:8080/prefix/");
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->path, "/prefix");
  for (auto bad : {"ftp://x", "https://", "http://host:99999", "http://ho st", "api.binance.com", "http://h/x?y"}) {
    auto r = parse_base_url(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code, fetch_errc::invalid_url);
    }
  }
}

TEST(http_client, keep_alive_connection_is_reused) {
  tiny_server srv;
  auto r = gets("http://127.0.0.1:" + std::to_string(srv.port()), {}, 5);
  ASSERT_EQ(r.responses.size(), 5u);
  for (auto& x : r.responses) {
    ASSERT_TRUE(x) << x.error().message;
    EXPECT_EQ(x->status, 200u);
    EXPECT_EQ(x->header("x-mbx-used-weight-1m").value_or(""), "7");
  }
  EXPECT_NE(r.responses[3]->body.find("i=3"), std::string::npos);
  EXPECT_EQ(r.opened, 1u);
  EXPECT_EQ(srv.accepted.load(), 1);
}

TEST(http_client, reconnects_when_the_server_closed_the_connection) {
  tiny_server srv;
  srv.mode = behaviour::close_after;
  auto r = gets("http://127.0.0.1:" + std::to_string(srv.port()), {}, 3);
  for (auto& x : r.responses) ASSERT_TRUE(x) << x.error().message;
  EXPECT_EQ(srv.accepted.load(), 3);
}

TEST(http_client, read_timeout_is_an_error_value) {
  tiny_server srv;
  srv.mode = behaviour::hang;
  http_options o;
  o.read_timeout = std::chrono::milliseconds(300);
  auto const t0 = std::chrono::steady_clock::now();
  auto r = gets("http://127.0.0.1:" + std::to_string(srv.port()), o, 1);
  auto const took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r.responses[0]);
  EXPECT_EQ(r.responses[0].error().code, fetch_errc::timeout);
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST(http_client, whole_request_timeout_bounds_everything) {
  tiny_server srv;
  srv.mode = behaviour::hang;
  http_options o;
  o.request_timeout = std::chrono::milliseconds(250);
  auto r = gets("http://127.0.0.1:" + std::to_string(srv.port()), o, 1);
  ASSERT_FALSE(r.responses[0]);
  EXPECT_EQ(r.responses[0].error().code, fetch_errc::timeout);
}

TEST(http_client, body_over_the_limit_is_refused) {
  tiny_server srv;
  srv.mode = behaviour::huge;
  http_options o;
  o.max_body_bytes = 1u << 20;
  auto r = gets("http://127.0.0.1:" + std::to_string(srv.port()), o, 1);
  ASSERT_FALSE(r.responses[0]);
  EXPECT_EQ(r.responses[0].error().code, fetch_errc::response_too_large);
}

TEST(http_client, refused_connection_means_unreachable) {
  std::uint16_t port = 0;
  {
    asio::io_context ioc;
    tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }  // closed: nothing listens there now
  auto r = gets("http://127.0.0.1:" + std::to_string(port), {}, 1);
  ASSERT_FALSE(r.responses[0]);
  EXPECT_EQ(r.responses[0].error().code, fetch_errc::connect_failed);
  EXPECT_TRUE(is_unreachable(r.responses[0].error()));
  EXPECT_NE(r.responses[0].error().message.find("127.0.0.1:" + std::to_string(port)), std::string::npos);
}

// ------------------------------------------------------------------ TLS

struct pki {
  std::filesystem::path dir;
  bool ok = false;
  pki() {
    dir = std::filesystem::temp_directory_path() / ("atb_tls_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto const d = dir.string();
    std::string const key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    std::string cmd =
        "cd '" + d + "' && "
        "openssl req -x509 " + key + " -keyout ca.key -out ca.pem -days 2 -subj '/CN=atb test CA' >/dev/null 2>&1 && "
        "openssl req -x509 " + key + " -keyout other_ca.key -out other_ca.pem -days 2 -subj '/CN=other CA' >/dev/null 2>&1 && "
        "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n' > good.ext && "
        "printf 'subjectAltName=DNS:wrong.example\\nbasicConstraints=CA:FALSE\\n' > wrong.ext && "
        "openssl req " + key + " -keyout good.key -out good.csr -subj '/CN=localhost' >/dev/null 2>&1 && "
        "openssl x509 -req -in good.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out good.pem -days 2 -extfile good.ext >/dev/null 2>&1 && "
        "openssl req " + key + " -keyout wrong.key -out wrong.csr -subj '/CN=wrong.example' >/dev/null 2>&1 && "
        "openssl x509 -req -in wrong.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out wrong.pem -days 2 -extfile wrong.ext >/dev/null 2>&1";
    ok = std::system(cmd.c_str()) == 0;
  }
  ~pki() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::unique_ptr<asio::ssl::context> server_ctx(std::string const& name) const {
    auto c = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    c->use_certificate_chain_file((dir / (name + ".pem")).string());
    c->use_private_key_file((dir / (name + ".key")).string(), asio::ssl::context::pem);
    return c;
  }
};

pki const& test_pki() {
  static pki p;
  return p;
}

TEST(http_client_tls, trusted_ca_and_matching_host_work) {
  if (!test_pki().ok) GTEST_SKIP() << "the openssl command is not available to make a test CA";
  auto ctx = test_pki().server_ctx("good");
  tiny_server srv(ctx.get());
  http_options o;
  o.ca_file = test_pki().dir / "ca.pem";
  for (std::string host : {"127.0.0.1", "localhost"}) {
    auto r = gets("https://" + host + ":" + std::to_string(srv.port()), o, 2);
    for (auto& x : r.responses) {
      ASSERT_TRUE(x) << host << ": " << x.error().message;
      EXPECT_EQ(x->status, 200u);
    }
  }
}

TEST(http_client_tls, unknown_ca_is_refused_with_a_clear_error) {
  if (!test_pki().ok) GTEST_SKIP() << "the openssl command is not available to make a test CA";
  auto ctx = test_pki().server_ctx("good");
  tiny_server srv(ctx.get());
  for (bool other_ca : {false, true}) {
    http_options o;
    if (other_ca) o.ca_file = test_pki().dir / "other_ca.pem";
    auto r = gets("https://localhost:" + std::to_string(srv.port()), o, 1);
    ASSERT_FALSE(r.responses[0]);
    auto const& e = r.responses[0].error();
    EXPECT_EQ(e.code, fetch_errc::tls_failed);
    EXPECT_TRUE(is_unreachable(e));
    EXPECT_NE(e.message.find("certificate"), std::string::npos) << e.message;
    EXPECT_NE(e.message.find("--ca-file"), std::string::npos) << e.message;
  }
}

TEST(http_client_tls, wrong_host_name_is_refused_with_a_clear_error) {
  if (!test_pki().ok) GTEST_SKIP() << "the openssl command is not available to make a test CA";
  auto ctx = test_pki().server_ctx("wrong");
  tiny_server srv(ctx.get());
  http_options o;
  o.ca_file = test_pki().dir / "ca.pem";
  for (std::string host : {"localhost", "127.0.0.1"}) {
    auto r = gets("https://" + host + ":" + std::to_string(srv.port()), o, 1);
    ASSERT_FALSE(r.responses[0]) << host;
    auto const& e = r.responses[0].error();
    EXPECT_EQ(e.code, fetch_errc::tls_failed);
    EXPECT_NE(e.message.find("mismatch"), std::string::npos) << e.message;
    EXPECT_NE(e.message.find(host), std::string::npos) << e.message;
  }
}

TEST(http_client_tls, unreadable_ca_file_is_an_error) {
  http_options o;
  o.ca_file = "/nonexistent/ca.pem";
  auto r = gets("https://localhost:1", o, 1);
  ASSERT_FALSE(r.responses[0]);
  EXPECT_EQ(r.responses[0].error().code, fetch_errc::tls_failed);
  EXPECT_NE(r.responses[0].error().message.find("/nonexistent/ca.pem"), std::string::npos);
}

}  // namespace
}  // namespace atb::fetch
