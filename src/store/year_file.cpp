// The year file: header + directory + one zstd-compressed Cap'n Proto block per column.
// docs/FORMAT.md is the specification; keep both in step (and bump format_version when
// the bytes change).
#include "atb/store/year_file.hpp"

#include "column_block.capnp.h"
#include "year_codec.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>
#include <openssl/evp.h>
// Inlined: the header-only build uses the widest vector unit the target allows (AVX2 in
// release), the hashes are identical to libxxhash's.
#define XXH_INLINE_ALL
#include <xxhash.h>
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_c_literalCompressionMode, ZSTD_findDecompressedSize (exported by libzstd 1.5)
#include <zstd.h>

#include <algorithm>
#include <optional>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#if defined(__SSE2__)
#include <immintrin.h>
#endif
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static_assert(std::endian::native == std::endian::little, "the year-file code assumes a little-endian host");

namespace atb::store {

// ---------------------------------------------------------------- names and paths

std::string key_string(year_key const& k) {
  return k.symbol.str() + "_" + std::string(to_string(k.interval)) + "_" + std::to_string(k.year);
}

std::string file_name(year_key const& k) {
  std::string const key = key_string(k);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(key.data(), key.size(), md, &len, EVP_sha256(), nullptr) != 1 || len != 32)
    throw std::runtime_error("OpenSSL EVP SHA-256 failed");  // setup failure, not an input error
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(64 + 4);
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  out += ".atb";
  return out;
}

std::filesystem::path market_data_dir(std::filesystem::path const& cache_dir) { return cache_dir / "market_data"; }

std::filesystem::path year_file_path(std::filesystem::path const& cache_dir, year_key const& k) {
  return market_data_dir(cache_dir) / file_name(k);
}

namespace {

using namespace detail;

// ---------------------------------------------------------------- byte layout

constexpr char magic[8] = {'A', 'T', 'B', 'Y', 'E', 'A', 'R', '\x1a'};
constexpr std::size_t dir_offset = 80;
constexpr std::size_t dir_entry_size = 40;
constexpr std::size_t header_body_size = dir_offset + field_count * dir_entry_size;  // 520
constexpr std::size_t header_size = header_body_size + 8;                            // 528
constexpr std::uint64_t capnp_overhead_max = 64;  // segment table + root + struct + padding

template <class T>
T load(std::uint8_t const* p) noexcept {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class T>
void store_le(std::uint8_t* p, T v) noexcept {
  std::memcpy(p, &v, sizeof v);
}

std::string hex64(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string const damaged_hint = "; the file is damaged: delete it and download or import that year again";

std::uint64_t max_rows_per_year(interval iv) noexcept {
  if (iv == interval::mo1) return 12;
  return static_cast<std::uint64_t>(366 * ms_per_day / nominal_ms(iv)) + 1;
}

ZSTD_CCtx* thread_cctx() {
  struct holder {
    ZSTD_CCtx* c = ZSTD_createCCtx();
    ~holder() { ZSTD_freeCCtx(c); }
  };
  thread_local holder h;
  return h.c;
}
ZSTD_DCtx* thread_dctx() {
  struct holder {
    ZSTD_DCtx* d = ZSTD_createDCtx();
    ~holder() { ZSTD_freeDCtx(d); }
  };
  thread_local holder h;
  return h.d;
}

/// Decompression scratch, reused per thread (big years would otherwise page-fault a fresh
/// buffer for every column); released after a call when it grew beyond 32 MiB.
aligned_vector<std::uint64_t>& thread_scratch() {
  thread_local aligned_vector<std::uint64_t> s;
  return s;
}

}  // namespace

// ---------------------------------------------------------------- writer

result<std::string> encode_year_file(year_key const& k, kline_columns const& rows, write_options const& opt) {
  std::string const key = key_string(k);
  auto bad = [&](std::string what) {
    return error{store_errc::invalid_input, "cannot write year file " + key + ": " + what};
  };
  if (k.year < 1970 || k.year > 9999) return bad("the year must be between 1970 and 9999");
  std::size_t const n = rows[field::open_time].size();
  for (std::size_t c = 0; c < field_count; ++c) {
    if (rows.cols[c].size() != n)
      return bad("column " + std::string(to_string(static_cast<field>(c))) + " has " +
                 std::to_string(rows.cols[c].size()) + " rows, open_time has " + std::to_string(n));
    if (rows.scale[c] > max_decimal_scale)
      return bad("column " + std::string(to_string(static_cast<field>(c))) + " has decimal scale " +
                 std::to_string(rows.scale[c]) + " (at most 18)");
    if (!is_decimal(static_cast<field>(c)) && rows.scale[c] != 0)
      return bad("column " + std::string(to_string(static_cast<field>(c))) + " must have scale 0");
  }
  if (n > max_rows_per_year(k.interval))
    return bad(std::to_string(n) + " rows is more than a year of " + std::string(to_string(k.interval)) + " candles");
  if (opt.flags & ~flag_complete) return bad("unknown header flags " + hex64(opt.flags));
  auto const& ot = rows[field::open_time];
  std::int64_t const ys = year_start(k.year).ms, ye = year_end(k.year).ms;
  for (std::size_t i = 0; i < n; ++i) {
    if (ot[i] < ys || ot[i] >= ye)
      return bad("row " + std::to_string(i) + " opens at " + format_utc(timestamp_ms{ot[i]}) + ", outside the year");
    if (i > 0 && ot[i] <= ot[i - 1])
      return bad("open times are not strictly increasing at " + format_utc(timestamp_ms{ot[i]}));
  }

  column_plan plan = plan_columns(k, rows);
  std::string out(header_size, '\0');
  auto* h = reinterpret_cast<std::uint8_t*>(out.data());
  std::array<std::uint64_t, field_count> offs{}, csizes{}, rsizes{}, hashes{};

  aligned_vector<std::uint64_t> residuals;
  ZSTD_CCtx* cctx = thread_cctx();
  int const level = std::clamp(opt.zstd_level, 1, ZSTD_maxCLevel());
  for (std::size_t c = 0; c < field_count; ++c) {
    auto const f = static_cast<field>(c);
    compute_residuals(k, rows, plan, f, residuals);
    std::uint64_t all = 0;
    for (std::uint64_t u : residuals) all |= u;
    auto const width = static_cast<std::uint8_t>((std::bit_width(all) + 7) / 8);
    plan.width[c] = width;

    std::size_t const payload = n * width;
    capnp::MallocMessageBuilder mb(static_cast<unsigned>(payload / 8 + 16));
    auto root = mb.initRoot<ColumnBlock>();
    root.setField(static_cast<std::uint8_t>(c));
    root.setTransform(plan.transform[c]);
    root.setRows(static_cast<std::uint32_t>(n));
    root.setWidth(width);
    auto data = root.initPayload(static_cast<unsigned>(payload));
    std::uint8_t* dst = data.begin();
    for (unsigned b = 0; b < width; ++b) {
      std::uint8_t* plane = dst + std::size_t{b} * n;
      unsigned const shift = 8 * b;
      for (std::size_t i = 0; i < n; ++i) plane[i] = static_cast<std::uint8_t>(residuals[i] >> shift);
    }
    kj::Array<capnp::word> flat = capnp::messageToFlatArray(mb);
    auto raw = flat.asBytes();

    // A column block is a sequence of zstd frames, one per byte plane (the few message
    // bytes before the payload go with the first plane, the padding after it with the
    // last). Planes of very different statistics (random low bytes, mostly-zero high
    // bytes) then get their own entropy tables (~5% smaller files), and a plane that
    // entropy coding barely shrinks is stored with raw literals, which decode at memcpy
    // speed.
    std::vector<std::pair<std::size_t, std::size_t>> chunks;  // [begin, end) in raw
    auto const segs = mb.getSegmentsForOutput();
    if (segs.size() == 1 && width > 1) {
      auto const seg = segs[0].asBytes();
      std::size_t const at_payload = (raw.size() - seg.size()) + static_cast<std::size_t>(dst - seg.begin());
      for (unsigned b = 0; b < width; ++b)
        chunks.emplace_back(b == 0 ? 0 : at_payload + b * n, b + 1 == width ? raw.size() : at_payload + (b + 1) * n);
    } else {
      chunks.emplace_back(0, raw.size());
    }
    std::size_t const at = out.size();
    out.resize(at + ZSTD_compressBound(raw.size()) + 32 * chunks.size());
    std::size_t cs = 0;
    for (auto const& chunk : chunks) {
      std::size_t const cb = chunk.first, len = chunk.second - chunk.first;
      auto compress = [&](bool literals) {
        ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, literals ? level : 1);
        if (!literals) ZSTD_CCtx_setParameter(cctx, ZSTD_c_literalCompressionMode, ZSTD_ps_disable);
        return ZSTD_compress2(cctx, out.data() + at + cs, out.size() - at - cs, raw.begin() + cb, len);
      };
      std::size_t z = compress(true);
      if (!ZSTD_isError(z) && z > len - len / 32) z = compress(false);  // gains < 3%: not worth decoding
      if (ZSTD_isError(z))
        return error{store_errc::io_error, "cannot write year file " + key + ": zstd failed (" +
                                               std::string(ZSTD_getErrorName(z)) + ")"};
      cs += z;
    }
    out.resize(at + cs);
    offs[c] = at;
    csizes[c] = cs;
    rsizes[c] = raw.size();
    hashes[c] = XXH3_64bits(out.data() + at, cs);
  }
  h = reinterpret_cast<std::uint8_t*>(out.data());

  std::memcpy(h, magic, 8);
  store_le<std::uint16_t>(h + 8, format_version);
  store_le<std::uint16_t>(h + 10, static_cast<std::uint16_t>(header_size));
  h[12] = static_cast<std::uint8_t>(k.interval);
  h[13] = static_cast<std::uint8_t>(k.symbol.view().size());
  h[14] = static_cast<std::uint8_t>(field_count);
  h[15] = 0;
  std::memcpy(h + 16, k.symbol.view().data(), k.symbol.view().size());
  store_le<std::int32_t>(h + 36, k.year);
  store_le<std::uint32_t>(h + 40, static_cast<std::uint32_t>(n));
  store_le<std::uint32_t>(h + 44, opt.flags);
  store_le<std::int64_t>(h + 48, n ? ot[0] : 0);
  store_le<std::int64_t>(h + 56, n ? ot[n - 1] : 0);
  store_le<std::int64_t>(h + 64, n ? rows[field::close_time][n - 1] : 0);
  store_le<std::int64_t>(h + 72, opt.written_at.ms);
  for (std::size_t c = 0; c < field_count; ++c) {
    std::uint8_t* e = h + dir_offset + c * dir_entry_size;
    e[0] = static_cast<std::uint8_t>(c);
    e[1] = plan.transform[c];
    e[2] = rows.scale[c];
    e[3] = plan.divexp[c];
    e[4] = plan.width[c];
    store_le<std::uint64_t>(e + 8, offs[c]);
    store_le<std::uint64_t>(e + 16, csizes[c]);
    store_le<std::uint64_t>(e + 24, rsizes[c]);
    store_le<std::uint64_t>(e + 32, hashes[c]);
  }
  store_le<std::uint64_t>(h + header_body_size, XXH3_64bits(h, header_body_size));
  return out;
}

result<void> write_year_file(std::filesystem::path const& cache_dir, year_key const& k, kline_columns const& rows,
                             write_options const& opt) {
  auto bytes = encode_year_file(k, rows, opt);
  if (!bytes) return bytes.error();
  std::filesystem::path const dir = market_data_dir(cache_dir);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return error{store_errc::io_error, "cannot create directory " + dir.string() + ": " + ec.message() +
                                           "; check the cache directory and its permissions"};
  return atomic_write_file(dir / file_name(k), *bytes);
}

// ---------------------------------------------------------------- reader

struct year_file::impl {
  std::filesystem::path path;
  std::optional<year_header> hdr;  // set by validate(); year_header has no default (symbol)
  year_header const& header() const noexcept { return *hdr; }
  std::array<dir_entry, field_count> dir{};
  std::uint8_t const* data = nullptr;
  std::uint64_t size = 0;
  void* map = nullptr;  // mmap'd region (or null when `owned` holds the bytes)
  std::string owned;

  ~impl() {
    if (map) ::munmap(map, size);
  }

  std::string where() const { return path.string(); }
  result<void> validate();
  result<void> decode_block(std::size_t c, aligned_vector<std::int64_t>& dst) const;
  /// Verifies, decompresses (into `scratch`) and checks block c; returns its byte planes
  /// (width planes of header().rows bytes each, plane b holding byte b of every residual).
  result<std::uint8_t const*> unpack_block(std::size_t c, aligned_vector<std::uint64_t>& scratch) const;
  std::array<std::uint8_t, field_count> scales{};  // set by validate()
};

result<void> year_file::impl::validate() {
  std::string const w = where();
  if (size == 0)
    return error{store_errc::truncated, w + ": the file is empty (an interrupted write?); delete it and download or import that year again"};
  if (size < 8 || std::memcmp(data, magic, 8) != 0)
    return error{store_errc::not_a_year_file, w + ": not an atb year file (wrong magic bytes); move it out of the cache's market_data directory"};
  if (size < 10)
    return error{store_errc::truncated, w + ": the file ends inside its header (" + std::to_string(size) + " bytes)" + damaged_hint};
  std::uint16_t const version = load<std::uint16_t>(data + 8);
  if (version > max_readable_format_version)
    return error{store_errc::unsupported_version,
                 w + ": written by a newer atb (format v" + std::to_string(version) + "), this build reads up to v" +
                     std::to_string(max_readable_format_version) + "; upgrade atb"};
  if (version == 0)
    return error{store_errc::unsupported_version, w + ": unknown year-file format version 0" + damaged_hint};
  if (size < header_size)
    return error{store_errc::truncated, w + ": the file ends inside its header (" + std::to_string(size) + " of " +
                                            std::to_string(header_size) + " bytes)" + damaged_hint};
  std::uint64_t const stored = load<std::uint64_t>(data + header_body_size);
  std::uint64_t const computed = XXH3_64bits(data, header_body_size);
  if (stored != computed)
    return error{store_errc::checksum_mismatch, w + ": header checksum mismatch (stored " + hex64(stored) +
                                                    ", computed " + hex64(computed) + ")" + damaged_hint};
  auto corrupt = [&](std::string what) { return error{store_errc::corrupt, w + ": " + what + damaged_hint}; };
  if (load<std::uint16_t>(data + 10) != header_size) return corrupt("header size is not " + std::to_string(header_size));
  if (data[12] >= all_intervals.size()) return corrupt("unknown interval code " + std::to_string(data[12]));
  if (data[14] != field_count) return corrupt("column count is not 11");
  if (data[15] != 0) return corrupt("reserved header byte is not zero");
  std::size_t const slen = data[13];
  if (slen > symbol::max_size) return corrupt("symbol length " + std::to_string(slen) + " is too long");
  for (std::size_t i = slen; i < symbol::max_size; ++i)
    if (data[16 + i] != 0) return corrupt("symbol padding is not zero");
  auto sym = symbol::parse(std::string_view(reinterpret_cast<char const*>(data + 16), slen));
  if (!sym) return corrupt("the header's symbol is invalid");
  hdr.emplace(year_header{version, year_key{*sym, static_cast<interval>(data[12]), load<std::int32_t>(data + 36)}});
  year_header& header = *hdr;
  if (header.key.year < 1970 || header.key.year > 9999) return corrupt("year " + std::to_string(header.key.year) + " is out of range");
  header.rows = load<std::uint32_t>(data + 40);
  header.flags = load<std::uint32_t>(data + 44);
  header.first_open = timestamp_ms{load<std::int64_t>(data + 48)};
  header.last_open = timestamp_ms{load<std::int64_t>(data + 56)};
  header.last_close = timestamp_ms{load<std::int64_t>(data + 64)};
  header.written_at = timestamp_ms{load<std::int64_t>(data + 72)};
  if (header.flags & ~flag_complete) return corrupt("unknown header flags " + hex64(header.flags));
  if (header.rows > max_rows_per_year(header.key.interval))
    return corrupt(std::to_string(header.rows) + " rows is more than a year of candles");
  std::int64_t const ys = year_start(header.key.year).ms, ye = year_end(header.key.year).ms;
  if (header.rows > 0) {
    if (header.first_open.ms < ys || header.last_open.ms >= ye || header.first_open > header.last_open)
      return corrupt("first/last open time lie outside the year");
    if (header.rows == 1 && header.first_open != header.last_open) return corrupt("one row but two open times");
  } else if (header.first_open.ms != 0 || header.last_open.ms != 0 || header.last_close.ms != 0) {
    return corrupt("no rows but open times are set");
  }

  std::uint64_t expect_offset = header_size;
  std::uint64_t const n = header.rows;
  for (std::size_t c = 0; c < field_count; ++c) {
    std::uint8_t const* e = data + dir_offset + c * dir_entry_size;
    dir_entry& d = dir[c];
    std::string const col = std::string(to_string(static_cast<field>(c)));
    d.field = e[0];
    d.transform = e[1];
    d.scale = e[2];
    scales[c] = d.scale;
    d.divexp = e[3];
    d.width = e[4];
    d.offset = load<std::uint64_t>(e + 8);
    d.compressed_size = load<std::uint64_t>(e + 16);
    d.raw_size = load<std::uint64_t>(e + 24);
    d.hash = load<std::uint64_t>(e + 32);
    if (d.field != c) return corrupt("directory entry " + std::to_string(c) + " is not column " + col);
    if (e[5] || e[6] || e[7]) return corrupt("reserved bytes of column " + col + " are not zero");
    if (d.transform != expected_transform(static_cast<field>(c)))
      return corrupt("column " + col + " uses unknown transform " + std::to_string(d.transform));
    if (d.scale > max_decimal_scale || (!is_decimal(static_cast<field>(c)) && d.scale != 0))
      return corrupt("column " + col + " has invalid scale " + std::to_string(d.scale));
    if (d.divexp > max_decimal_scale || (!is_decimal(static_cast<field>(c)) && d.divexp != 0))
      return corrupt("column " + col + " has invalid divisor exponent " + std::to_string(d.divexp));
    if (d.width > 8) return corrupt("column " + col + " has value width " + std::to_string(d.width));
    if (d.offset != expect_offset) return corrupt("column " + col + " does not start where the previous one ends");
    std::uint64_t const payload = n * d.width;
    if (d.raw_size % 8 != 0 || d.raw_size < 8 || d.raw_size > payload + capnp_overhead_max)
      return corrupt("column " + col + " has an impossible decoded size " + std::to_string(d.raw_size));
    if (d.compressed_size == 0 || d.compressed_size > ZSTD_compressBound(d.raw_size) + 32 * (d.width + 1))
      return corrupt("column " + col + " has an impossible compressed size " + std::to_string(d.compressed_size));
    if (d.compressed_size > size - d.offset)
      return error{store_errc::truncated, w + ": column " + col + " extends past the end of the file (" +
                                              std::to_string(size) + " bytes)" + damaged_hint};
    expect_offset = d.offset + d.compressed_size;
  }
  if (!same_group_divexp(dir)) return corrupt("related columns disagree on their decimal divisor");
  if (expect_offset != size)
    return corrupt(std::to_string(size - expect_offset) + " unexpected bytes after the last column");
  return {};
}

result<void> year_file::impl::decode_block(std::size_t c, aligned_vector<std::int64_t>& dst) const {
  auto planes = unpack_block(c, thread_scratch());
  if (!planes) return planes.error();
  std::size_t const n = header().rows;
  dst.resize(n);
  gather_planes(*planes, n, dir[c].width, reinterpret_cast<std::uint64_t*>(dst.data()));
  return {};
}

result<std::uint8_t const*> year_file::impl::unpack_block(std::size_t c, aligned_vector<std::uint64_t>& scratch) const {
  dir_entry const& d = dir[c];
  std::string const col = std::string(to_string(static_cast<field>(c)));
  std::uint8_t const* src = data + d.offset;
  std::uint64_t const computed = XXH3_64bits(src, d.compressed_size);
  if (computed != d.hash)
    return error{store_errc::checksum_mismatch, where() + ": checksum mismatch in column " + col + " (stored " +
                                                    hex64(d.hash) + ", computed " + hex64(computed) + ")" + damaged_hint};
  auto corrupt = [&](std::string what) {
    return error{store_errc::corrupt, where() + ": column " + col + " " + what + damaged_hint};
  };
  unsigned long long const fcs = ZSTD_findDecompressedSize(src, d.compressed_size);
  if (fcs != d.raw_size) return corrupt("is not a sequence of zstd frames of the size the directory gives");
  if (scratch.size() < d.raw_size / 8) scratch = aligned_vector_for_overwrite<std::uint64_t>(d.raw_size / 8);
  std::size_t const r = ZSTD_decompressDCtx(thread_dctx(), scratch.data(), d.raw_size, src, d.compressed_size);
  if (ZSTD_isError(r) || r != d.raw_size) return corrupt("does not decompress (zstd: " + std::string(ZSTD_isError(r) ? ZSTD_getErrorName(r) : "size differs") + ")");
  std::size_t const n = header().rows;
  try {
    capnp::ReaderOptions ro;
    ro.traversalLimitInWords = d.raw_size / 8 + 8;  // bounded by the (bounded) block size
    ro.nestingLimit = 4;
    capnp::FlatArrayMessageReader reader(
        kj::ArrayPtr<capnp::word const>(reinterpret_cast<capnp::word const*>(scratch.data()), d.raw_size / 8), ro);
    auto root = reader.getRoot<ColumnBlock>();
    if (root.getField() != c || root.getTransform() != d.transform || root.getRows() != n ||
        root.getWidth() != d.width)
      return corrupt("block disagrees with the directory (field, transform, rows or width)");
    auto payload = root.getPayload();
    if (payload.size() != n * d.width) return corrupt("payload has the wrong size");
    return payload.begin();
  } catch (kj::Exception const& ex) {
    return corrupt("is not a valid Cap'n Proto block (" + std::string(ex.getDescription().cStr()).substr(0, 200) + ")");
  }
}

year_file::year_file(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
year_file::year_file(year_file&&) noexcept = default;
year_file& year_file::operator=(year_file&&) noexcept = default;
year_file::~year_file() = default;

year_header const& year_file::header() const noexcept { return impl_->header(); }
std::filesystem::path const& year_file::path() const noexcept { return impl_->path; }
std::uint64_t year_file::file_size() const noexcept { return impl_->size; }

result<year_file> year_file::open(std::filesystem::path const& path) {
  auto p = std::make_unique<impl>();
  p->path = path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return error{store_errc::io_error, "cannot open " + path.string() + ": " + std::strerror(err) +
                                           "; check the path and its permissions"};
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return error{store_errc::io_error, "cannot read " + path.string() + ": not a regular file"};
  }
  p->size = static_cast<std::uint64_t>(st.st_size);
  if (p->size > 0) {
    void* m = ::mmap(nullptr, p->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      return error{store_errc::io_error, "cannot memory-map " + path.string() + ": " + std::strerror(err)};
    }
    p->map = m;
    p->data = static_cast<std::uint8_t const*>(m);
  }
  ::close(fd);
  if (auto v = p->validate(); !v) return v.error();
  return year_file(std::move(p));
}

result<year_file> year_file::from_bytes(std::string bytes, std::filesystem::path path) {
  auto p = std::make_unique<impl>();
  p->path = std::move(path);
  p->owned = std::move(bytes);
  p->data = reinterpret_cast<std::uint8_t const*>(p->owned.data());
  p->size = p->owned.size();
  if (auto v = p->validate(); !v) return v.error();
  return year_file(std::move(p));
}

result<void> year_file::read(field_mask fields, kline_columns& out) const {
  // Columns that will be decoded keep their storage (resize without clear): re-reading
  // into the same kline_columns then costs no allocation and no zero-fill.
  field_mask const need = dependency_closure(fields);
  for (std::size_t c = 0; c < field_count; ++c) {
    out.scale[c] = impl_->dir[c].scale;
    if (!need.has(static_cast<field>(c))) out.cols[c].clear();
  }
  for (std::size_t c = 0; c < field_count; ++c) {
    if (!need.has(static_cast<field>(c))) continue;
    if (auto r = impl_->decode_block(c, out.cols[c]); !r) {
      out.clear();
      return r.error();
    }
  }
  decode_columns(impl_->header().key, impl_->dir, need, out);
  for (std::size_t c = 0; c < field_count; ++c)
    if (!fields.has(static_cast<field>(c))) {
      out.cols[c].clear();
    }
  auto& scratch = thread_scratch();
  if (scratch.capacity() > (std::size_t{32} << 20) / 8) aligned_vector<std::uint64_t>().swap(scratch);
  return {};
}

std::array<std::uint8_t, field_count> const& year_file::scales() const noexcept { return impl_->scales; }

namespace {

using i64 = std::int64_t;
using u64 = std::uint64_t;

constexpr std::size_t F(field f) noexcept { return static_cast<std::size_t>(f); }

// The decoder's arithmetic is year_codec.hpp's (wrapping): the same values as read().
using detail::unzz;
using detail::wadd;
using detail::wmul;
using detail::wsub;

/// Rows per pass of read_into's fused decoder: its six row buffers (24 KiB) stay in L1
/// while the planes are gathered, the predictors run and each output is written once.
/// Per-thread decode scratch for verify() and read_into()'s fallback: a fresh
/// kline_columns would zero-fill (and page-fault) every column before the decoder
/// overwrites it. Released when the guard ends if it grew beyond 64 MiB. Not nested.
struct scratch_columns {
  kline_columns& cols = local();
  scratch_columns() = default;
  scratch_columns(scratch_columns const&) = delete;
  scratch_columns& operator=(scratch_columns const&) = delete;
  ~scratch_columns() {
    std::size_t bytes = 0;
    for (auto const& col : cols.cols) bytes += col.capacity() * sizeof(std::int64_t);
    if (bytes > (std::size_t{64} << 20)) cols = kline_columns{};
  }
  static kline_columns& local() {
    thread_local kline_columns k;
    return k;
  }
};

constexpr std::size_t fused_rows = 512;

/// The predictors of read_into's fused decoder on one block of rows, in place on the
/// zigzag residuals: docs/FORMAT.md "Transforms", the arithmetic of year_codec.cpp's
/// decode_columns for fixed-length intervals (values in reduced units).
namespace fused {
/// Returns the open time predicted for the row after the block. `width` 0: every
/// residual is 0 (a gapless grid), the times are a ramp.
i64 open_times(i64* __restrict t, std::size_t len, i64 pred, i64 step, unsigned width) noexcept {
  if (width == 0) {
    for (std::size_t i = 0; i < len; ++i) t[i] = wadd(pred, wmul(static_cast<i64>(i), step));
    return wadd(pred, wmul(static_cast<i64>(len), step));
  }
  for (std::size_t i = 0; i < len; ++i) {
    t[i] = wadd(pred, unzz(static_cast<u64>(t[i])));
    pred = wadd(t[i], step);
  }
  return pred;
}
/// Returns the last close of the block.
i64 closes(i64* __restrict x, std::size_t len, i64 prev) noexcept {
  for (std::size_t i = 0; i < len; ++i) x[i] = prev = wadd(prev, unzz(static_cast<u64>(x[i])));
  return prev;
}
/// `width` 0: every residual is 0 (regular closes; c is not read).
void close_times(i64* __restrict c, i64 const* __restrict t, std::size_t len, i64 len1, unsigned width) noexcept {
  if (width == 0)
    for (std::size_t i = 0; i < len; ++i) c[i] = wadd(t[i], len1);
  else
    for (std::size_t i = 0; i < len; ++i) c[i] = wadd(wadd(t[i], len1), unzz(static_cast<u64>(c[i])));
}
/// close_before: the close of the row before the block (0 before the first row).
void opens(i64* __restrict o, i64 const* __restrict x, std::size_t len, i64 close_before) noexcept {
  o[0] = wadd(close_before, unzz(static_cast<u64>(o[0])));
  for (std::size_t i = 1; i < len; ++i) o[i] = wadd(x[i - 1], unzz(static_cast<u64>(o[i])));
}
void highs(i64* __restrict h, i64 const* __restrict o, i64 const* __restrict x, std::size_t len) noexcept {
  for (std::size_t i = 0; i < len; ++i) h[i] = wadd(std::max(o[i], x[i]), h[i]);
}
void lows(i64* __restrict l, i64 const* __restrict o, i64 const* __restrict x, std::size_t len) noexcept {
  for (std::size_t i = 0; i < len; ++i) l[i] = wsub(std::min(o[i], x[i]), l[i]);
}
}  // namespace fused

/// d[i] = static_cast<double>(v[i]).
void to_double(i64 const* __restrict v, std::size_t len, double* __restrict d) noexcept {
  // x86-64 before AVX-512 has no vector int64 -> double conversion. For |x| < 2^51, the
  // double with the bits of x + bits(1.5 * 2^52) is exactly 1.5 * 2^52 + x (its unit in
  // the last place is 1), so subtracting 1.5 * 2^52 gives x exactly: vector integer add,
  // vector subtract.
  constexpr i64 lim = i64{1} << 51;
  i64 lo = 0, hi = 0;
  for (std::size_t i = 0; i < len; ++i) lo = std::min(lo, v[i]), hi = std::max(hi, v[i]);
  if (lo > -lim && hi < lim) {
    constexpr double bias = 6755399441055744.0;  // 1.5 * 2^52
    constexpr u64 bias_bits = 0x4338000000000000;
    static_assert(std::bit_cast<u64>(bias) == bias_bits);
    for (std::size_t i = 0; i < len; ++i) d[i] = std::bit_cast<double>(static_cast<u64>(v[i]) + bias_bits) - bias;
  } else {
    for (std::size_t i = 0; i < len; ++i) d[i] = static_cast<double>(v[i]);
  }
}

/// memcpy for the outputs of read_into: large arrays written once and read later by the
/// caller; non-temporal stores skip reading each line before overwriting it (fence() makes
/// them visible to other threads).
void put(void* dst, void const* src, std::size_t bytes) noexcept {
#if defined(__SSE2__)
  auto* d = static_cast<char*>(dst);
  auto const* s = static_cast<char const*>(src);
  std::size_t const head = std::min(bytes, static_cast<std::size_t>(-reinterpret_cast<std::uintptr_t>(d) & 15));
  std::memcpy(d, s, head);
  d += head, s += head, bytes -= head;
  for (; bytes >= 16; bytes -= 16, d += 16, s += 16)
    _mm_stream_si128(reinterpret_cast<__m128i*>(d), _mm_loadu_si128(reinterpret_cast<__m128i const*>(s)));
  std::memcpy(d, s, bytes);
#else
  std::memcpy(dst, src, bytes);
#endif
}

void fence() noexcept {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

/// Writes len values v[i] * mul to the target from its element `at` on.
void emit(year_file::column_target const& t, i64 const* v, std::size_t len, i64 mul, std::size_t at) noexcept {
  alignas(64) i64 scaled[fused_rows];
  alignas(64) double conv[fused_rows];
  for (std::size_t k = 0; k < len; k += fused_rows) {
    std::size_t const m = std::min(fused_rows, len - k);
    i64 const* src = v + k;
    if (mul != 1) {
      for (std::size_t i = 0; i < m; ++i) scaled[i] = wmul(src[i], mul);
      src = scaled;
    }
    if (!t.i64.empty()) {
      put(t.i64.data() + at + k, src, m * sizeof(i64));
    } else {
      to_double(src, m, conv);
      put(t.f64.data() + at + k, conv, m * sizeof(double));
    }
  }
}

}  // namespace

result<void> year_file::read_into(std::size_t first, std::size_t count, std::span<column_target const> targets) const {
  year_header const& h = impl_->header();
  std::size_t const n = h.rows;
  auto bad = [&](std::string what) {
    return error{store_errc::invalid_input, impl_->where() + ": cannot read into caller memory: " + what};
  };
  if (first > n || count > n - first)
    return bad("rows from " + std::to_string(first) + " (" + std::to_string(count) + " of them) are not inside its " +
               std::to_string(n) + " rows");
  field_mask want;
  for (auto const& t : targets) {
    if (F(t.field) >= field_count) return bad("unknown field " + std::to_string(F(t.field)));
    std::string const col = std::string(to_string(t.field));
    if (!t.i64.empty() && !t.f64.empty()) return bad("column " + col + " has two destinations");
    std::size_t const room = t.i64.empty() ? t.f64.size() : t.i64.size();
    if (room != count)
      return bad("column " + col + " has room for " + std::to_string(room) + " values, not " + std::to_string(count));
    want = want | field_mask{t.field};
  }
  if (count == 0) return {};

  constexpr field_mask fusable{field::open_time, field::close_time, field::open, field::high, field::low, field::close};
  if (!has_fixed_length(h.key.interval) || (want.bits() & ~fusable.bits()) != 0) {
    // Other columns: the whole-year decoder into per-thread scratch, then a copy.
    scratch_columns const scratch;
    kline_columns& k = scratch.cols;
    if (auto r = read(want, k); !r) return r.error();
    for (auto const& t : targets) emit(t, k[t.field].data() + first, count, 1, 0);
    fence();
    return {};
  }

  // Fused: per block of rows, gather the byte planes of every needed column, run the
  // predictors (docs/FORMAT.md, "Transforms"; year_codec.cpp's decode_columns for
  // fixed-length intervals) and write the requested columns straight to the targets.
  field_mask const need = dependency_closure(want);
  thread_local std::array<aligned_vector<u64>, field_count> scratch;  // decompressed blocks
  struct release_big {
    ~release_big() {
      for (auto& s : scratch)
        if (s.capacity() > (std::size_t{32} << 20) / 8) aligned_vector<u64>().swap(s);
    }
  } const release;
  std::array<std::uint8_t const*, field_count> planes{};
  std::array<unsigned, field_count> width{};
  std::array<i64, field_count> mul{};
  for (std::size_t c = 0; c < field_count; ++c) {
    dir_entry const& d = impl_->dir[c];
    width[c] = d.width;
    mul[c] = d.divexp ? pow10_i64(d.divexp) : 1;
    if (!need.has(static_cast<field>(c))) continue;
    auto p = impl_->unpack_block(c, scratch[c]);
    if (!p) return p.error();
    planes[c] = *p;
  }
  alignas(64) i64 rows[6][fused_rows];
  std::array<i64*, field_count> buf{};
  buf[F(field::open_time)] = rows[0];
  buf[F(field::close_time)] = rows[1];
  buf[F(field::open)] = rows[2];
  buf[F(field::high)] = rows[3];
  buf[F(field::low)] = rows[4];
  buf[F(field::close)] = rows[5];
  i64 const len_ms = nominal_ms(h.key.interval);
  i64 pred = year_start(h.key.year).ms;  // open time predicted for the next row
  i64 close_prev = 0;                    // reduced close of the previous row
  std::size_t const end = first + count;
  for (std::size_t a = 0; a < end; a += fused_rows) {
    std::size_t const len = std::min(fused_rows, end - a);
    auto gather = [&planes, &width, &buf, n, a, len](field f) {
      auto* const out = reinterpret_cast<u64*>(buf[F(f)]);
      if (width[F(f)] > 0) gather_planes(planes[F(f)] + a, n, width[F(f)], len, out);
      // Width 0: every residual is 0 (an empty payload: no plane to point into). The time
      // predictors then do not read them.
      else if (f != field::open_time && f != field::close_time) std::fill_n(out, len, u64{0});
      return buf[F(f)];
    };
    // Columns that carry state from row to row run on every block up to `end`...
    i64 const close_before = close_prev;
    if (need.has(field::open_time))
      pred = fused::open_times(gather(field::open_time), len, pred, len_ms, width[F(field::open_time)]);
    if (need.has(field::close)) close_prev = fused::closes(gather(field::close), len, close_prev);
    if (a + len <= first) continue;
    // ...the others only on blocks that reach the requested rows.
    i64 const *t = buf[F(field::open_time)], *o = buf[F(field::open)], *x = buf[F(field::close)];
    if (need.has(field::close_time))
      fused::close_times(gather(field::close_time), t, len, len_ms - 1, width[F(field::close_time)]);
    if (need.has(field::open)) fused::opens(gather(field::open), x, len, close_before);
    if (need.has(field::high)) fused::highs(gather(field::high), o, x, len);
    if (need.has(field::low)) fused::lows(gather(field::low), o, x, len);
    std::size_t const skip = first > a ? first - a : 0;
    for (auto const& tg : targets) emit(tg, buf[F(tg.field)] + skip, len - skip, mul[F(tg.field)], a + skip - first);
  }
  fence();
  return {};
}

namespace {
inline int cmp_dec(std::int64_t a, unsigned sa, std::int64_t b, unsigned sb) noexcept {
  if (sa == sb) return a < b ? -1 : (a > b ? 1 : 0);
  __extension__ using i128 = __int128;
  unsigned const s = std::max(sa, sb);
  i128 const x = static_cast<i128>(a) * pow10_i64(s - sa);
  i128 const y = static_cast<i128>(b) * pow10_i64(s - sb);
  return x < y ? -1 : (x > y ? 1 : 0);
}
}  // namespace

result<year_file::verify_report> year_file::verify() const {
  verify_report rep;
  year_header const& h = impl_->header();
  std::string const w = impl_->where();
  std::string const expected_name = file_name(h.key);
  if (impl_->path.filename() != expected_name)
    return error{store_errc::name_mismatch, w + ": the header says " + key_string(h.key) + ", whose file name is " +
                                                expected_name + "; rename or remove the file"};
  scratch_columns const scratch;
  kline_columns& k = scratch.cols;
  if (auto r = read(field_mask::all(), k); !r) return r.error();
  std::size_t const n = h.rows;
  rep.decoded_bytes = static_cast<std::uint64_t>(n) * field_count * sizeof(std::int64_t);
  auto bad = [&](std::size_t i, std::string what) {
    return error{store_errc::invariant_violation,
                 w + ": the candle opening at " + format_utc(k.open_time(i)) + " (" + key_string(h.key) + ") " + what +
                     damaged_hint};
  };
  auto const& ot = k[field::open_time];
  auto const& ct = k[field::close_time];
  if (n > 0 && (ot[0] != h.first_open.ms || ot[n - 1] != h.last_open.ms || ct[n - 1] != h.last_close.ms))
    return error{store_errc::corrupt, w + ": the header's first/last times differ from the rows" + damaged_hint};
  std::int64_t const ys = year_start(h.key.year).ms, ye = year_end(h.key.year).ms;
  auto const sc = [&](field f) { return static_cast<unsigned>(k.scale[static_cast<std::size_t>(f)]); };
  auto show = [&](field f, std::size_t i) { return std::string(to_string(f)) + " " + k.value(f, i).to_string(); };
  interval const iv = h.key.interval;
  bool const fixed = has_fixed_length(iv);
  std::int64_t const len = fixed ? nominal_ms(iv) : 1;
  for (std::size_t i = 0; i < n; ++i) {
    if (ot[i] < ys || ot[i] >= ye) return bad(i, "lies outside the year " + std::to_string(h.key.year));
    if (i > 0 && ot[i] <= ot[i - 1]) return bad(i, "does not come after the previous candle");
    // close == open occurs in real data (zero-volume placeholder candles Binance serves,
    // e.g. ETHUSDT 4h 2017-09-06 16:00), so only a close before the open is an error.
    if (ct[i] < ot[i]) return bad(i, "closes at " + format_utc(k.close_time(i)) + ", before it opens");
    for (field p : {field::open, field::close}) {
      if (cmp_dec(k[field::low][i], sc(field::low), k[p][i], sc(p)) > 0)
        return bad(i, "has " + show(field::low, i) + " above " + show(p, i));
      if (cmp_dec(k[p][i], sc(p), k[field::high][i], sc(field::high)) > 0)
        return bad(i, "has " + show(p, i) + " above " + show(field::high, i));
    }
    for (field v : {field::volume, field::quote_volume, field::trades, field::taker_buy_base_volume,
                    field::taker_buy_quote_volume})
      if (k[v][i] < 0) return bad(i, "has a negative " + std::string(to_string(v)));
    if (cmp_dec(k[field::taker_buy_base_volume][i], sc(field::taker_buy_base_volume), k[field::volume][i],
                sc(field::volume)) > 0)
      return bad(i, "has " + show(field::taker_buy_base_volume, i) + " above " + show(field::volume, i));
    if (cmp_dec(k[field::taker_buy_quote_volume][i], sc(field::taker_buy_quote_volume), k[field::quote_volume][i],
                sc(field::quote_volume)) > 0)
      return bad(i, "has " + show(field::taker_buy_quote_volume, i) + " above " + show(field::quote_volume, i));
    if (i > 0) {
      // gaps against the grid: information only (real data has outages)
      std::uint64_t missing = 0;
      if (fixed) {
        std::int64_t const d = ot[i] - ot[i - 1];
        if (d != len) missing = static_cast<std::uint64_t>(d / len - 1 > 0 ? d / len - 1 : 0);
      } else {
        timestamp_ms e = next_open(iv, timestamp_ms{ot[i - 1]});
        while (e.ms < ot[i] && missing < 12) ++missing, e = next_open(iv, e);
      }
      if (missing > 0) {
        timestamp_ms const expect = next_open(iv, timestamp_ms{ot[i - 1]});
        rep.gaps += missing;
        if (rep.gap_examples.size() < 5)
          rep.gap_examples.push_back(format_utc(expect) + " (" + std::to_string(missing) +
                                     (missing == 1 ? " candle)" : " candles)"));
      }
    }
  }
  return rep;
}

}  // namespace atb::store
