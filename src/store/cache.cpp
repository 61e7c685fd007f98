// The cache directory: ranges across year files, merges, listings.
#include "atb/store/cache.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <numeric>

namespace atb::store {

namespace {

constexpr std::size_t max_conflict_examples = 5;

/// Converts a column from scale `from` to scale `to`; false if a value would lose digits or overflow.
bool rescale_column(aligned_vector<std::int64_t>& col, unsigned from, unsigned to) {
  if (from == to) return true;
  if (to > from) {
    std::int64_t const p = pow10_i64(to - from);
    for (auto& x : col) {
      if (__builtin_mul_overflow(x, p, &x)) return false;
    }
    return true;
  }
  std::int64_t const p = pow10_i64(from - to);
  for (auto& x : col) {
    if (x % p != 0) return false;
    x /= p;
  }
  return true;
}

result<void> rescale_to(kline_columns& k, std::array<std::uint8_t, field_count> const& scale, std::string const& what) {
  for (std::size_t c = 0; c < field_count; ++c) {
    if (k.scale[c] == scale[c]) continue;
    if (!rescale_column(k.cols[c], k.scale[c], scale[c]))
      return error{store_errc::invalid_input,
                   what + ": column " + std::string(to_string(static_cast<field>(c))) + " cannot be stored at scale " +
                       std::to_string(scale[c]) + " without losing digits"};
    k.scale[c] = scale[c];
  }
  return {};
}

std::string row_summary(kline_columns const& k, std::size_t i) {
  std::string s;
  for (field f : {field::open, field::high, field::low, field::close, field::volume}) {
    if (!s.empty()) s += ' ';
    s += std::string(to_string(f)) + '=' + k.value(f, i).to_string();
  }
  return s;
}

}  // namespace

cache::cache(std::filesystem::path dir) : dir_(std::move(dir)) {}

result<std::optional<year_file>> cache::open(year_key const& k) const {
  std::filesystem::path const p = year_file_path(dir_, k);
  std::error_code ec;
  if (!std::filesystem::exists(p, ec)) {
    if (ec)
      return error{store_errc::io_error, "cannot access " + p.string() + ": " + ec.message()};
    return std::optional<year_file>{};
  }
  auto f = year_file::open(p);
  if (!f) return f.error();
  if (!(f->header().key == k))
    return error{store_errc::name_mismatch, p.string() + ": the header says " + key_string(f->header().key) +
                                                ", not " + key_string(k) + "; run atb-verify and remove the file"};
  return std::optional<year_file>{std::move(*f)};
}

result<kline_columns> cache::load(atb::symbol const& s, atb::interval iv, timestamp_ms from, timestamp_ms to,
                                  field_mask fields) const {
  kline_columns out;
  if (!(from < to)) return out;
  int const y0 = std::max(1970, year_of(from));
  int const y1 = std::min(9999, year_of(timestamp_ms{to.ms - 1}));
  field_mask const read_mask = fields | field_mask{field::open_time};
  bool first = true;
  kline_columns part;
  for (int y = y0; y <= y1; ++y) {
    auto f = open(year_key{s, iv, y});
    if (!f) return f.error();
    if (!*f) continue;
    year_header const& h = (*f)->header();
    if (h.rows == 0 || h.last_open < from || h.first_open >= to) continue;
    if (auto r = (*f)->read(read_mask, part); !r) return r.error();
    if (first) {
      out.scale = part.scale;
      first = false;
    } else if (part.scale != out.scale) {
      // years written with different scales: bring both to the finer one
      std::array<std::uint8_t, field_count> fine{};
      for (std::size_t c = 0; c < field_count; ++c) fine[c] = std::max(out.scale[c], part.scale[c]);
      if (auto r = rescale_to(out, fine, "loading " + s.str()); !r) return r.error();
      if (auto r = rescale_to(part, fine, (*f)->path().string()); !r) return r.error();
    }
    auto const& ot = part[field::open_time];
    auto const b = static_cast<std::size_t>(std::lower_bound(ot.begin(), ot.end(), from.ms) - ot.begin());
    auto const e = static_cast<std::size_t>(std::lower_bound(ot.begin(), ot.end(), to.ms) - ot.begin());
    for (std::size_t c = 0; c < field_count; ++c) {
      if (!fields.has(static_cast<field>(c))) continue;
      auto const& src = part.cols[c];
      out.cols[c].insert(out.cols[c].end(), src.begin() + static_cast<std::ptrdiff_t>(b),
                         src.begin() + static_cast<std::ptrdiff_t>(e));
    }
  }
  return out;
}

result<merge_report> cache::merge(atb::symbol const& s, atb::interval iv, kline_columns const& rows,
                                  merge_options const& opt) {
  merge_report rep;
  std::size_t const n = rows.size();
  for (std::size_t c = 0; c < field_count; ++c)
    if (rows.cols[c].size() != n)
      return error{store_errc::invalid_input, "cannot merge " + s.str() + " " + std::string(to_string(iv)) +
                                                  ": column " + std::string(to_string(static_cast<field>(c))) +
                                                  " has a different number of rows"};
  if (n == 0) return rep;
  // order of the incoming rows by open time (stable: the first of equal times wins)
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  auto const& ot = rows[field::open_time];
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return ot[a] < ot[b]; });

  auto conflict = [&](kline_columns const& stored, std::size_t i, kline_columns const& inc, std::size_t j) {
    ++rep.conflicts;
    if (rep.conflict_examples.size() < max_conflict_examples)
      rep.conflict_examples.push_back(s.str() + " " + std::string(to_string(iv)) + " " +
                                      format_utc(stored.open_time(i)) + ": stored " + row_summary(stored, i) +
                                      ", new " + row_summary(inc, j) + " (kept the stored row)");
  };

  std::size_t pos = 0;
  while (pos < n) {
    int const y = year_of(timestamp_ms{ot[order[pos]]});
    std::size_t end = pos;
    while (end < n && year_of(timestamp_ms{ot[order[end]]}) == y) ++end;
    year_key const key{s, iv, y};
    if (y < 1970 || y > 9999)
      return error{store_errc::invalid_input, "cannot merge " + key_string(key) + ": open time " +
                                                  format_utc(timestamp_ms{ot[order[pos]]}) + " is out of range"};

    // incoming rows of this year, sorted, with in-batch duplicates resolved
    kline_columns inc;
    inc.scale = rows.scale;
    inc.reserve(end - pos);
    for (std::size_t j = pos; j < end; ++j) {
      std::size_t const r = order[j];
      if (!inc.empty() && inc[field::open_time].back() == ot[r]) {
        if (kline_columns::rows_equal(inc, inc.size() - 1, rows, r)) ++rep.duplicates;
        else conflict(inc, inc.size() - 1, rows, r);
        continue;
      }
      inc.push_row(rows, r);
    }
    pos = end;

    auto existing = open(key);
    if (!existing) return existing.error();
    kline_columns stored;
    std::uint32_t flags = 0;
    if (*existing) {
      if (auto r = (*existing)->read(field_mask::all(), stored); !r) return r.error();
      flags = (*existing)->header().flags;
      if (auto r = rescale_to(inc, stored.scale, "cannot merge into " + key_string(key)); !r) return r.error();
    } else {
      stored.scale = inc.scale;
    }

    kline_columns merged;
    merged.scale = stored.scale;
    merged.reserve(stored.size() + inc.size());
    std::size_t a = 0, b = 0, added = 0;
    auto const& so = stored[field::open_time];
    auto const& io = inc[field::open_time];
    while (a < stored.size() || b < inc.size()) {
      if (b == inc.size() || (a < stored.size() && so[a] < io[b])) {
        merged.push_row(stored, a++);
      } else if (a == stored.size() || io[b] < so[a]) {
        merged.push_row(inc, b++);
        ++added;
      } else {
        if (kline_columns::rows_equal(stored, a, inc, b)) ++rep.duplicates;
        else conflict(stored, a, inc, b);
        merged.push_row(stored, a++);
        ++b;
      }
    }
    rep.added += added;

    std::uint32_t new_flags = flags;
    if (opt.mark_complete_years && !merged.empty() && y < year_of(opt.write.written_at) &&
        next_open(iv, merged.open_time(merged.size() - 1)) >= year_end(y))
      new_flags |= flag_complete;
    if (added == 0 && new_flags == flags && *existing) continue;  // nothing changed: do not rewrite

    write_options wo = opt.write;
    wo.flags = new_flags | (opt.write.flags & flag_complete);
    if (auto r = write_year_file(dir_, key, merged, wo); !r) return r.error();
    ++rep.files_written;
  }
  return rep;
}

result<std::vector<cache_entry>> cache::list() const {
  std::vector<cache_entry> out;
  std::filesystem::path const md = market_data_dir(dir_);
  std::error_code ec;
  if (!std::filesystem::exists(md, ec)) return out;
  std::filesystem::directory_iterator it(md, ec);
  if (ec) return error{store_errc::io_error, "cannot list " + md.string() + ": " + ec.message()};
  for (auto const& e : it) {
    std::string const name = e.path().filename().string();
    if (name.size() != 68 || name.substr(64) != ".atb" || !e.is_regular_file(ec)) continue;
    auto f = year_file::open(e.path());
    if (!f) continue;
    cache_entry ce{e.path(), f->header(), f->file_size(), 0};
    auto const mt = std::filesystem::last_write_time(e.path(), ec);
    if (!ec) {
      auto const sys = std::chrono::file_clock::to_sys(mt);
      ce.mtime_ms = std::chrono::duration_cast<std::chrono::milliseconds>(sys.time_since_epoch()).count();
    }
    out.push_back(std::move(ce));
  }
  std::sort(out.begin(), out.end(), [](cache_entry const& a, cache_entry const& b) {
    auto const& x = a.header.key;
    auto const& y = b.header.key;
    if (x.symbol != y.symbol) return x.symbol < y.symbol;
    if (x.interval != y.interval) return x.interval < y.interval;
    return x.year < y.year;
  });
  return out;
}

}  // namespace atb::store
