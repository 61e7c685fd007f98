#include "atb/store/csv_import.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <set>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace atb::store {

namespace {

std::string errno_text(int e) { return std::strerror(e); }

std::string field_label(field f) {
  // REST column numbers (1-based) as users see them in the CSV.
  static constexpr int rest_column[field_count] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  return "field " + std::to_string(rest_column[static_cast<std::size_t>(f)]) + " (" + std::string(to_string(f)) + ")";
}

std::string value_text(kline_columns const& k, field f, std::size_t i) {
  if (f == field::open_time || f == field::close_time) {
    std::int64_t const v = k[f][i];
    return std::to_string(v) + " (" + format_utc(timestamp_ms{v}) + ")";
  }
  if (!is_decimal(f)) return std::to_string(k[f][i]);
  return k.value(f, i).to_string();
}

}  // namespace

// ---------------------------------------------------------------------------------------
// File names

result<csv_name_info> parse_csv_file_name(std::filesystem::path const& file) {
  std::string const name = file.filename().string();
  auto fail = [&](std::string const& why) -> error {
    return error{core_errc::invalid_csv,
                 "cannot tell the symbol and interval from the file name '" + name.substr(0, 200) + "' (" + why +
                     "; expected SYMBOL-INTERVAL[-…].csv such as BTCUSDT-1h-2025-06.csv): pass --symbol and --timeframe."};
  };
  std::string_view base = name;
  if (base.size() < 4 || (base.substr(base.size() - 4) != ".csv" && base.substr(base.size() - 4) != ".CSV"))
    return fail("it does not end in .csv");
  base.remove_suffix(4);
  std::size_t const dash = base.find('-');
  if (dash == std::string_view::npos) return fail("there is no '-' between symbol and interval");
  std::string_view const sym_text = base.substr(0, dash);
  std::string_view rest = base.substr(dash + 1);
  std::string_view const iv_text = rest.substr(0, rest.find('-'));
  if (!atb::symbol::is_valid(sym_text)) return fail("'" + std::string(sym_text.substr(0, 40)) + "' is not a symbol");
  auto iv = parse_interval(iv_text, /*allow_archive_spelling=*/true);
  if (!iv) return fail("'" + std::string(iv_text.substr(0, 20)) + "' is not a Binance interval");
  return csv_name_info{atb::symbol::parse(sym_text).value(), *iv};
}

// ---------------------------------------------------------------------------------------
// Lines

void csv_line_splitter::feed(std::string_view chunk, line_fn const& on_line) {
  std::size_t pos = 0;
  while (pos < chunk.size()) {
    std::size_t const nl = chunk.find('\n', pos);
    std::string_view const piece = chunk.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (carry_.empty() && !carry_too_long_ && nl != std::string_view::npos) {
      if (piece.size() > max_line_bytes)
        on_line(piece.substr(0, max_line_bytes), true);
      else
        on_line(piece, false);
    } else {
      std::size_t const room = max_line_bytes - carry_.size();
      if (piece.size() > room) {
        carry_.append(piece.substr(0, room));
        carry_too_long_ = true;
      } else {
        carry_.append(piece);
      }
      if (nl != std::string_view::npos) {
        on_line(carry_, carry_too_long_);
        carry_.clear();
        carry_too_long_ = false;
      }
    }
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
}

void csv_line_splitter::finish(line_fn const& on_line) {
  if (!carry_.empty() || carry_too_long_) on_line(carry_, carry_too_long_);
  carry_.clear();
  carry_too_long_ = false;
}

// ---------------------------------------------------------------------------------------
// Rows

csv_line_result csv_row_parser::parse(std::string_view line, kline_columns& out, std::string& why) {
  bool const first = !seen_content_;
  if (first && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);  // a UTF-8 byte order mark
  auto parsed = parse_kline_csv_line(line, out);
  if (!parsed) {
    why = parsed.error().message;
    seen_content_ = true;
    return csv_line_result::bad;
  }
  switch (*parsed) {
    case csv_row_kind::blank:
      return csv_line_result::blank;
    case csv_row_kind::header:
      seen_content_ = true;
      if (first) return csv_line_result::header;
      why = "is text where a kline row was expected (a header is only allowed on the first line)";
      return csv_line_result::bad;
    case csv_row_kind::kline:
      break;
  }
  seen_content_ = true;

  std::size_t const i = out.size() - 1;
  auto const v = [&](field f) { return out[f][i]; };
  auto reject = [&](std::string msg) {
    for (auto& c : out.cols) c.pop_back();
    why = std::move(msg);
    return csv_line_result::bad;
  };
  timestamp_ms const open{v(field::open_time)}, close{v(field::close_time)};
  // close == open is real: Binance's empty candle during the 2017-09-06 outage (BTCUSDT 4h).
  if (close < open)
    return reject(field_label(field::close_time) + " " + value_text(out, field::close_time, i) +
                  " is before the open time " + value_text(out, field::open_time, i));
  if (timestamp_ms const next = next_open(interval_, open); close >= next)
    return reject(field_label(field::close_time) + " " + value_text(out, field::close_time, i) +
                  " is after the end of a " + std::string(to_string(interval_)) + " candle opened at " +
                  format_utc(open) + "; is the interval right? (see --timeframe)");
  // All prices of the row are at the same scale (the parser's default), so mantissas compare.
  if (v(field::low) > v(field::high))
    return reject(field_label(field::low) + " " + value_text(out, field::low, i) + " is above " +
                  field_label(field::high) + " " + value_text(out, field::high, i));
  for (field f : {field::open, field::close})
    if (v(f) < v(field::low) || v(f) > v(field::high))
      return reject(field_label(f) + " " + value_text(out, f, i) + " is outside the low..high range " +
                    value_text(out, field::low, i) + ".." + value_text(out, field::high, i));
  for (field f : {field::low, field::volume, field::quote_volume, field::trades, field::taker_buy_base_volume,
                  field::taker_buy_quote_volume})
    if (v(f) < 0) return reject(field_label(f) + " " + value_text(out, f, i) + " is negative");
  if (v(field::taker_buy_base_volume) > v(field::volume))
    return reject(field_label(field::taker_buy_base_volume) + " " + value_text(out, field::taker_buy_base_volume, i) +
                  " exceeds " + field_label(field::volume) + " " + value_text(out, field::volume, i));
  if (v(field::taker_buy_quote_volume) > v(field::quote_volume))
    return reject(field_label(field::taker_buy_quote_volume) + " " +
                  value_text(out, field::taker_buy_quote_volume, i) + " exceeds " +
                  field_label(field::quote_volume) + " " + value_text(out, field::quote_volume, i));
  return csv_line_result::row;
}

std::string describe_row_difference(kline_columns const& a, std::size_t i, kline_columns const& b, std::size_t j) {
  std::string out;
  for (std::size_t k = 0; k < field_count; ++k) {
    field const f = static_cast<field>(k);
    bool const same = is_decimal(f) ? a.value(f, i) == b.value(f, j) : a[f][i] == b[f][j];
    if (same) continue;
    if (!out.empty()) out += ", ";
    out += std::string(to_string(f)) + " " + value_text(a, f, i) + " vs " + value_text(b, f, j);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Import

namespace {

kline_columns empty_rows() {
  kline_columns k;  // default scales; all 11 columns present (empty)
  return k;
}

/// Buffers one file's rows, flushes them in batches free of in-file duplicates.
class batch_importer {
 public:
  batch_importer(std::string source, atb::interval iv, csv_import_options const& opt, csv_import_report& report,
                 csv_batch_fn const& on_batch)
      : source_(std::move(source)), parser_(iv), opt_(opt), report_(report), on_batch_(on_batch) {}

  void problem(std::string sentence) {
    if (report_.problems.size() < opt_.max_reported)
      report_.problems.push_back(std::move(sentence));
    else
      ++report_.problems_not_shown;
  }

  result<void> line(std::string_view text, bool too_long) {
    std::uint64_t const no = ++report_.lines;
    if (too_long) {
      ++report_.bad_rows;
      problem(source_ + ":" + std::to_string(no) + ": the line is longer than " +
              std::to_string(csv_line_splitter::max_line_bytes) + " bytes, so it is not a Binance kline; it was skipped.");
      return {};
    }
    std::string why;
    switch (parser_.parse(text, scratch_, why)) {
      case csv_line_result::blank:
      case csv_line_result::header:
        return {};
      case csv_line_result::bad:
        ++report_.bad_rows;
        problem(source_ + ":" + std::to_string(no) + ": " + why + "; the line was skipped.");
        return {};
      case csv_line_result::row:
        break;
    }
    ++report_.rows_read;
    timestamp_ms const t = scratch_.open_time(0);
    int const y = year_of(t);
    if (!batch_.empty()) {
      timestamp_ms const prev = batch_.open_time(batch_.size() - 1);
      if (t < prev) sorted_ = false;
      // Sorted input is flushed at year boundaries: each year file is then written once.
      bool const year_done = sorted_ && y != year_of(prev);
      if (year_done || batch_.size() >= std::max<std::size_t>(opt_.batch_rows, 1))
        if (auto r = flush(); !r) return r;
    }
    batch_.push_row(scratch_, 0);
    lines_.push_back(no);
    scratch_.clear();
    return {};
  }

  result<void> flush() {
    std::size_t const n = batch_.size();
    if (n == 0) return {};
    auto const& ot = batch_[field::open_time];
    if (std::adjacent_find(ot.begin(), ot.end(), std::greater_equal<>{}) == ot.end()) {
      // Strictly ascending (the usual file): nothing to sort or drop, no copy.
      auto r = on_batch_(batch_, lines_);
      batch_.clear();
      lines_.clear();
      sorted_ = true;
      return r;
    }
    std::vector<std::uint32_t> order(n);
    std::iota(order.begin(), order.end(), 0u);
    if (!std::is_sorted(ot.begin(), ot.end()))
      std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return ot[a] < ot[b]; });
    kline_columns rows = empty_rows();
    rows.reserve(n);
    std::vector<std::uint64_t> lines;
    lines.reserve(n);
    for (std::uint32_t k : order) {
      if (!rows.empty() && rows.open_time(rows.size() - 1) == batch_.open_time(k)) {
        std::string const diff = describe_row_difference(rows, rows.size() - 1, batch_, k);
        if (diff.empty()) {
          ++report_.duplicates;
        } else {
          ++report_.conflicts;
          problem(source_ + ":" + std::to_string(lines_[k]) + ": the row opened at " +
                  format_utc(batch_.open_time(k)) + " conflicts with line " + std::to_string(lines.back()) +
                  " of the same file (line " + std::to_string(lines.back()) + " vs this line: " + diff +
                  "); line " + std::to_string(lines.back()) + " was kept.");
        }
        continue;
      }
      rows.push_row(batch_, k);
      lines.push_back(lines_[k]);
    }
    batch_.clear();
    lines_.clear();
    sorted_ = true;
    return on_batch_(rows, lines);
  }

 private:
  std::string source_;
  csv_row_parser parser_;
  csv_import_options const& opt_;
  csv_import_report& report_;
  csv_batch_fn const& on_batch_;
  kline_columns scratch_ = empty_rows();
  kline_columns batch_ = empty_rows();
  std::vector<std::uint64_t> lines_;
  bool sorted_ = true;
};

/// Compares a batch with the cached rows of its years and merges the new rows.
result<void> merge_batch(cache& c, atb::symbol const& s, atb::interval iv, std::string const& source,
                         kline_columns const& rows, std::vector<std::uint64_t> const& lines,
                         csv_import_options const& opt, csv_import_report& report,
                         std::function<void(std::string)> const& problem) {
  std::vector<std::uint32_t> fresh_rows;  // indices of rows not in the cache
  std::size_t known = 0;                  // rows already in the cache (duplicates or conflicts)
  std::size_t i = 0;
  while (i < rows.size()) {
    int const y = year_of(rows.open_time(i));
    std::size_t end = i;
    while (end < rows.size() && year_of(rows.open_time(end)) == y) ++end;
    auto f = c.open(year_key{s, iv, y});
    if (!f) return f.error();
    kline_columns stored;
    if (f->has_value()) {
      if (auto r = (*f)->read(field_mask::all(), stored); !r) return r.error();
    }
    auto const& sot = stored[field::open_time];
    for (std::size_t k = i; k < end; ++k) {
      auto it = std::lower_bound(sot.begin(), sot.end(), rows[field::open_time][k]);
      if (it == sot.end() || *it != rows[field::open_time][k]) {
        fresh_rows.push_back(static_cast<std::uint32_t>(k));
        continue;
      }
      ++known;
      std::size_t const j = static_cast<std::size_t>(it - sot.begin());
      std::string const diff = describe_row_difference(stored, j, rows, k);
      if (diff.empty()) {
        ++report.duplicates;
      } else {
        ++report.conflicts;
        problem(source + ":" + std::to_string(lines[k]) + ": the row opened at " + format_utc(rows.open_time(k)) +
                " conflicts with the cached row (cached vs file: " + diff + "); the cached row was kept.");
      }
    }
    i = end;
  }
  if (fresh_rows.empty()) return {};
  // Every row new (a first import): merge the batch itself rather than a copy.
  kline_columns fresh = empty_rows();
  if (known != 0) {
    fresh.reserve(fresh_rows.size());
    for (std::uint32_t k : fresh_rows) fresh.push_row(rows, k);
  }
  auto m = c.merge(s, iv, known == 0 ? rows : fresh, opt.merge);
  if (!m) return m.error();
  report.added += m->added;
  report.duplicates += m->duplicates;  // only if the cache changed under us
  report.conflicts += m->conflicts;
  for (auto const& e : m->conflict_examples) problem(source + ": " + e);
  report.files_written += m->files_written;
  return {};
}

}  // namespace

result<void> import_csv_bytes(std::string_view bytes, std::string const& source_name, atb::interval iv,
                              csv_import_options const& opt, csv_import_report& report,
                              csv_batch_fn const& on_batch) {
  batch_importer imp(source_name, iv, opt, report, on_batch);
  csv_line_splitter split;
  result<void> status;
  auto on_line = [&](std::string_view line, bool too_long) {
    if (status) status = imp.line(line, too_long);
  };
  split.feed(bytes, on_line);
  split.finish(on_line);
  if (!status) return status;
  return imp.flush();
}

result<csv_import_report> import_csv_file(cache& c, std::filesystem::path const& file,
                                          csv_import_options const& opt) {
  csv_import_report report;
  report.file = file;
  std::string const source = file.string();

  std::optional<atb::symbol> sym = opt.symbol;
  std::optional<atb::interval> iv = opt.interval;
  if (!sym || !iv) {
    auto named = parse_csv_file_name(file);
    if (!named) return named.error();
    if (!sym) sym = named->symbol;
    if (!iv) iv = named->interval;
  }
  report.symbol = sym;
  report.interval = *iv;

  std::error_code ec;
  if (std::filesystem::is_directory(file, ec))
    return error{store_errc::io_error, "cannot import " + source + ": it is a directory, not a CSV file."};
  std::FILE* in = std::fopen(file.c_str(), "rb");
  if (!in)
    return error{store_errc::io_error, "cannot open " + source + " for reading: " + errno_text(errno) + "."};
  struct closer {
    std::FILE* f;
    ~closer() { std::fclose(f); }
  } close_in{in};

  auto problem = [&](std::string s) {
    if (report.problems.size() < opt.max_reported)
      report.problems.push_back(std::move(s));
    else
      ++report.problems_not_shown;
  };
  csv_batch_fn on_batch = [&](kline_columns const& rows, std::vector<std::uint64_t> const& lines) -> result<void> {
    return merge_batch(c, *sym, *iv, source, rows, lines, opt, report, problem);
  };
  batch_importer imp(source, *iv, opt, report, on_batch);
  csv_line_splitter split;
  result<void> status;
  auto on_line = [&](std::string_view line, bool too_long) {
    if (status) status = imp.line(line, too_long);
  };
  std::vector<char> buf(1 << 20);
  while (status) {
    std::size_t const n = std::fread(buf.data(), 1, buf.size(), in);
    if (n > 0) split.feed(std::string_view(buf.data(), n), on_line);
    if (n < buf.size()) {
      if (std::ferror(in))
        return error{store_errc::io_error, "cannot read " + source + ": " + errno_text(errno) + "."};
      break;
    }
  }
  if (status) split.finish(on_line);
  if (!status) return status.error();
  if (auto r = imp.flush(); !r) return r.error();
  return report;
}

// ---------------------------------------------------------------------------------------
// Export

result<csv_export_report> export_csv(cache const& c, atb::symbol const& s, atb::interval iv, timestamp_ms from,
                                     timestamp_ms to, std::function<result<void>(std::string_view)> const& sink) {
  csv_export_report rep;
  if (to <= from) return rep;
  // Years that hold files (readable ones), plus every plausible year of the range, so that
  // an unreadable year file in the range is an error rather than silently missing rows.
  std::set<int> years;
  auto listed = c.list();
  if (!listed) return listed.error();
  for (auto const& e : *listed)
    if (e.header.key.symbol == s && e.header.key.interval == iv) years.insert(e.header.key.year);
  int const now_year = year_of(system_now());
  // Clamped before year_of: an open range is [min, max) of int64.
  int const lo = from < year_start(2009) ? 2009 : year_of(from);
  int const hi = to > year_end(now_year + 1) ? now_year + 1 : year_of(timestamp_ms{to.ms - 1});
  for (int y = lo; y <= hi; ++y) years.insert(y);

  std::string buf;
  buf.reserve((1 << 20) + 512);
  for (int y : years) {
    timestamp_ms const a = std::max(from, year_start(y)), b = std::min(to, year_end(y));
    if (a >= b) continue;
    auto f = c.open(year_key{s, iv, y});
    if (!f) return f.error();
    if (!f->has_value()) continue;
    kline_columns k;
    if (auto r = (*f)->read(field_mask::all(), k); !r) return r.error();
    auto const& ot = k[field::open_time];
    std::size_t const first = static_cast<std::size_t>(std::lower_bound(ot.begin(), ot.end(), a.ms) - ot.begin());
    std::size_t const last = static_cast<std::size_t>(std::lower_bound(ot.begin(), ot.end(), b.ms) - ot.begin());
    for (std::size_t i = first; i < last; ++i) {
      append_kline_csv_line(buf, k, i);
      if (rep.rows == 0) rep.first_open = k.open_time(i);
      rep.last_open = k.open_time(i);
      ++rep.rows;
      if (buf.size() >= (1u << 20)) {
        if (auto r = sink(buf); !r) return r.error();
        rep.bytes += buf.size();
        buf.clear();
      }
    }
  }
  if (!buf.empty()) {
    if (auto r = sink(buf); !r) return r.error();
    rep.bytes += buf.size();
  }
  return rep;
}

// ---------------------------------------------------------------------------------------
// Atomic output

result<atomic_output_file> atomic_output_file::create(std::filesystem::path path) {
  if (path.filename().empty())
    return error{store_errc::io_error, "cannot write '" + path.string() + "': it names a directory, not a file."};
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return error{store_errc::io_error, "cannot write " + path.string() + ": it is a directory."};
  static std::uint64_t counter = 0;
  std::filesystem::path temp = path.parent_path() / ("." + path.filename().string() + ".tmp-" +
                                                      std::to_string(::getpid()) + "-" + std::to_string(++counter));
  int const fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0)
    return error{store_errc::io_error, "cannot create a file beside " + path.string() + ": " + errno_text(errno) +
                                           " (check that the directory exists and is writable)."};
  return atomic_output_file(std::move(path), std::move(temp), fd);
}

result<void> atomic_output_file::write(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t const n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return error{store_errc::io_error, "cannot write " + path_.string() + ": " + errno_text(errno) + "."};
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

result<void> atomic_output_file::commit() {
  if (::fsync(fd_) != 0)
    return error{store_errc::io_error, "cannot flush " + path_.string() + " to disk: " + errno_text(errno) + "."};
  int const fd = std::exchange(fd_, -1);
  if (::close(fd) != 0)
    return error{store_errc::io_error, "cannot write " + path_.string() + ": " + errno_text(errno) + "."};
  if (::rename(temp_.c_str(), path_.c_str()) != 0)
    return error{store_errc::io_error, "cannot rename the finished file to " + path_.string() + ": " +
                                           errno_text(errno) + "."};
  temp_.clear();
  std::filesystem::path dir = path_.parent_path();
  if (dir.empty()) dir = ".";
  int const dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

void atomic_output_file::abandon() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!temp_.empty()) ::unlink(temp_.c_str());
  temp_.clear();
}

atomic_output_file::atomic_output_file(atomic_output_file&& o) noexcept
    : path_(std::move(o.path_)), temp_(std::exchange(o.temp_, {})), fd_(std::exchange(o.fd_, -1)) {}

atomic_output_file& atomic_output_file::operator=(atomic_output_file&& o) noexcept {
  if (this != &o) {
    abandon();
    path_ = std::move(o.path_);
    temp_ = std::exchange(o.temp_, {});
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

atomic_output_file::~atomic_output_file() { abandon(); }

}  // namespace atb::store
