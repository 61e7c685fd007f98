// Property: the downloader's JSON parsers never crash on any server reply, and a klines
// body is either rejected with the output left exactly as it was, or accepted with rows
// that keep the kline invariants (open times strictly increasing, also after the rows
// already held; close time not before open time; trade counts not negative) and that
// survive a round trip: rendered back as Binance JSON and parsed again, they are equal.
// Input layout: byte 0 bit 0 = start from one existing row; the rest is the body.
#include "atb/core/decimal.hpp"
#include "atb/fetch/binance_json.hpp"

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

void render(std::string& out, atb::kline_columns const& k, std::size_t from) {
  out = "[";
  char buf[64];
  for (std::size_t i = from; i < k.size(); ++i) {
    out += i > from ? ",[" : "[";
    for (std::size_t c = 0; c < atb::field_count; ++c) {
      if (c) out += ',';
      auto const f = static_cast<atb::field>(c);
      if (atb::is_decimal(f)) {
        out += '"';
        out.append(buf, atb::format_fixed(buf, k.cols[c][i], k.scale[c]));
        out += '"';
      } else {
        out.append(buf, std::to_chars(buf, buf + sizeof buf, k.cols[c][i]).ptr);
      }
    }
    out += ",\"0\"]";
  }
  out += ']';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace atb;
  if (size == 0) return 0;
  static fetch::json_parser parser;
  std::string const body(reinterpret_cast<char const*>(data + 1), size - 1);

  kline_columns out;
  if (data[0] & 1) {  // one row already held: its open time bounds the next ones
    std::int64_t const row[field_count] = {1'000, 100, 200, 50, 150, 1, 1'999, 1, 0, 0, 0};
    for (std::size_t c = 0; c < field_count; ++c) out.cols[c].push_back(row[c]);
  }
  std::size_t const before = out.size();
  std::string b = body;
  auto r = parser.parse_klines(b, out);
  for (auto const& c : out.cols)
    if (c.size() != out.cols[0].size()) std::abort();
  if (!r) {
    if (out.size() != before) std::abort();  // rejected: nothing appended
  } else {
    if (out.size() != before + *r) std::abort();
    for (std::size_t i = before; i < out.size(); ++i) {
      if (i && !(out.open_time(i - 1) < out.open_time(i))) std::abort();
      if (out.close_time(i) < out.open_time(i)) std::abort();
      if (out[field::trades][i] < 0) std::abort();
    }
    std::string again;
    render(again, out, before);
    kline_columns round;
    auto r2 = parser.parse_klines(again, round);
    if (!r2 || *r2 != *r) std::abort();
    for (std::size_t i = 0; i < round.size(); ++i)
      if (!kline_columns::rows_equal(round, i, out, before + i)) std::abort();
  }

  // The other replies the downloader reads: never a crash, whatever the bytes.
  b = body;
  (void)parser.parse_rate_limits(b);
  b = body;
  (void)parser.parse_server_time(b);
  b = body;
  (void)parser.describe_error_body(b);
  return 0;
}
