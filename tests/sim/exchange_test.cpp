// The request logic without sockets: endpoints, parameters, Binance's error bodies,
// weights, 429/418 and the stats document.
#include "atb/sim/exchange.hpp"
#include "atb/sim/synthetic_market.hpp"

#include <gtest/gtest.h>

namespace atb::sim {
namespace {

timestamp_ms at(std::string_view iso) { return parse_instant(iso).value(); }

class Exchange : public ::testing::Test {
 protected:
  void SetUp() override {
    market_ = synthetic_market::create({5, {"BTCUSDT", "ETHUSDT"}, 4096}).value();
    ex_ = std::make_unique<exchange>(*market_, opt_);
  }
  response get(std::string_view target, std::string_view ip = "127.0.0.1") {
    request_view r;
    r.target = target;
    r.client_ip = ip;
    return ex_->handle(r, now_);
  }
  static std::string header(response const& r, std::string_view k) {
    for (auto const& [name, v] : r.headers)
      if (name == k) return v;
    return {};
  }
  static std::size_t rows(response const& r) {
    std::size_t n = 0;
    for (std::size_t i = 0; i + 1 < r.body->size(); ++i)
      if ((*r.body)[i] == '[' && (*r.body)[i + 1] != '[') ++n;
    return n;
  }
  exchange_options opt_;
  std::unique_ptr<synthetic_market> market_;
  std::unique_ptr<exchange> ex_;
  timestamp_ms now_ = at("2024-05-05T05:05:05Z");
};

TEST_F(Exchange, PingTimeAndUnknownPaths) {
  auto p = get("/api/v3/ping");
  EXPECT_EQ(p.status, 200);
  EXPECT_EQ(*p.body, "{}");
  EXPECT_EQ(header(p, "X-MBX-USED-WEIGHT-1M"), "1");
  auto t = get("/api/v3/time");
  EXPECT_EQ(*t.body, std::string("{\"serverTime\":") + std::to_string(now_.ms) + "}");
  EXPECT_EQ(header(t, "X-MBX-USED-WEIGHT-1M"), "2");
  auto n = get("/api/v3/nothing");
  EXPECT_EQ(n.status, 404);
  EXPECT_EQ(header(n, "X-MBX-USED-WEIGHT-1M"), "2");  // present on every response
}

TEST_F(Exchange, KlinesErrorsAreBinanceBodies) {
  struct c {
    std::string target;
    std::string body;
  };
  std::vector<c> const cases{
      {"/api/v3/klines?interval=1h", R"({"code":-1102,"msg":"Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."})"},
      {"/api/v3/klines?symbol=&interval=1h", R"({"code":-1102,"msg":"Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."})"},
      {"/api/v3/klines?symbol=BTCUSDT", R"({"code":-1102,"msg":"Mandatory parameter 'interval' was not sent, was empty/null, or malformed."})"},
      {"/api/v3/klines?symbol=NOPEUSDT&interval=1h", R"({"code":-1121,"msg":"Invalid symbol."})"},
      {"/api/v3/klines?symbol=btcusdt&interval=1h", R"({"code":-1100,"msg":"Illegal characters found in parameter 'symbol'; legal range is '^[A-Z0-9-_.]{1,20}$'."})"},
      {"/api/v3/klines?symbol=BTCUSDT&interval=1H", R"({"code":-1120,"msg":"Invalid interval."})"},
      {"/api/v3/klines?symbol=BTCUSDT&interval=2d", R"({"code":-1120,"msg":"Invalid interval."})"},
      {"/api/v3/klines?symbol=BTCUSDT&interval=1h&startTime=abc", R"({"code":-1100,"msg":"Illegal characters found in parameter 'startTime'; legal range is '^[0-9]{1,20}$'."})"},
      {"/api/v3/klines?symbol=BTCUSDT&interval=1h&endTime=-5", R"({"code":-1100,"msg":"Illegal characters found in parameter 'endTime'; legal range is '^[0-9]{1,20}$'."})"},
      {"/api/v3/klines?symbol=BTCUSDT&interval=1h&limit=x", R"({"code":-1100,"msg":"Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'."})"},
      {"/api/v3/klines?symbol=BTCUSDT&interval=1h&limit=1001", R"({"code":-1130,"msg":"Data sent for parameter 'limit' is not valid."})"},
      {"/api/v3/klines?symbol=BTCUSDT&interval=1h&limit=0", R"({"code":-1130,"msg":"Data sent for parameter 'limit' is not valid."})"},
      {"/api/v3/klines?symbol=BTCUSDT&interval=1h&startTime=2&endTime=1", R"({"code":-1023,"msg":"Start time is greater than end time."})"},
      {"/api/v3/exchangeInfo?symbol=NOPE", R"({"code":-1121,"msg":"Invalid symbol."})"},
  };
  for (auto const& x : cases) {
    auto r = get(x.target);
    EXPECT_EQ(r.status, 400) << x.target;
    EXPECT_EQ(*r.body, x.body) << x.target;
    EXPECT_EQ(r.content_type, "application/json;charset=UTF-8");
  }
}

TEST_F(Exchange, KlinesLimitDefaultMaxAndAllIntervals) {
  EXPECT_EQ(rows(get("/api/v3/klines?symbol=BTCUSDT&interval=1m")), 500u);
  EXPECT_EQ(rows(get("/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1000")), 1000u);
  EXPECT_EQ(rows(get("/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1")), 1u);
  for (auto iv : all_intervals) {
    auto r = get(std::string("/api/v3/klines?symbol=ETHUSDT&interval=").append(to_string(iv)).append("&limit=3"));
    EXPECT_EQ(r.status, 200) << to_string(iv);
    EXPECT_EQ(rows(r), 3u) << to_string(iv);
  }
  auto first = get("/api/v3/klines?symbol=BTCUSDT&interval=1d&startTime=0&limit=1");
  EXPECT_EQ(first.body->substr(0, 15), "[[1502928000000");  // 2017-08-17
  EXPECT_EQ(*get("/api/v3/klines?symbol=BTCUSDT&interval=1d&endTime=1000000").body, "[]");
}

TEST_F(Exchange, MicrosecondTimeUnit) {
  request_view r;
  r.target = "/api/v3/klines?symbol=BTCUSDT&interval=1d&startTime=1502928000000000&limit=1";
  r.unit = time_unit::microsecond;
  auto res = ex_->handle(r, now_);
  EXPECT_EQ(res.body->substr(0, 18), "[[1502928000000000");
  EXPECT_NE(res.body->find(",1503014399999999,"), std::string::npos);
}

TEST_F(Exchange, ExchangeInfoStatesTheLimitsAndSymbols) {
  auto r = get("/api/v3/exchangeInfo");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body->find(R"("rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000}])"),
            std::string::npos);
  EXPECT_NE(r.body->find(R"("symbol":"ETHUSDT","status":"TRADING","baseAsset":"ETH")"), std::string::npos);
  EXPECT_NE(r.body->find(R"("tickSize":"0.01000000")"), std::string::npos);
  EXPECT_NE(r.body->find(R"("stepSize":"0.00001000")"), std::string::npos);
  EXPECT_EQ(header(r, "X-MBX-USED-WEIGHT-1M"), "20");
  auto one = get("/api/v3/exchangeInfo?symbols=%5B%22ETHUSDT%22%5D");
  EXPECT_EQ(one.body->find("BTCUSDT"), std::string::npos);
  EXPECT_NE(one.body->find("ETHUSDT"), std::string::npos);

  exchange_options o;
  o.limits.window_ms = 1000;
  o.limits.weight_limit = 50;
  exchange sec(*market_, o);
  request_view rv;
  rv.target = "/api/v3/exchangeInfo";
  auto s = sec.handle(rv, now_);
  EXPECT_NE(s.body->find(R"({"rateLimitType":"REQUEST_WEIGHT","interval":"SECOND","intervalNum":1,"limit":50})"),
            std::string::npos);
  EXPECT_EQ(header(s, "X-MBX-USED-WEIGHT-1S"), "20");
}

TEST_F(Exchange, WeightsThen429Then418) {
  opt_.limits.weight_limit = 10;
  opt_.limits.ban_after = 2;
  ex_ = std::make_unique<exchange>(*market_, opt_);
  std::string const k = "/api/v3/klines?symbol=BTCUSDT&interval=1h&limit=1";
  for (int i = 1; i <= 5; ++i) EXPECT_EQ(header(get(k), "X-MBX-USED-WEIGHT-1M"), std::to_string(2 * i));
  auto r429 = get(k);
  EXPECT_EQ(r429.status, 429);
  EXPECT_EQ(*r429.body,
            R"({"code":-1003,"msg":"Too much request weight used; current limit is 10 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API."})");
  EXPECT_EQ(header(r429, "Retry-After"), "55");  // now is hh:05:05 → 55 s to the next minute
  EXPECT_EQ(get("/api/v3/ping", "10.0.0.2").status, 200);  // other IPs are not affected
  EXPECT_EQ(get(k).status, 429);
  auto r418 = get(k);
  EXPECT_EQ(r418.status, 418);
  EXPECT_EQ(header(r418, "Retry-After"), "120");
  EXPECT_NE(r418.body->find(R"({"code":-1003,"msg":"Way too much request weight used; IP banned until )"), std::string::npos);
  auto stats = ex_->stats_json();
  EXPECT_NE(stats.find(R"("status_429":2)"), std::string::npos) << stats;
  EXPECT_NE(stats.find(R"("status_418":1)"), std::string::npos) << stats;
  EXPECT_NE(stats.find(R"("klines_requests":8)"), std::string::npos) << stats;
  EXPECT_NE(stats.find(R"("weight_used":17)"), std::string::npos) << stats;
  EXPECT_NE(stats.find(R"("requests":9)"), std::string::npos) << stats;
}

TEST_F(Exchange, BodyLevelFaultsReplaceTheResponse) {
  struct c {
    fault_kind kind;
    int status;
    std::string body_start;
  };
  for (auto const& x : std::vector<c>{{fault_kind::http_500, 500, R"({"code":-1000,)"},
                                      {fault_kind::http_502, 502, "<html>"},
                                      {fault_kind::http_503, 503, R"({"code":-1008,)"},
                                      {fault_kind::http_429_no_retry, 429, R"({"code":-1003,)"}}) {
    opt_.fault_rate = 1;
    opt_.faults = {x.kind};
    exchange ex(*market_, opt_);
    request_view rv;
    rv.target = "/api/v3/time";
    auto r = ex.handle(rv, now_);
    EXPECT_EQ(r.status, x.status) << to_string(x.kind);
    EXPECT_EQ(r.body->substr(0, x.body_start.size()), x.body_start) << to_string(x.kind);
    EXPECT_EQ(header(r, "Retry-After"), "");
    EXPECT_FALSE(r.fault);
    EXPECT_NE(ex.stats_json().find(std::string("\"").append(to_string(x.kind)).append("\":1")), std::string::npos);
  }
  opt_.faults = {fault_kind::bad_json};
  exchange bad(*market_, opt_);
  request_view rv;
  rv.target = "/api/v3/klines?symbol=BTCUSDT&interval=1h&limit=10";
  auto r = bad.handle(rv, now_);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body->back(), ']');
  for (auto k : {fault_kind::reset_before, fault_kind::reset_mid_body, fault_kind::truncated_body, fault_kind::stall}) {
    opt_.faults = {k};
    exchange wire(*market_, opt_);
    EXPECT_EQ(wire.handle(rv, now_).fault, k);
  }
}

TEST_F(Exchange, PagesOfClosedCandlesAreCachedOnlyWhenFinal) {
  auto a = get("/api/v3/klines?symbol=BTCUSDT&interval=1h&startTime=0&limit=1000");
  auto b = get("/api/v3/klines?symbol=BTCUSDT&interval=1h&startTime=0&limit=1000");
  EXPECT_EQ(a.body, b.body);  // the same cached page
  auto c = get("/api/v3/klines?symbol=BTCUSDT&interval=1h&limit=5");
  auto d = get("/api/v3/klines?symbol=BTCUSDT&interval=1h&limit=5");
  EXPECT_NE(c.body, d.body);  // newest candles: never cached
  EXPECT_EQ(*c.body, *d.body);
}

TEST(ParseQuery, DecodesPercentAndPlus) {
  auto q = parse_query("a=1&b=%5B%22X%22%5D&c=x+y&&d");
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q[1].second, "[\"X\"]");
  EXPECT_EQ(q[2].second, "x y");
  EXPECT_EQ(q[3].first, "d");
}

}  // namespace
}  // namespace atb::sim
