#pragma once
// Serves a cache directory written by the store (`--data DIR`): every symbol and interval
// that has year files, with the very values (and so the very strings) that were stored.
// Year files are decoded on first use and kept in memory (a bounded number of them).
#include "atb/sim/errors.hpp"
#include "atb/sim/market.hpp"

#include <filesystem>
#include <memory>

namespace atb::sim {

struct cache_market_options {
  std::filesystem::path dir;          ///< the cache directory (the one holding market_data/)
  std::vector<std::string> symbols;   ///< serve only these (empty: all in the cache)
  std::size_t max_loaded_years = 256; ///< decoded year files kept in memory
};

/// Reads the cache's year-file headers (no block is decoded yet).
/// Errors (sim_errc::data_unavailable): the directory does not exist, holds no year file,
/// or this build has no store support.
result<std::unique_ptr<market>> open_cache_market(cache_market_options opt);

}  // namespace atb::sim
