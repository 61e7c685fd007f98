// Property: the CSV importer's file-name, line and row parsing never crashes, never
// accepts a row that breaks the kline invariants, and hands ascending, duplicate-free
// batches to the merge step, whatever the bytes.
// Input layout: byte 0 chooses the interval and the batch size; the rest is the file.
// The first line is also tried as a file name.
#include "atb/store/csv_import.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace atb;
  if (size == 0) return 0;
  interval const iv = all_intervals[data[0] % all_intervals.size()];
  std::string_view const text(reinterpret_cast<char const*>(data + 1), size - 1);

  (void)store::parse_csv_file_name(std::string(text.substr(0, std::min<std::size_t>(text.find('\n'), 300))));

  store::csv_import_options opt;
  opt.batch_rows = 1 + (data[0] >> 4);  // small batches exercise the flush paths
  opt.max_reported = 4;
  store::csv_import_report rep;
  std::uint64_t rows = 0;
  auto on_batch = [&](kline_columns const& k, std::vector<std::uint64_t> const& lines) -> result<void> {
    if (k.size() != lines.size()) std::abort();
    for (std::size_t i = 0; i < k.size(); ++i) {
      if (i && !(k.open_time(i - 1) < k.open_time(i))) std::abort();
      if (k.close_time(i) < k.open_time(i)) std::abort();
      if (k[field::low][i] > k[field::high][i]) std::abort();
      if (lines[i] == 0 || lines[i] > rep.lines) std::abort();
      std::string line;
      append_kline_csv_line(line, k, i);  // every accepted row can be exported
      if (line.empty() || line.back() != '\n') std::abort();
    }
    rows += k.size();
    return {};
  };
  auto r = store::import_csv_bytes(text, "fuzz.csv", iv, opt, rep, on_batch);
  if (!r) std::abort();  // only on_batch can fail, and it never does here
  if (rows + rep.duplicates + rep.conflicts != rep.rows_read) std::abort();
  if (rep.problems.size() > opt.max_reported) std::abort();
  return 0;
}
