#include "atb/sim/cache_market.hpp"

#include "atb/sim/synthetic_market.hpp"

#ifdef ATB_SIM_HAVE_STORE
#include "atb/store/cache.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <unordered_map>
#endif

namespace atb::sim {

#ifndef ATB_SIM_HAVE_STORE

result<std::unique_ptr<market>> open_cache_market(cache_market_options opt) {
  return error{sim_errc::data_unavailable, "cannot serve --data " + opt.dir.string() +
                                               ": this build of atb-mock-exchange has no store support; rebuild "
                                               "with src/store, or run without --data for the synthetic market."};
}

#else

namespace {

struct year_meta {
  int year;
  timestamp_ms first_open, last_open;
};

class cache_market final : public market {
 public:
  cache_market(cache_market_options opt, std::vector<store::cache_entry> const& entries)
      : opt_(std::move(opt)), cache_(opt_.dir) {
    std::map<std::string, timestamp_ms> first;
    for (auto const& e : entries) {
      auto const& k = e.header.key;
      if (e.header.rows == 0) continue;
      std::string name = k.symbol.str();
      if (!opt_.symbols.empty() && std::find(opt_.symbols.begin(), opt_.symbols.end(), name) == opt_.symbols.end())
        continue;
      index_[{name, k.interval}].push_back({k.year, e.header.first_open, e.header.last_open});
      auto [it, fresh] = first.emplace(name, e.header.first_open);
      if (!fresh) it->second = std::min(it->second, e.header.first_open);
    }
    for (auto& [key, years] : index_)
      std::sort(years.begin(), years.end(), [](auto const& a, auto const& b) { return a.year < b.year; });
    auto const& table = builtin_symbols();
    for (auto const& [name, listed] : first) {
      symbol_info info{symbol::parse(name).value(), {}, {}, decimal{1, 8}, decimal{1, 8}, listed, "TRADING"};
      std::tie(info.base_asset, info.quote_asset) = split_assets(name);
      auto it = std::find_if(table.begin(), table.end(), [&](auto const& p) { return p.name == name; });
      if (it != table.end()) {
        info.tick_size = decimal{it->tick_mantissa, 8};
        info.step_size = decimal{it->step_mantissa, 8};
      }
      infos_.push_back(std::move(info));
    }
  }

  std::vector<symbol_info> const& symbols() const noexcept override { return infos_; }
  bool empty() const noexcept { return infos_.empty(); }

  result<kline_columns> klines(symbol_info const& s, interval iv, kline_query const& q,
                               timestamp_ms now) const override {
    kline_columns out;
    auto it = index_.find({s.symbol.str(), iv});
    timestamp_ms const lower = q.from;
    timestamp_ms const upper = std::min(q.to, now);
    if (it == index_.end() || upper < lower || q.limit == 0) return out;
    auto const& years = it->second;
    bool scales_set = false;
    auto append = [&](kline_columns const& src, std::size_t i) -> result<void> {
      if (!scales_set) {
        out.scale = src.scale;
        scales_set = true;
      }
      if (src.scale == out.scale) {
        out.push_row(src, i);
        return {};
      }
      for (std::size_t f = 0; f < field_count; ++f) {
        std::int64_t v = src.cols[f][i];
        if (src.scale[f] < out.scale[f]) v *= pow10_i64(out.scale[f] - src.scale[f]);
        else if (src.scale[f] > out.scale[f])
          return error{sim_errc::data_unavailable, "year files of " + s.symbol.str() + " mix decimal scales"};
        out.cols[f].push_back(v);
      }
      return {};
    };
    std::vector<std::pair<std::shared_ptr<kline_columns const>, std::size_t>> picked;
    if (!q.newest) {
      for (auto const& y : years) {
        if (y.last_open < lower || y.first_open > upper) continue;
        auto cols = load(s.symbol, iv, y.year);
        if (!cols) return cols.error();
        auto const& open = (**cols)[field::open_time];
        auto i = static_cast<std::size_t>(std::lower_bound(open.begin(), open.end(), lower.ms) - open.begin());
        for (; i < open.size() && open[i] <= upper.ms && picked.size() < q.limit; ++i) picked.emplace_back(*cols, i);
        if (picked.size() >= q.limit) break;
      }
    } else {
      for (auto y = years.rbegin(); y != years.rend(); ++y) {
        if (y->last_open < lower || y->first_open > upper) continue;
        auto cols = load(s.symbol, iv, y->year);
        if (!cols) return cols.error();
        auto const& open = (**cols)[field::open_time];
        auto i = static_cast<std::size_t>(std::upper_bound(open.begin(), open.end(), upper.ms) - open.begin());
        while (i > 0 && open[i - 1] >= lower.ms && picked.size() < q.limit) picked.emplace_back(*cols, --i);
        if (picked.size() >= q.limit) break;
      }
      std::reverse(picked.begin(), picked.end());
    }
    out.reserve(picked.size());
    for (auto const& [cols, i] : picked)
      if (auto r = append(*cols, i); !r) return r.error();
    return out;
  }

 private:
  result<std::shared_ptr<kline_columns const>> load(atb::symbol const& sym, interval iv, int year) const {
    std::string const key = sym.str() + '|' + std::string(to_string(iv)) + '|' + std::to_string(year);
    {
      std::lock_guard lock(mu_);
      if (auto it = loaded_.find(key); it != loaded_.end()) return it->second;
    }
    auto cols = cache_.load(sym, iv, year_start(year), year_end(year));
    if (!cols) return cols.error();
    auto p = std::make_shared<kline_columns const>(std::move(*cols));
    std::lock_guard lock(mu_);
    if (loaded_.size() >= opt_.max_loaded_years) loaded_.clear();
    loaded_.emplace(key, p);
    return p;
  }

  cache_market_options opt_;
  store::cache cache_;
  std::vector<symbol_info> infos_;
  std::map<std::pair<std::string, interval>, std::vector<year_meta>> index_;
  mutable std::mutex mu_;
  mutable std::unordered_map<std::string, std::shared_ptr<kline_columns const>> loaded_;
};

}  // namespace

result<std::unique_ptr<market>> open_cache_market(cache_market_options opt) {
  std::error_code ec;
  if (!std::filesystem::is_directory(opt.dir, ec))
    return error{sim_errc::data_unavailable,
                 "--data " + opt.dir.string() + " is not a directory; give a cache directory written by `atb data`."};
  store::cache c(opt.dir);
  auto entries = c.list();
  if (!entries) return error{sim_errc::data_unavailable, "cannot read the cache in " + opt.dir.string() + ": " +
                                                             entries.error().message};
  auto m = std::make_unique<cache_market>(opt, *entries);
  if (m->empty())
    return error{sim_errc::data_unavailable, "--data " + opt.dir.string() +
                                                 " holds no year file" +
                                                 (opt.symbols.empty() ? std::string() : " of the --symbols given") +
                                                 "; import or download klines into it first (atb data import/download)."};
  return std::unique_ptr<market>(std::move(m));
}

#endif

}  // namespace atb::sim
