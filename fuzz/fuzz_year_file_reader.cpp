// Fuzz target: the year-file reader must never crash, whatever the bytes.
// Each input is opened as is (so header/magic/version/size checks are exercised), then
// again with its checksums recomputed, so that mutations also reach the decoder behind
// the checksums (zstd frames, the Cap'n Proto block, the transforms). For every file that
// opens: read all columns, read a few column subsets, and verify().
#include "atb/store/year_file.hpp"

#include <xxhash.h>

#include <cstdint>
#include <cstring>
#include <string>

namespace {

using namespace atb;
using namespace atb::store;

// docs/FORMAT.md: header body [0, 520), its XXH3-64 at 520; directory entry c at 80 + 40c
// with offset at +8, compressed size at +16, block XXH3-64 at +32.
void fix_checksums(std::string& b) {
  if (b.size() < 528) return;
  for (std::size_t c = 0; c < field_count; ++c) {
    char* e = b.data() + 80 + 40 * c;
    std::uint64_t off = 0, cs = 0;
    std::memcpy(&off, e + 8, 8);
    std::memcpy(&cs, e + 16, 8);
    if (off <= b.size() && cs <= b.size() - off) {
      std::uint64_t const h = XXH3_64bits(b.data() + off, cs);
      std::memcpy(e + 32, &h, 8);
    }
  }
  std::uint64_t const h = XXH3_64bits(b.data(), 520);
  std::memcpy(b.data() + 520, &h, 8);
}

void exercise(std::string bytes) {
  auto f = year_file::from_bytes(std::move(bytes), "fuzz.atb");
  if (!f) return;
  kline_columns k;
  (void)f->read(field_mask::all(), k);
  (void)f->read(field_mask{field::close}, k);
  (void)f->read(field_mask{field::taker_buy_quote_volume, field::close_time}, k);
  (void)f->verify();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string const in(reinterpret_cast<char const*>(data), size);
  exercise(in);
  std::string fixed = in;
  fix_checksums(fixed);
  if (fixed != in) exercise(std::move(fixed));
  return 0;
}
