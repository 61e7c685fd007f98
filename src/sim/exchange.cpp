#include "atb/sim/exchange.hpp"

#include <charconv>

namespace atb::sim {

namespace {

std::shared_ptr<std::string const> make_body(std::string s) { return std::make_shared<std::string const>(std::move(s)); }

response json(int status, std::string body) {
  response r;
  r.status = status;
  r.body = make_body(std::move(body));
  return r;
}
response bad_request(int code, std::string_view msg) { return json(400, render_error(code, msg)); }
response mandatory(std::string_view param) {
  return bad_request(-1102, "Mandatory parameter '" + std::string(param) +
                                "' was not sent, was empty/null, or malformed.");
}
response illegal(std::string_view param, std::string_view range) {
  return bad_request(-1100, "Illegal characters found in parameter '" + std::string(param) + "'; legal range is '" +
                                std::string(range) + "'.");
}
response invalid_data(std::string_view param) {
  return bad_request(-1130, "Data sent for parameter '" + std::string(param) + "' is not valid.");
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
std::string decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

/// Looks a parameter up: nullptr if absent (the last occurrence wins).
std::string const* param(std::vector<std::pair<std::string, std::string>> const& ps, std::string_view name) {
  std::string const* v = nullptr;
  for (auto const& p : ps)
    if (p.first == name) v = &p.second;
  return v;
}

bool all_digits(std::string_view s) {
  if (s.empty() || s.size() > 20) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}
bool legal_symbol(std::string_view s) {
  if (s.empty() || s.size() > 20) return false;
  for (char c : s)
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) return false;
  return true;
}

/// Parses an optional non-negative integer parameter. Returns an error response or sets `out`.
std::optional<response> int_param(std::vector<std::pair<std::string, std::string>> const& ps, std::string_view name,
                                  std::optional<std::int64_t>& out) {
  std::string const* v = param(ps, name);
  if (!v) return std::nullopt;
  if (v->empty()) return mandatory(name);
  std::int64_t x = 0;
  if (!all_digits(*v)) return illegal(name, "^[0-9]{1,20}$");
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), x);
  if (ec != std::errc{} || p != v->data() + v->size()) return illegal(name, "^[0-9]{1,20}$");
  out = x;
  return std::nullopt;
}

void append_decimal(std::string& out, decimal d) {
  char buf[64];
  unsigned const s = d.scale() < 8 ? 8 : d.scale();
  std::int64_t const m = d.scale() < 8 ? d.mantissa() * pow10_i64(8 - d.scale()) : d.mantissa();
  out.push_back('"');
  out.append(buf, format_fixed(buf, m, s));
  out.push_back('"');
}

std::string too_much_weight_msg(rate_limit_options const& o, window_name const& w) {
  return "Too much request weight used; current limit is " + std::to_string(o.weight_limit) + " request weight per " +
         std::to_string(w.interval_num) + " " + w.interval +
         ". Please use WebSocket Streams for live updates to avoid polling the API.";
}

}  // namespace

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view q) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!q.empty()) {
    std::size_t const amp = q.find('&');
    std::string_view item = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    if (item.empty()) continue;
    std::size_t const eq = item.find('=');
    if (eq == std::string_view::npos) out.emplace_back(decode(item), std::string());
    else out.emplace_back(decode(item.substr(0, eq)), decode(item.substr(eq + 1)));
  }
  return out;
}

exchange::exchange(market const& m, exchange_options opt)
    : market_(m),
      opt_(std::move(opt)),
      window_(name_window(opt_.limits.window_ms)),
      faults_(opt_.seed, opt_.fault_rate, opt_.faults),
      limiter_(opt_.limits) {}

response exchange::handle(request_view const& req, timestamp_ms now) {
  std::string_view target = req.target;
  std::size_t const qm = target.find('?');
  std::string_view const path = target.substr(0, qm);
  std::string_view const query = qm == std::string_view::npos ? std::string_view{} : target.substr(qm + 1);

  if (path == "/__stats") {
    response r = json(200, stats_json());
    r.counted = false;
    return r;
  }

  enum class ep { ping, time, info, klines, unknown };
  ep e = ep::unknown;
  std::int64_t weight = 0;
  if (path == "/api/v3/ping") e = ep::ping, weight = 1;
  else if (path == "/api/v3/time") e = ep::time, weight = 1;
  else if (path == "/api/v3/exchangeInfo") e = ep::info, weight = 20;
  else if (path == "/api/v3/klines") e = ep::klines, weight = 2;

  std::uint64_t const n = next_request_.fetch_add(1, std::memory_order_relaxed);
  stats_.requests.fetch_add(1, std::memory_order_relaxed);
  if (e == ep::klines) stats_.klines_requests.fetch_add(1, std::memory_order_relaxed);

  admission adm;
  {
    std::lock_guard lock(limiter_mu_);
    adm = limiter_.admit(req.client_ip, weight, now);
  }
  stats_.weight_used.fetch_add(static_cast<std::uint64_t>(weight), std::memory_order_relaxed);

  response r;
  if (adm.v == verdict::banned) {
    if (adm.new_ban) stats_.bans.fetch_add(1, std::memory_order_relaxed);
    r = json(418, render_error(-1003, "Way too much request weight used; IP banned until " +
                                          std::to_string(now.ms + adm.retry_after_s * 1000) +
                                          ". Please use WebSocket Streams for live updates to avoid bans."));
    r.headers.emplace_back("Retry-After", std::to_string(adm.retry_after_s));
  } else if (adm.v == verdict::rate_limited) {
    r = json(429, render_error(-1003, too_much_weight_msg(opt_.limits, window_)));
    r.headers.emplace_back("Retry-After", std::to_string(adm.retry_after_s));
  } else if (req.method != "GET" && req.method != "HEAD") {
    r = json(405, render_error(-1000, "Method " + std::string(req.method.substr(0, 16)) + " is not allowed; use GET."));
  } else {
    switch (e) {
      case ep::ping: r = json(200, "{}"); break;
      case ep::time: r = json(200, "{\"serverTime\":" + std::to_string(now.ms) + "}"); break;
      case ep::info: r = exchange_info(query, now); break;
      case ep::klines: r = klines(query, req.unit, now); break;
      case ep::unknown:
        r = json(404, "<html><body><h2>404 Not found</h2></body></html>");
        r.content_type = "text/html";
        break;
    }
  }
  r.request_number = n;

  if (auto f = faults_.choose(n)) {
    stats_.faults_injected.fetch_add(1, std::memory_order_relaxed);
    stats_.faults_by_kind[static_cast<std::size_t>(*f)].fetch_add(1, std::memory_order_relaxed);
    switch (*f) {
      case fault_kind::http_500:
        r.status = 500;
        r.content_type = "application/json;charset=UTF-8";
        r.body = make_body(render_error(-1000, "An unknown error occurred while processing the request."));
        break;
      case fault_kind::http_502:
        r.status = 502;
        r.content_type = "text/html";
        r.body = make_body(
            "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad "
            "Gateway</h1></center>\r\n</body>\r\n</html>\r\n");
        break;
      case fault_kind::http_503:
        r.status = 503;
        r.content_type = "application/json;charset=UTF-8";
        r.body = make_body(
            render_error(-1008, "Server is currently overloaded with other requests. Please try again in a few minutes."));
        break;
      case fault_kind::http_429_no_retry:
        r.status = 429;
        r.content_type = "application/json;charset=UTF-8";
        r.body = make_body(render_error(-1003, too_much_weight_msg(opt_.limits, window_)));
        std::erase_if(r.headers, [](auto const& h) { return h.first == "Retry-After"; });
        break;
      case fault_kind::bad_json: {
        std::string const& b = *r.body;
        r.body = make_body(b.size() >= 2 ? b.substr(0, b.size() / 2) : std::string("{"));
        break;
      }
      default: r.fault = *f; break;
    }
  }
  r.headers.emplace_back(window_.header, std::to_string(adm.used_weight));

  if (r.status >= 200 && r.status < 300) stats_.status_2xx.fetch_add(1, std::memory_order_relaxed);
  else if (r.status == 400) stats_.status_400.fetch_add(1, std::memory_order_relaxed);
  else if (r.status == 404) stats_.status_404.fetch_add(1, std::memory_order_relaxed);
  else if (r.status == 429) stats_.status_429.fetch_add(1, std::memory_order_relaxed);
  else if (r.status == 418) stats_.status_418.fetch_add(1, std::memory_order_relaxed);
  else if (r.status >= 500) stats_.status_5xx.fetch_add(1, std::memory_order_relaxed);
  return r;
}

response exchange::klines(std::string_view query, time_unit unit, timestamp_ms now) {
  auto const ps = parse_query(query);
  std::string const* sym = param(ps, "symbol");
  if (!sym || sym->empty()) return mandatory("symbol");
  std::string const* iv_text = param(ps, "interval");
  if (!iv_text || iv_text->empty()) return mandatory("interval");
  if (!legal_symbol(*sym)) return illegal("symbol", "^[A-Z0-9-_.]{1,20}$");
  auto iv = parse_interval(*iv_text);
  if (!iv) return bad_request(-1120, "Invalid interval.");
  symbol_info const* info = market_.find(*sym);
  if (!info) return bad_request(-1121, "Invalid symbol.");

  std::optional<std::int64_t> start, end, limit;
  if (auto err = int_param(ps, "startTime", start)) return *err;
  if (auto err = int_param(ps, "endTime", end)) return *err;
  if (auto err = int_param(ps, "limit", limit)) return *err;
  if (limit && (*limit < 1 || *limit > 1000)) return invalid_data("limit");
  if (std::string const* tz = param(ps, "timeZone"); tz && *tz != "0" && *tz != "+0" && *tz != "0:00" &&
                                                     *tz != "+00:00" && *tz != "00:00")
    return invalid_data("timeZone");
  if (unit == time_unit::microsecond) {
    if (start) *start /= 1000;
    if (end) *end /= 1000;
  }
  if (start && end && *start > *end) return bad_request(-1023, "Start time is greater than end time.");

  std::size_t const lim = limit ? static_cast<std::size_t>(*limit) : 500;
  std::string key;
  if (opt_.page_cache_bytes > 0) {
    key.reserve(96);
    key += info->symbol.view();
    key += '|';
    key += to_string(*iv);
    key += '|';
    key += start ? std::to_string(*start) : "-";
    key += '|';
    key += end ? std::to_string(*end) : "-";
    key += '|';
    key += std::to_string(lim);
    key += unit == time_unit::microsecond ? "|us" : "|ms";
    std::lock_guard lock(cache_mu_);
    if (auto it = page_cache_.find(key); it != page_cache_.end()) {
      stats_.page_cache_hits.fetch_add(1, std::memory_order_relaxed);
      response r;
      r.body = it->second;
      return r;
    }
  }
  kline_query const q = plan_selection(start ? std::optional{timestamp_ms{*start}} : std::nullopt,
                                       end ? std::optional{timestamp_ms{*end}} : std::nullopt, lim, now);
  auto rows = market_.klines(*info, *iv, q, now);
  if (!rows) return json(500, render_error(-1000, "An unknown error occurred while processing the request."));
  auto body = std::make_shared<std::string>();
  render_klines(*body, *rows, unit);
  std::shared_ptr<std::string const> cbody = std::move(body);
  if (opt_.page_cache_bytes > 0) {
    stats_.page_cache_misses.fetch_add(1, std::memory_order_relaxed);
    // Cacheable only if no later clock tick can change the page: every candle is closed and
    // the window cannot grow (its end is in the past, or a forward page is already full).
    std::size_t const count = rows->size();
    bool const closed = count == 0 || rows->close_time(count - 1) < now;
    bool const fixed = (end && *end < now.ms) || (start && !q.newest && count == lim);
    if (closed && fixed) {
      std::lock_guard lock(cache_mu_);
      if (page_cache_size_ + cbody->size() > opt_.page_cache_bytes) {
        page_cache_.clear();
        page_cache_size_ = 0;
      }
      if (cbody->size() <= opt_.page_cache_bytes && page_cache_.emplace(key, cbody).second)
        page_cache_size_ += cbody->size() + key.size();
    }
  }
  response r;
  r.body = std::move(cbody);
  return r;
}

response exchange::exchange_info(std::string_view query, timestamp_ms now) {
  auto const ps = parse_query(query);
  std::vector<symbol_info const*> selected;
  if (std::string const* one = param(ps, "symbol")) {
    if (one->empty()) return mandatory("symbol");
    if (!legal_symbol(*one)) return illegal("symbol", "^[A-Z0-9-_.]{1,20}$");
    symbol_info const* s = market_.find(*one);
    if (!s) return bad_request(-1121, "Invalid symbol.");
    selected.push_back(s);
  } else if (std::string const* many = param(ps, "symbols")) {
    // ["BTCUSDT","ETHUSDT"] (spaces allowed)
    std::string_view v = *many;
    if (v.size() < 2 || v.front() != '[' || v.back() != ']')
      return illegal("symbols", "^\\[(\"[A-Z0-9-_.]{1,20}\"(,\"[A-Z0-9-_.]{1,20}\"){0,}){0,1}\\]$");
    v = v.substr(1, v.size() - 2);
    while (!v.empty()) {
      std::size_t const comma = v.find(',');
      std::string_view item = v.substr(0, comma);
      v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      if (item.size() < 2 || item.front() != '"' || item.back() != '"' || !legal_symbol(item.substr(1, item.size() - 2)))
        return illegal("symbols", "^\\[(\"[A-Z0-9-_.]{1,20}\"(,\"[A-Z0-9-_.]{1,20}\"){0,}){0,1}\\]$");
      symbol_info const* s = market_.find(item.substr(1, item.size() - 2));
      if (!s) return bad_request(-1121, "Invalid symbol.");
      selected.push_back(s);
    }
  } else {
    for (auto const& s : market_.symbols()) selected.push_back(&s);
  }
  std::string b;
  b.reserve(512 + selected.size() * 700);
  b += "{\"timezone\":\"UTC\",\"serverTime\":";
  b += std::to_string(now.ms);
  b += ",\"rateLimits\":[{\"rateLimitType\":\"REQUEST_WEIGHT\",\"interval\":\"";
  b += window_.interval;
  b += "\",\"intervalNum\":";
  b += std::to_string(window_.interval_num);
  b += ",\"limit\":";
  b += std::to_string(opt_.limits.weight_limit);
  b += "}],\"exchangeFilters\":[],\"symbols\":[";
  bool first = true;
  for (symbol_info const* s : selected) {
    if (!first) b += ',';
    first = false;
    b += "{\"symbol\":";
    append_json_string(b, s->symbol.view());
    b += ",\"status\":";
    append_json_string(b, s->status);
    b += ",\"baseAsset\":";
    append_json_string(b, s->base_asset);
    b += ",\"baseAssetPrecision\":8,\"quoteAsset\":";
    append_json_string(b, s->quote_asset);
    b += ",\"quotePrecision\":8,\"quoteAssetPrecision\":8,\"orderTypes\":[\"LIMIT\",\"LIMIT_MAKER\",\"MARKET\"],"
         "\"icebergAllowed\":true,\"ocoAllowed\":true,\"isSpotTradingAllowed\":true,\"isMarginTradingAllowed\":false,"
         "\"filters\":[{\"filterType\":\"PRICE_FILTER\",\"minPrice\":";
    append_decimal(b, s->tick_size);
    b += ",\"maxPrice\":\"1000000.00000000\",\"tickSize\":";
    append_decimal(b, s->tick_size);
    b += "},{\"filterType\":\"LOT_SIZE\",\"minQty\":";
    append_decimal(b, s->step_size);
    b += ",\"maxQty\":\"9000000.00000000\",\"stepSize\":";
    append_decimal(b, s->step_size);
    b += "}],\"permissions\":[\"SPOT\"]}";
  }
  b += "]}";
  return json(200, std::move(b));
}

std::string exchange::stats_json() const {
  auto g = [](std::atomic<std::uint64_t> const& a) { return std::to_string(a.load(std::memory_order_relaxed)); };
  std::string s = "{";
  auto kv = [&](char const* k, std::string const& v) {
    if (s.size() > 1) s += ',';
    s += '"';
    s += k;
    s += "\":";
    s += v;
  };
  kv("requests", g(stats_.requests));
  kv("klines_requests", g(stats_.klines_requests));
  kv("weight_used", g(stats_.weight_used));
  kv("status_2xx", g(stats_.status_2xx));
  kv("status_400", g(stats_.status_400));
  kv("status_404", g(stats_.status_404));
  kv("status_429", g(stats_.status_429));
  kv("status_418", g(stats_.status_418));
  kv("status_5xx", g(stats_.status_5xx));
  kv("bans", g(stats_.bans));
  kv("faults_injected", g(stats_.faults_injected));
  std::string f = "{";
  for (std::size_t i = 0; i < fault_kind_count; ++i) {
    if (i) f += ',';
    f += '"';
    f += to_string(static_cast<fault_kind>(i));
    f += "\":";
    f += g(stats_.faults_by_kind[i]);
  }
  f += '}';
  kv("faults", f);
  kv("bytes_sent", g(stats_.bytes_sent));
  kv("page_cache_hits", g(stats_.page_cache_hits));
  kv("page_cache_misses", g(stats_.page_cache_misses));
  kv("connections_accepted", g(stats_.connections_accepted));
  kv("connections_active", g(stats_.connections_active));
  kv("connections_refused", g(stats_.connections_refused));
  kv("session_errors", g(stats_.session_errors));
  s += '}';
  return s;
}

}  // namespace atb::sim
