#include "atb/fetch/planner.hpp"

#include <algorithm>

namespace atb::fetch {

std::string_view to_string(year_action a) noexcept {
  switch (a) {
    case year_action::fetch: return "fetch";
    case year_action::skip_before_listing: return "before listing";
    case year_action::skip_future: return "future";
    case year_action::skip_complete: return "complete";
    case year_action::skip_fresh: return "fresh";
  }
  return "?";
}

bool caught_up(atb::interval iv, timestamp_ms last_open, timestamp_ms written_at) noexcept {
  // The candle after the last stored one must have been still open at written_at.
  return next_open(iv, next_open(iv, last_open)) > written_at;
}

std::int64_t estimate_candles(atb::interval iv, timestamp_ms from, timestamp_ms to) noexcept {
  if (to <= from) return 0;
  auto const len = nominal_ms(iv);
  return (to.ms - from.ms + len - 1) / len;
}

std::vector<year_plan> plan_years(plan_input const& in, std::map<int, year_state> const& cache) {
  std::vector<year_plan> out;
  for (int y = in.first_year; y <= in.last_year; ++y) {
    year_plan p;
    p.year = y;
    auto const ys = year_start(y), ye = year_end(y);
    p.past = ye <= in.now;
    if (ys >= in.now) {
      p.action = year_action::skip_future;
      out.push_back(p);
      continue;
    }
    if (!in.first_candle || *in.first_candle >= ye) {
      p.action = year_action::skip_before_listing;
      out.push_back(p);
      continue;
    }
    timestamp_ms const expected_first = std::max(ys, *in.first_candle);
    p.from = expected_first;
    p.to = std::min(ye, in.now);
    auto const it = cache.find(y);
    if (it != cache.end()) {
      year_state const& st = it->second;
      if (p.past && st.complete) {
        p.action = year_action::skip_complete;
        out.push_back(p);
        continue;
      }
      // Caught up when written: the candle after the last stored one (or, for an empty
      // file, the year's first candle) had not closed yet.
      bool const was_caught_up = st.rows > 0 ? caught_up(in.interval, st.last_open, st.written_at)
                                             : next_open(in.interval, expected_first) > st.written_at;
      if (!p.past && !in.force_refresh && in.now.ms - st.written_at.ms < in.current_year_ttl_ms && was_caught_up) {
        p.action = year_action::skip_fresh;
        out.push_back(p);
        continue;
      }
      if (st.rows > 0) {
        p.keep_existing = true;
        if (st.first_open > expected_first) {
          // The file does not start where the year's data starts (e.g. an import of a
          // partial range): fetch everything and unite on open time.
          p.overlaps_existing = true;
        } else {
          p.from = timestamp_ms{st.last_open.ms + 1};
        }
      }
    }
    p.action = year_action::fetch;
    out.push_back(p);
  }
  return out;
}

std::vector<std::pair<timestamp_ms, timestamp_ms>> split_segments(atb::interval iv, timestamp_ms from, timestamp_ms to,
                                                                  std::int64_t page_size, std::int64_t pages_per_segment) {
  std::vector<std::pair<timestamp_ms, timestamp_ms>> out;
  if (to <= from) return out;
  if (!has_fixed_length(iv) || page_size <= 0 || pages_per_segment <= 0) {
    out.emplace_back(from, to);
    return out;
  }
  std::int64_t const span = nominal_ms(iv) * page_size * pages_per_segment;
  for (std::int64_t a = from.ms; a < to.ms; a += span) out.emplace_back(timestamp_ms{a}, timestamp_ms{std::min(to.ms, a + span)});
  return out;
}

std::pair<int, int> years_back_range(timestamp_ms now, int years_back) noexcept {
  if (years_back < 1) years_back = 1;
  int const last = year_of(now);
  return {last - years_back, last};
}

}  // namespace atb::fetch
