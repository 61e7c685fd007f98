#include "atb/fetch/binance_json.hpp"

#include "atb/fetch/errors.hpp"

#include <simdjson.h>

#include <string>

namespace atb::fetch {
namespace od = simdjson::ondemand;

struct json_parser::impl {
  od::parser parser;
};

json_parser::json_parser() : impl_(std::make_unique<impl>()) {}
json_parser::~json_parser() = default;
json_parser::json_parser(json_parser&&) noexcept = default;
json_parser& json_parser::operator=(json_parser&&) noexcept = default;

namespace {

simdjson::padded_string_view padded(std::string& body) {
  if (body.capacity() < body.size() + simdjson::SIMDJSON_PADDING) body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  return simdjson::padded_string_view(body.data(), body.size(), body.capacity());
}

atb::error malformed(std::string what) {
  return atb::error{fetch_errc::malformed_body, "Malformed klines response: " + std::move(what) + "."};
}

constexpr char const* field_names[12] = {"open time", "open",         "high",   "low",
                                         "close",     "volume",       "close time", "quote volume",
                                         "trade count", "taker buy base volume", "taker buy quote volume", "ignore"};

// Reads an integer that Binance sends as a JSON number.
bool read_int(od::value& v, std::int64_t& out) {
  std::int64_t x = 0;
  if (v.get_int64().get(x) != simdjson::SUCCESS) return false;
  out = x;
  return true;
}

// Reads a decimal that Binance sends as a JSON string ("46216.93000000"); a bare JSON
// number is accepted too, from its raw text (never through double).
bool read_decimal(od::value& v, unsigned scale, std::int64_t& out) {
  od::json_type t;
  if (v.type().get(t) != simdjson::SUCCESS) return false;
  std::string_view text;
  if (t == od::json_type::string) {
    if (v.get_string().get(text) != simdjson::SUCCESS) return false;
  } else if (t == od::json_type::number) {
    text = v.raw_json_token();
    while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\r' || text.back() == '\t'))
      text.remove_suffix(1);
  } else {
    return false;
  }
  return parse_fixed(text, scale, out);
}

}  // namespace

result<std::size_t> json_parser::parse_klines(std::string& body, kline_columns& out) {
  std::size_t const before = out.size();
  for (std::size_t c = 0; c < field_count; ++c)
    if (out.cols[c].size() != before) return malformed("internal: output columns have different lengths");
  auto rollback = [&](atb::error e) -> result<std::size_t> {
    for (auto& col : out.cols) col.resize(before);
    return e;
  };
  od::document doc;
  if (auto err = impl_->parser.iterate(padded(body)).get(doc); err) return rollback(malformed(std::string("not JSON (") + simdjson::error_message(err) + ")"));
  od::array rows;
  if (doc.get_array().get(rows) != simdjson::SUCCESS) return rollback(malformed("the body is not a JSON array"));
  std::int64_t prev_open = before ? out[field::open_time][before - 1] : INT64_MIN;
  std::size_t n = 0;
  for (auto row_result : rows) {
    od::array row;
    if (row_result.get_array().get(row) != simdjson::SUCCESS)
      return rollback(malformed("row " + std::to_string(n + 1) + " is not an array"));
    std::int64_t vals[field_count];
    std::size_t i = 0;
    for (auto vr : row) {
      od::value v;
      if (vr.get(v) != simdjson::SUCCESS)
        return rollback(malformed("row " + std::to_string(n + 1) + " is not valid JSON"));
      if (i >= 12) return rollback(malformed("row " + std::to_string(n + 1) + " has more than 12 fields"));
      bool ok = true;
      if (i == 0 || i == 6 || i == 8) {
        ok = read_int(v, vals[i]);
      } else if (i < 11) {
        ok = read_decimal(v, out.scale[i], vals[i]);
      } else {
        od::json_type t;
        ok = v.type().get(t) == simdjson::SUCCESS;  // the unused 12th field: any value
        if (ok && t == od::json_type::string) {
          std::string_view s;
          ok = v.get_string().get(s) == simdjson::SUCCESS;
        } else if (ok && t == od::json_type::number) {
          (void)v.raw_json_token();
        } else if (ok) {
          ok = false;
        }
      }
      if (!ok)
        return rollback(malformed("row " + std::to_string(n + 1) + ", field " + std::to_string(i + 1) + " (" + field_names[i] +
                                  ") is not a valid value"));
      ++i;
    }
    if (i != 12)
      return rollback(malformed("row " + std::to_string(n + 1) + " has " + std::to_string(i) + " fields instead of 12"));
    if (vals[0] <= prev_open)
      return rollback(malformed("row " + std::to_string(n + 1) + " does not open after the row before it"));
    if (vals[6] < vals[0]) return rollback(malformed("row " + std::to_string(n + 1) + " closes before it opens"));
    if (vals[8] < 0) return rollback(malformed("row " + std::to_string(n + 1) + " has a negative trade count"));
    prev_open = vals[0];
    for (std::size_t c = 0; c < field_count; ++c) out.cols[c].push_back(vals[c]);
    ++n;
  }
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return rollback(malformed("trailing data after the array"));
  return n;
}

result<std::vector<rate_limit_rule>> json_parser::parse_rate_limits(std::string& body) {
  auto bad = [](std::string what) {
    return atb::error{fetch_errc::malformed_body, "Malformed exchangeInfo response: " + std::move(what) + "."};
  };
  od::document doc;
  if (impl_->parser.iterate(padded(body)).get(doc) != simdjson::SUCCESS) return bad("not JSON");
  od::object root;
  if (doc.get_object().get(root) != simdjson::SUCCESS) return bad("not a JSON object");
  od::array limits;
  if (root.find_field_unordered("rateLimits").get_array().get(limits) != simdjson::SUCCESS) return bad("no rateLimits array");
  std::vector<rate_limit_rule> out;
  for (auto item : limits) {
    od::object o;
    if (item.get_object().get(o) != simdjson::SUCCESS) return bad("a rateLimits entry is not an object");
    std::string_view type, unit;
    std::int64_t num = 0, limit = 0;
    if (o.find_field_unordered("rateLimitType").get_string().get(type) != simdjson::SUCCESS) return bad("rateLimitType missing");
    std::string const type_s(type);
    if (o.find_field_unordered("interval").get_string().get(unit) != simdjson::SUCCESS) return bad("interval missing");
    std::string const unit_s(unit);
    if (o.find_field_unordered("intervalNum").get_int64().get(num) != simdjson::SUCCESS) return bad("intervalNum missing");
    if (o.find_field_unordered("limit").get_int64().get(limit) != simdjson::SUCCESS) return bad("limit missing");
    std::int64_t unit_ms = 0;
    char letter = 0;
    if (unit_s == "SECOND") unit_ms = 1000, letter = 'S';
    else if (unit_s == "MINUTE") unit_ms = 60'000, letter = 'M';
    else if (unit_s == "HOUR") unit_ms = 3'600'000, letter = 'H';
    else if (unit_s == "DAY") unit_ms = 86'400'000, letter = 'D';
    else return bad("unknown interval \"" + unit_s + "\"");
    if (num <= 0 || limit <= 0) return bad("non-positive intervalNum or limit");
    if (type_s == "REQUEST_WEIGHT")
      out.push_back({limit_kind::request_weight, num * unit_ms, limit, header_suffix_for(static_cast<int>(num), letter)});
    else if (type_s == "RAW_REQUESTS")
      out.push_back({limit_kind::raw_requests, num * unit_ms, limit, ""});
    // ORDERS limits do not apply to market data.
  }
  return out;
}

result<timestamp_ms> json_parser::parse_server_time(std::string& body) {
  od::document doc;
  std::int64_t t = 0;
  if (impl_->parser.iterate(padded(body)).get(doc) != simdjson::SUCCESS ||
      doc.find_field_unordered("serverTime").get_int64().get(t) != simdjson::SUCCESS || t <= 0)
    return atb::error{fetch_errc::malformed_body, "Malformed /api/v3/time response: no positive serverTime."};
  return timestamp_ms{t};
}

std::string json_parser::describe_error_body(std::string& body) {
  od::document doc;
  std::int64_t code = 0;
  std::string_view msg;
  if (impl_->parser.iterate(padded(body)).get(doc) == simdjson::SUCCESS) {
    od::object o;
    if (doc.get_object().get(o) == simdjson::SUCCESS && o.find_field_unordered("code").get_int64().get(code) == simdjson::SUCCESS) {
      std::string const code_s = std::to_string(code);
      if (o.find_field_unordered("msg").get_string().get(msg) == simdjson::SUCCESS)
        return "Binance error " + code_s + ": " + std::string(msg);
      return "Binance error " + code_s;
    }
  }
  std::string excerpt = body.substr(0, 120);
  for (char& ch : excerpt)
    if (static_cast<unsigned char>(ch) < 0x20) ch = ' ';
  return excerpt.empty() ? std::string("empty body") : "body \"" + excerpt + "\"";
}

}  // namespace atb::fetch
