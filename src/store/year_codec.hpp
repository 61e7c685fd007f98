#pragma once
// Private: the lossless per-column transforms of the year file (docs/FORMAT.md,
// "Transforms"). Encoder and decoder live side by side so they cannot drift apart.
#include "atb/store/year_file.hpp"

#include <array>
#include <cstdint>

namespace atb::store::detail {

/// Transform ids as stored in the directory (format v1 fixes one per field).
enum transform_id : std::uint8_t {
  t_time_grid = 1,          ///< open_time - next_open(previous open); first row vs year start
  t_close_vs_regular = 2,   ///< close_time - regular_close(open_time)
  t_delta = 3,              ///< x - previous x (first row vs 0)
  t_vs_prev_close = 4,      ///< open - previous close (first row vs 0)
  t_over_max_oc = 5,        ///< high - max(open, close), no zigzag
  t_under_min_oc = 6,       ///< min(open, close) - low, no zigzag
  t_raw = 7,                ///< x, no zigzag
  t_quote_vs_mid = 8,       ///< quote - volume * (high+low)/2
  t_taker_quote_vs_vwap = 9,///< taker quote - taker base * quote / volume
  t_half_volume = 10,       ///< taker base - floor(volume / 2)
};

std::uint8_t expected_transform(field f) noexcept;

struct dir_entry {
  std::uint8_t field = 0, transform = 0, scale = 0, divexp = 0, width = 0;
  std::uint64_t offset = 0, compressed_size = 0, raw_size = 0, hash = 0;
};

struct column_plan {
  std::array<std::uint8_t, field_count> transform{};
  std::array<std::uint8_t, field_count> divexp{};
  std::array<std::uint8_t, field_count> width{};
};

/// Chooses transforms and the shared power-of-ten divisors of the column groups.
column_plan plan_columns(year_key const& k, kline_columns const& rows);
/// Zigzag residuals of field f (rows validated by the caller).
void compute_residuals(year_key const& k, kline_columns const& rows, column_plan const& plan, field f,
                       aligned_vector<std::uint64_t>& out);

/// Columns of one group (prices; volume + taker base; quote + taker quote) share a divisor.
bool same_group_divexp(std::array<dir_entry, field_count> const& dir) noexcept;
/// Fields whose blocks must be decoded to rebuild `fields`.
field_mask dependency_closure(field_mask fields) noexcept;
/// out[i] = little-endian value of byte planes (width 0..8) of n values.
void gather_planes(std::uint8_t const* planes, std::size_t n, unsigned width, std::uint64_t* out) noexcept;
/// The same for n values of planes `stride` bytes apart (a slice of longer planes).
void gather_planes(std::uint8_t const* planes, std::size_t stride, unsigned width, std::size_t n,
                   std::uint64_t* out) noexcept;
/// Turns the zigzag residuals in out.cols (for every field in `need`) into values.
/// Total for any input: garbage in gives garbage out, never undefined behaviour.
void decode_columns(year_key const& k, std::array<dir_entry, field_count> const& dir, field_mask need,
                    kline_columns& out) noexcept;

/// The codec's integer arithmetic: wrapping (in unsigned), so any bytes decode without
/// undefined behaviour, and every decoder (year_codec.cpp, year_file.cpp's fused one)
/// gets the same values.
inline std::int64_t wadd(std::int64_t a, std::int64_t b) noexcept {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}
inline std::int64_t wsub(std::int64_t a, std::int64_t b) noexcept {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}
inline std::int64_t wmul(std::int64_t a, std::int64_t b) noexcept {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) * static_cast<std::uint64_t>(b));
}
/// Zigzag: small magnitudes of either sign become small unsigned values.
inline std::uint64_t zz(std::int64_t r) noexcept { return (static_cast<std::uint64_t>(r) << 1) ^ static_cast<std::uint64_t>(r >> 63); }
inline std::int64_t unzz(std::uint64_t u) noexcept { return static_cast<std::int64_t>((u >> 1) ^ (0 - (u & 1))); }

}  // namespace atb::store::detail
