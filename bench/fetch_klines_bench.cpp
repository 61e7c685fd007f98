// Downloader hot paths: klines JSON → fixed-point columns, and the limiter's bookkeeping.
// The end-to-end figures (fetch + parse + store against atb-mock-exchange) come from
// scripts/bench-preload.sh.
#include "atb/fetch/binance_json.hpp"
#include "atb/fetch/rate_limiter.hpp"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>

namespace {

std::string make_page(std::size_t rows) {
  std::string body = "[";
  std::int64_t open = 1'600'000'000'000;
  for (std::size_t i = 0; i < rows; ++i, open += 60'000) {
    char buf[512];
    double const p = 10000.0 + static_cast<double>(i % 977) * 1.37;
    std::snprintf(buf, sizeof buf,
                  "%s[%lld,\"%.8f\",\"%.8f\",\"%.8f\",\"%.8f\",\"%.8f\",%lld,\"%.8f\",%zu,\"%.8f\",\"%.8f\",\"0\"]", i ? "," : "",
                  static_cast<long long>(open), p, p + 12.5, p - 7.25, p + 3.125, 12.34567 + static_cast<double>(i), static_cast<long long>(open + 59'999),
                  (12.34567 + static_cast<double>(i)) * p, 100 + i, 6.1 + static_cast<double>(i), 3.05 * p);
    body += buf;
  }
  body += "]";
  return body;
}

void BM_Fetch_ParseKlinesPage(benchmark::State& state) {
  std::string const page = make_page(1000);
  atb::fetch::json_parser parser;
  atb::kline_columns out;
  out.reserve(1000);
  std::string body;
  body.reserve(page.size() + 64);
  for (auto _ : state) {
    out.clear();
    body.assign(page);
    auto n = parser.parse_klines(body, out);
    if (!n || *n != 1000) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(out.cols[1].data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 1000);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * page.size()));
}
BENCHMARK(BM_Fetch_ParseKlinesPage);

void BM_Fetch_LimiterAcquire(benchmark::State& state) {
  atb::fetch::weight_limiter l({{atb::fetch::limit_kind::request_weight, 60'000, 6000, "1M"},
                                {atb::fetch::limit_kind::raw_requests, 300'000, 300'000, ""}},
                               0.95);
  std::int64_t now = 0;
  for (auto _ : state) {
    auto r = l.try_acquire(2, atb::timestamp_ms{now});
    now = std::max(now + 1, r.ms);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(0);
}
BENCHMARK(BM_Fetch_LimiterAcquire);

}  // namespace

BENCHMARK_MAIN();
