// The server over real loopback sockets: keep-alive, limits, latency, bandwidth, TLS,
// every fault kind as a raw client sees it, and the binary's contract (listening line,
// clean stop on SIGTERM/SIGINT).
#include "atb/sim/synthetic_market.hpp"
#include "process_util.hpp"
#include "sim_test_util.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace atb::sim {
namespace {

using namespace test;
namespace fs = std::filesystem;

timestamp_ms at(std::string_view iso) { return parse_instant(iso).value(); }
using steady = std::chrono::steady_clock;
std::int64_t ms_since(steady::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t).count();
}

std::string const klines10 = "/api/v3/klines?symbol=BTCUSDT&interval=1h&startTime=0&limit=10";

class Server : public ::testing::Test {
 protected:
  void SetUp() override { market_ = synthetic_market::create({9, {"BTCUSDT"}, 4096}).value(); }
  std::unique_ptr<exchange> make(exchange_options o = {}) { return std::make_unique<exchange>(*market_, o); }
  std::unique_ptr<synthetic_market> market_;
  sim_clock clock_{at("2024-01-10T10:00:00Z")};
};

TEST_F(Server, ServesKeepAliveAndStats) {
  auto ex = make();
  running_server srv(*ex, {}, clock_);
  client c(srv.port());
  auto a = c.get("/api/v3/time");
  ASSERT_FALSE(a.ec) << a.ec.message();
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.header("X-MBX-USED-WEIGHT-1M"), "1");
  EXPECT_EQ(a.header("Connection"), "keep-alive");
  auto t = std::stoll(a.body.substr(std::string("{\"serverTime\":").size()));
  EXPECT_NEAR(static_cast<double>(t), static_cast<double>(at("2024-01-10T10:00:00Z").ms), 60000.0);
  auto k = c.get(klines10);
  EXPECT_EQ(k.status, 200);
  EXPECT_EQ(k.body.substr(0, 15), "[[1502942400000");
  auto s = c.get("/__stats");
  EXPECT_EQ(s.status, 200);
  EXPECT_NE(s.body.find(R"("requests":2,"klines_requests":1,"weight_used":3)"), std::string::npos) << s.body;
  EXPECT_NE(s.body.find(R"("connections_accepted":1,)"), std::string::npos) << s.body;  // one keep-alive connection
  EXPECT_EQ(s.body.find(R"("bytes_sent":0,)"), std::string::npos) << s.body;
  EXPECT_EQ(c.get("/nope").status, 404);
}

TEST_F(Server, RateLimitOverTheWire) {
  exchange_options o;
  o.limits.weight_limit = 4;
  o.limits.window_ms = 60000;
  o.limits.ban_after = 1;
  auto ex = make(o);
  running_server srv(*ex, {}, clock_);
  client c(srv.port());
  EXPECT_EQ(c.get(klines10).status, 200);
  EXPECT_EQ(c.get(klines10).status, 200);
  auto r = c.get(klines10);
  EXPECT_EQ(r.status, 429);
  EXPECT_FALSE(r.header("Retry-After").empty());
  EXPECT_EQ(r.header("X-MBX-USED-WEIGHT-1M"), "6");
  auto b = c.get(klines10);
  EXPECT_EQ(b.status, 418);
  EXPECT_EQ(b.header("Retry-After"), "120");
}

TEST_F(Server, MaxConnectionsClosesTheExtraOnes) {
  auto ex = make();
  server_options so;
  so.max_connections = 1;
  running_server srv(*ex, so, clock_);
  client first(srv.port());
  ASSERT_EQ(first.get("/api/v3/ping").status, 200);  // holds the only slot (keep-alive)
  client second(srv.port());
  auto r = second.get("/api/v3/ping");
  EXPECT_TRUE(r.ec);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(first.get("/api/v3/ping").status, 200);
  EXPECT_NE(ex->stats_json().find(R"("connections_refused":1)"), std::string::npos) << ex->stats_json();
}

TEST_F(Server, LatencyAndBandwidth) {
  auto ex = make();
  server_options so;
  so.latency_ms = 150;
  {
    running_server srv(*ex, so, clock_);
    client c(srv.port());
    auto t0 = steady::now();
    EXPECT_EQ(c.get("/api/v3/ping").status, 200);
    EXPECT_GE(ms_since(t0), 150);
  }
  so.latency_ms = 0;
  so.bandwidth = 20000;
  running_server srv(*ex, so, clock_);
  client c(srv.port());
  auto t0 = steady::now();
  auto r = c.get("/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=0&limit=100");
  EXPECT_EQ(r.status, 200);
  ASSERT_GT(r.body.size(), 14000u);
  EXPECT_GE(ms_since(t0), static_cast<std::int64_t>(r.body.size() * 1000 / 20000) - 100);
}

class WireFaults : public Server {
 protected:
  reply with_fault(fault_kind k, std::int64_t* elapsed = nullptr) {
    exchange_options o;
    o.fault_rate = 1;
    o.faults = {k};
    srv_.reset();  // the exchange must outlive its server
    ex_ = make(o);
    server_options so;
    so.stall_ms = 400;
    srv_ = std::make_unique<running_server>(*ex_, so, clock_);
    client c(srv_->port());
    auto t0 = steady::now();
    reply r = c.get(klines10);
    if (elapsed) *elapsed = ms_since(t0);
    return r;
  }
  std::unique_ptr<exchange> ex_;
  std::unique_ptr<running_server> srv_;
};

TEST_F(WireFaults, ResetBeforeTheResponse) {
  auto r = with_fault(fault_kind::reset_before);
  EXPECT_EQ(r.ec, asio::error::connection_reset) << r.ec.message();
  EXPECT_EQ(r.status, 0);
}

TEST_F(WireFaults, ResetMidBody) {
  auto r = with_fault(fault_kind::reset_mid_body);
  EXPECT_EQ(r.ec, asio::error::connection_reset) << r.ec.message();
  EXPECT_EQ(r.status, 200);
  EXPECT_GT(r.content_length, 0u);
}

TEST_F(WireFaults, TruncatedBodyUnderFullContentLength) {
  auto r = with_fault(fault_kind::truncated_body);
  EXPECT_EQ(r.ec, http::error::partial_message) << r.ec.message();
  EXPECT_EQ(r.status, 200);
  EXPECT_GT(r.content_length, 1000u);
}

TEST_F(WireFaults, HttpErrors) {
  for (auto [k, status] : {std::pair{fault_kind::http_500, 500}, std::pair{fault_kind::http_502, 502},
                           std::pair{fault_kind::http_503, 503}}) {
    auto r = with_fault(k);
    EXPECT_FALSE(r.ec);
    EXPECT_EQ(r.status, status);
    EXPECT_FALSE(r.header("X-MBX-USED-WEIGHT-1M").empty());
  }
}

TEST_F(WireFaults, BadJsonIsWellFramed) {
  auto r = with_fault(fault_kind::bad_json);
  EXPECT_FALSE(r.ec);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), r.content_length);
  ASSERT_FALSE(r.body.empty());
  EXPECT_EQ(r.body.substr(0, 2), "[[");
  EXPECT_NE(r.body.back(), ']');
}

TEST_F(WireFaults, StallDelaysTheResponse) {
  std::int64_t elapsed = 0;
  auto r = with_fault(fault_kind::stall, &elapsed);
  EXPECT_FALSE(r.ec);
  EXPECT_EQ(r.status, 200);
  EXPECT_GE(elapsed, 400);
}

TEST_F(WireFaults, TooManyRequestsWithoutRetryAfter) {
  auto r = with_fault(fault_kind::http_429_no_retry);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.header("Retry-After"), "");
  EXPECT_EQ(r.body.substr(0, 14), R"({"code":-1003,)");
  EXPECT_NE(ex_->stats_json().find(R"("faults_injected":1)"), std::string::npos);
}

TEST_F(WireFaults, StatsAreNeverFaulted) {
  auto r = with_fault(fault_kind::reset_before);
  client c(srv_->port());
  auto s = c.get("/__stats");
  EXPECT_EQ(s.status, 200);
  EXPECT_NE(s.body.find(R"("reset_before":1)"), std::string::npos) << s.body;
}

// ---- TLS -------------------------------------------------------------------------------

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "atb-sim-tls-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

bool run_quiet(std::string const& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

/// A throw-away CA and a server certificate for localhost/127.0.0.1 signed by it.
bool make_certificates(fs::path const& d) {
  std::string const q = "'" + d.string() + "'";
  std::ofstream(d / "ext.cnf") << "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n";
  return run_quiet("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "
                   "'/CN=atb test CA' -keyout " + q + "/ca.key -out " + q + "/ca.pem") &&
         run_quiet("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj '/CN=localhost' -keyout " +
                   q + "/server.key -out " + q + "/server.csr") &&
         run_quiet("openssl x509 -req -in " + q + "/server.csr -CA " + q + "/ca.pem -CAkey " + q +
                   "/ca.key -CAcreateserial -days 2 -extfile " + q + "/ext.cnf -out " + q + "/server.pem");
}

TEST_F(Server, ServesHttpsWithACertificateSignedByATestCa) {
  temp_dir d;
  if (!run_quiet("openssl version")) GTEST_SKIP() << "the openssl command is not installed";
  ASSERT_TRUE(make_certificates(d.path));
  auto ex = make();
  server_options so;
  so.tls_cert = (d.path / "server.pem").string();
  so.tls_key = (d.path / "server.key").string();
  running_server srv(*ex, so, clock_);

  asio::ssl::context trusting(asio::ssl::context::tls_client);
  trusting.load_verify_file((d.path / "ca.pem").string());
  trusting.set_verify_mode(asio::ssl::verify_peer);
  client c(srv.port(), &trusting);
  auto r = c.get(klines10);
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.substr(0, 15), "[[1502942400000");
  EXPECT_EQ(c.get("/api/v3/ping").status, 200);  // keep-alive over TLS

  asio::ssl::context untrusting(asio::ssl::context::tls_client);
  untrusting.set_verify_mode(asio::ssl::verify_peer);
  client bad(srv.port(), &untrusting);
  EXPECT_TRUE(bad.get("/api/v3/ping").ec);  // unknown CA: the handshake fails

  client plain(srv.port());  // the same port still speaks plain HTTP
  EXPECT_EQ(plain.get("/api/v3/ping").status, 200);
}

TEST(ServerCreate, ReportsBadTlsFilesInOneSentence) {
  auto m = synthetic_market::create({1, {"BTCUSDT"}, 64}).value();
  exchange ex(*m, {});
  server_options so;
  so.tls_cert = "/nonexistent/cert.pem";
  so.tls_key = "/nonexistent/key.pem";
  auto s = server::create(ex, so, sim_clock{});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("/nonexistent/cert.pem"), std::string::npos);
  so.tls_key.clear();
  EXPECT_FALSE(server::create(ex, so, sim_clock{}));
}

// ---- the binary --------------------------------------------------------------------------

#ifdef ATB_MOCK_EXCHANGE_BIN
TEST(MockExchangeBinary, PrintsListeningLineAndStopsCleanly) {
  for (int sig : {SIGTERM, SIGINT}) {
    child_process p({ATB_MOCK_EXCHANGE_BIN, "--port", "0", "--now", "2024-02-29T23:59:00Z", "--symbols", "BTCUSDT,ETHUSDT",
                     "--seed", "5"});
    std::string const line = p.read_line();
    std::uint16_t const port = port_of(line);
    ASSERT_NE(port, 0) << "first line was: " << line;
    client c(port);
    auto t = c.get("/api/v3/time");
    ASSERT_EQ(t.status, 200);
    auto ms = std::stoll(t.body.substr(std::string("{\"serverTime\":").size()));
    EXPECT_NEAR(static_cast<double>(ms), static_cast<double>(at("2024-02-29T23:59:00Z").ms), 60000.0);
    auto info = c.get("/api/v3/exchangeInfo");
    EXPECT_NE(info.body.find("ETHUSDT"), std::string::npos);
    EXPECT_EQ(info.body.find("SOLUSDT"), std::string::npos);
    EXPECT_EQ(p.stop(sig), 0);
  }
}

TEST(MockExchangeBinary, SameSeedSameBytesAcrossProcesses) {
  auto fetch = [](std::string seed) {
    child_process p({ATB_MOCK_EXCHANGE_BIN, "--port", "0", "--seed", seed, "--now", "2023-06-01T00:00:00Z"});
    client c(port_of(p.read_line()));
    auto r = c.get("/api/v3/klines?symbol=SOLUSDT&interval=15m&startTime=1600000000000&limit=1000");
    p.stop(SIGTERM);
    return r.body;
  };
  std::string const a = fetch("11");
  EXPECT_GT(a.size(), 100000u);
  EXPECT_EQ(a, fetch("11"));
  EXPECT_NE(a, fetch("12"));
}

TEST(MockExchangeBinary, BadFlagsExitWithUsageError) {
  for (std::vector<std::string> args : {std::vector<std::string>{"--faults", "stall,boom"},
                                        std::vector<std::string>{"--fault-rate", "2"},
                                        std::vector<std::string>{"--window-ms", "1500"},
                                        std::vector<std::string>{"--now", "yesterday"},
                                        std::vector<std::string>{"--data", "/nonexistent/cache"}}) {
    args.insert(args.begin(), ATB_MOCK_EXCHANGE_BIN);
    child_process p(args);
    EXPECT_EQ(p.read_line(), "");  // no listening line
    EXPECT_EQ(p.stop(0), 2) << args[1];
  }
}
#endif

}  // namespace
}  // namespace atb::sim
