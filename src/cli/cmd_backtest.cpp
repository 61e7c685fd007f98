// atb backtest: one run (table or --json, optional trades/equity CSV) or a parameter sweep.
// Rules and metrics: docs/BACKTEST.md; strategies: docs/STRATEGIES.md.
#include "cli_common.hpp"

#include "atb/engine/backtest.hpp"
#include "atb/engine/data.hpp"
#include "atb/engine/fast_sma.hpp"
#include "atb/engine/strategy.hpp"
#include "atb/store/year_file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <iostream>
#include <memory>
#include <thread>

namespace atb::cli {
namespace {

namespace eng = atb::engine;

struct backtest_args {
  std::string strategy;
  std::string symbol;
  std::string timeframe;
  std::optional<std::int64_t> days;
  std::optional<std::string> start, end;
  std::vector<std::string> params;
  std::vector<std::string> sweeps;
  double fee = 0.001;
  double slippage_bps = 0;
  std::optional<double> stop_loss, take_profit;
  double capital = 10000;
  bool allow_short = false;
  bool json = false;
  std::optional<std::string> trades_out, equity_out, cache_dir;
  unsigned jobs = 0;
  std::size_t top = 10;
  std::string rank_by = "sharpe";
};

struct usage_error {
  std::string message;
};

// ---- metric table --------------------------------------------------------------------

struct metric_def {
  char const* name;
  double eng::metrics::*field;  // nullptr for the two counts
  bool percent;                 // text shows it as a percentage
  bool lower_is_better;
};

constexpr metric_def metric_defs[] = {
    {"total_return", &eng::metrics::total_return, true, false},
    {"annualized_return", &eng::metrics::annualized_return, true, false},
    {"volatility", &eng::metrics::volatility, true, true},
    {"sharpe", &eng::metrics::sharpe, false, false},
    {"sortino", &eng::metrics::sortino, false, false},
    {"max_drawdown", &eng::metrics::max_drawdown, true, true},
    {"calmar", &eng::metrics::calmar, false, false},
    {"win_rate", &eng::metrics::win_rate, true, false},
    {"profit_factor", &eng::metrics::profit_factor, false, false},
    {"exposure", &eng::metrics::exposure, true, false},
    {"final_equity", &eng::metrics::final_equity, false, false},
    {"buy_and_hold_return", &eng::metrics::buy_and_hold_return, true, false},
};

metric_def const* find_metric(std::string_view name) {
  for (auto const& m : metric_defs)
    if (name == m.name) return &m;
  return nullptr;
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";  // profit_factor with no losing trade
  return fmt::format("{}", v);
}

std::string json_string(std::string_view s) {
  std::string o = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') o += '\\';
    if (static_cast<unsigned char>(ch) < 0x20) {
      o += fmt::format("\\u{:04x}", static_cast<unsigned>(ch));
      continue;
    }
    o += ch;
  }
  return o + "\"";
}

std::string metrics_json(eng::metrics const& m, std::string const& indent) {
  std::string s = fmt::format("{{\n{}  \"bars\": {},\n{}  \"trades\": {}", indent, m.bars, indent, m.trades);
  for (auto const& d : metric_defs) s += fmt::format(",\n{}  \"{}\": {}", indent, d.name, json_number(m.*d.field));
  return s + "\n" + indent + "}";
}

std::string params_json(eng::strategy_params const& p) {
  std::string s = "{";
  auto specs = eng::info(p.id).params;
  for (std::size_t i = 0; i < specs.size(); ++i)
    s += fmt::format("{}\"{}\": {}", i ? ", " : "", specs[i].name, json_number(p.values[i]));
  return s + "}";
}

std::string text_value(metric_def const& d, double v) {
  if (!std::isfinite(v)) return v > 0 ? "inf" : "n/a";
  if (d.percent) return fmt::format("{:.2f}%", v * 100.0);
  if (d.field == &eng::metrics::final_equity) return fmt::format("{:.2f}", v);
  return fmt::format("{:.3f}", v);
}

// ---- parsing helpers -----------------------------------------------------------------

double parse_double(std::string_view text, std::string const& what) {
  double v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || p != text.data() + text.size() || !std::isfinite(v))
    throw usage_error{fmt::format("{} must be a number, not '{}'.", what, text)};
  return v;
}

timestamp_ms parse_when(std::string const& text, char const* flag) {
  auto t = parse_instant(text);
  if (!t) throw usage_error{fmt::format("{} '{}' is not a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC).", flag, text)};
  return *t;
}

struct sweep_axis {
  std::size_t index;
  std::string name;
  std::vector<double> values;
};

sweep_axis parse_sweep(eng::strategy_info const& si, std::string const& text) {
  auto const eq = text.find('=');
  if (eq == std::string::npos)
    throw usage_error{fmt::format("--sweep '{}' must look like name=start:stop:step (e.g. fast=5:50:5).", text)};
  std::string const name = text.substr(0, eq);
  std::string const rest = text.substr(eq + 1);
  auto const c1 = rest.find(':');
  auto const c2 = c1 == std::string::npos ? std::string::npos : rest.find(':', c1 + 1);
  if (c2 == std::string::npos)
    throw usage_error{fmt::format("--sweep '{}' must look like name=start:stop:step (e.g. fast=5:50:5).", text)};
  std::size_t idx = si.params.size();
  for (std::size_t i = 0; i < si.params.size(); ++i)
    if (si.params[i].name == name) idx = i;
  if (idx == si.params.size()) {
    std::string valid;
    for (auto const& p : si.params) valid += (valid.empty() ? "" : ", ") + std::string(p.name);
    throw usage_error{valid.empty() ? fmt::format("{} takes no parameters, so it cannot be swept.", si.name)
                                    : fmt::format("--sweep: {} has no parameter '{}'; its parameters are: {}.",
                                                  si.name, name, valid)};
  }
  double const a = parse_double(rest.substr(0, c1), "--sweep start of " + name);
  double const b = parse_double(rest.substr(c1 + 1, c2 - c1 - 1), "--sweep stop of " + name);
  double const st = parse_double(rest.substr(c2 + 1), "--sweep step of " + name);
  if (!(st > 0) || b < a)
    throw usage_error{fmt::format("--sweep '{}' needs start <= stop and a positive step.", text)};
  sweep_axis ax{idx, name, {}};
  for (std::size_t k = 0;; ++k) {
    double const v = a + static_cast<double>(k) * st;
    if (v > b + st * 1e-9) break;
    ax.values.push_back(v);
    if (ax.values.size() > 100000) throw usage_error{fmt::format("--sweep '{}' has too many values (limit 100000).", text)};
  }
  return ax;
}

// ---- outputs -------------------------------------------------------------------------

std::string iso_or_empty(std::int64_t ms) { return format_iso(timestamp_ms{ms}); }

std::string trades_csv(eng::bar_series const& b, std::vector<eng::trade> const& ts) {
  std::string s = "entry_time,exit_time,side,entry_price,exit_price,quantity,entry_value,exit_value,pnl,return,exit_reason\n";
  for (auto const& t : ts) {
    std::int64_t const exit_ms =
        t.reason == eng::exit_reason::end_of_data ? b.close_time_at(t.exit_bar) : b.open_time[t.exit_bar];
    s += fmt::format("{},{},{},{},{},{},{},{},{},{},{}\n", iso_or_empty(b.open_time[t.entry_bar]), iso_or_empty(exit_ms),
                     t.side > 0 ? "long" : "short", t.entry_price * b.price_scale, t.exit_price * b.price_scale,
                     t.quantity / b.price_scale, t.entry_value, t.exit_value, t.pnl, t.ret(), eng::to_string(t.reason));
  }
  return s;
}

std::string equity_csv(eng::bar_series const& b, aligned_vector<double> const& e) {
  std::string s = "close_time,equity\n";
  for (std::size_t i = 0; i < e.size(); ++i) s += fmt::format("{},{}\n", iso_or_empty(b.close_time_at(i)), e[i]);
  return s;
}

int write_output(std::string const& path, std::string const& bytes, char const* flag) {
  if (path.empty() || path.find('\0') != std::string::npos) {
    print_error(fmt::format("{} needs a file name.", flag));
    return exit_usage;
  }
  std::filesystem::path const p(path);
  if (std::filesystem::is_directory(p)) {
    print_error(fmt::format("{} {} is a directory; give a file name such as {}/out.csv.", flag, path, path));
    return exit_usage;
  }
  auto const parent = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
  if (!std::filesystem::is_directory(parent)) {
    print_error(fmt::format("{}: directory {} does not exist; create it first.", flag, parent.string()));
    return exit_usage;
  }
  if (auto r = atb::store::atomic_write_file(p, bytes); !r) {
    print_error(r.error());
    return exit_usage;
  }
  return exit_ok;
}

std::string options_text(backtest_args const& a) {
  std::string s = fmt::format("fee {}%, slippage {} bps, capital {}", a.fee * 100, a.slippage_bps, a.capital);
  if (a.stop_loss) s += fmt::format(", stop-loss {}%", *a.stop_loss * 100);
  if (a.take_profit) s += fmt::format(", take-profit {}%", *a.take_profit * 100);
  if (a.allow_short) s += ", shorts allowed";
  return s;
}

std::string header_json(backtest_args const& a, eng::bar_series const& b) {
  return fmt::format(
      "  \"strategy\": {},\n  \"symbol\": {},\n  \"timeframe\": {},\n  \"start\": {},\n  \"end\": {},\n"
      "  \"options\": {{\"fee\": {}, \"slippage_bps\": {}, \"capital\": {}, \"stop_loss\": {}, \"take_profit\": {}, "
      "\"allow_short\": {}}},\n",
      json_string(a.strategy), json_string(a.symbol), json_string(a.timeframe), json_string(format_iso(timestamp_ms{b.open_time.front()})),
      json_string(format_iso(timestamp_ms{b.last_close() + 1})), a.fee, a.slippage_bps, a.capital,
      a.stop_loss ? json_number(*a.stop_loss) : "null", a.take_profit ? json_number(*a.take_profit) : "null",
      a.allow_short ? "true" : "false");
}

// ---- the command ---------------------------------------------------------------------

eng::exec_options exec_from(backtest_args const& a) {
  eng::exec_options o;
  o.capital = a.capital;
  o.fee = a.fee;
  o.slippage_bps = a.slippage_bps;
  o.stop_loss = a.stop_loss;
  o.take_profit = a.take_profit;
  o.allow_short = a.allow_short;
  return o;
}

void validate_options(backtest_args const& a) {
  if (!(a.fee >= 0 && a.fee < 1)) throw usage_error{fmt::format("--fee must be a fraction in [0, 1), e.g. 0.001 for 0.1%, not {}.", a.fee)};
  if (!(a.slippage_bps >= 0 && a.slippage_bps < 10000))
    throw usage_error{fmt::format("--slippage-bps must be in [0, 10000), not {}.", a.slippage_bps)};
  if (!(a.capital > 0 && std::isfinite(a.capital))) throw usage_error{fmt::format("--capital must be positive, not {}.", a.capital)};
  if (a.stop_loss && !(*a.stop_loss > 0 && *a.stop_loss < 1))
    throw usage_error{fmt::format("--stop-loss must be a fraction in (0, 1), e.g. 0.05 for 5%, not {}.", *a.stop_loss)};
  if (a.take_profit && !(*a.take_profit > 0 && std::isfinite(*a.take_profit)))
    throw usage_error{fmt::format("--take-profit must be a positive fraction, e.g. 0.1 for 10%, not {}.", *a.take_profit)};
  if (a.days && (a.start || a.end)) throw usage_error{"use either --days N or --start/--end, not both."};
  if (!a.days && !a.start && !a.end) throw usage_error{"say which bars to test: --days N, or --start D --end D."};
  if (a.top == 0) throw usage_error{"--top must be at least 1."};
}

int run_single(backtest_args const& a, eng::bar_series const& b, eng::strategy_params const& p) {
  eng::exec_options const o = exec_from(a);
  eng::backtest_result r;
  if (p.id == eng::strategy_id::sma_cross && eng::fast_sma_applicable(o) && !a.equity_out) {
    r.m = eng::run_sma_cross_fast(b, {static_cast<std::uint32_t>(p.values[0]), static_cast<std::uint32_t>(p.values[1])}, o,
                                  &r.trades);
  } else {
    std::vector<std::int8_t> t(b.size());
    eng::compute_targets(p, b, a.allow_short, t);
    r = eng::simulate(b, t, o, a.equity_out.has_value(), true);
  }
  if (a.trades_out)
    if (int rc = write_output(*a.trades_out, trades_csv(b, r.trades), "--trades-out"); rc) return rc;
  if (a.equity_out)
    if (int rc = write_output(*a.equity_out, equity_csv(b, r.equity), "--equity-out"); rc) return rc;
  if (a.json) {
    std::cout << "{\n" << header_json(a, b) << "  \"params\": " << params_json(p) << ",\n  \"metrics\": "
              << metrics_json(r.m, "  ") << "\n}\n";
    return exit_ok;
  }
  std::string out = fmt::format("{} {} on {} {}, {} to {} ({} bars)\n{}\n\n", a.strategy, p.to_string(), a.symbol,
                                a.timeframe, format_utc(timestamp_ms{b.open_time.front()}),
                                format_utc(timestamp_ms{b.last_close()}), b.size(), options_text(a));
  out += fmt::format("  {:<22}{:>16}\n", "metric", "value");
  out += fmt::format("  {:<22}{:>16}\n", "bars", r.m.bars);
  out += fmt::format("  {:<22}{:>16}\n", "trades", r.m.trades);
  for (auto const& d : metric_defs) out += fmt::format("  {:<22}{:>16}\n", d.name, text_value(d, r.m.*d.field));
  std::cout << out;
  return exit_ok;
}

int run_sweep(backtest_args const& a, eng::bar_series const& b, eng::strategy_params const& base) {
  auto const& si = eng::info(base.id);
  std::vector<sweep_axis> axes;
  for (auto const& s : a.sweeps) {
    axes.push_back(parse_sweep(si, s));
    for (std::size_t i = 0; i + 1 < axes.size(); ++i)
      if (axes[i].index == axes.back().index) throw usage_error{fmt::format("--sweep {} is given twice.", axes.back().name)};
  }
  metric_def const* rank = find_metric(a.rank_by);
  if (!rank) {
    std::string valid;
    for (auto const& d : metric_defs) valid += (valid.empty() ? "" : ", ") + std::string(d.name);
    throw usage_error{fmt::format("--rank-by {} is not a metric; use one of: {}.", a.rank_by, valid)};
  }
  if (a.trades_out || a.equity_out) throw usage_error{"--trades-out and --equity-out are for single runs, not sweeps."};
  // Cartesian grid; combinations that break a parameter rule (e.g. fast >= slow) are skipped.
  std::vector<eng::strategy_params> grid;
  std::size_t skipped = 0, total = 1;
  for (auto const& ax : axes) total *= ax.values.size();
  if (total > 10'000'000) throw usage_error{fmt::format("the sweep has {} combinations; the limit is 10000000.", total)};
  std::vector<std::size_t> idx(axes.size(), 0);
  for (std::size_t n = 0; n < total; ++n) {
    eng::strategy_params p = base;
    bool ok = true;
    for (std::size_t k = 0; k < axes.size(); ++k) {
      auto const& spec = si.params[axes[k].index];
      double const v = axes[k].values[idx[k]];
      if (v < spec.min_value || v > spec.max_value || (spec.integer && v != std::floor(v))) ok = false;
      p.values[axes[k].index] = v;
    }
    if (ok && eng::validate(p)) grid.push_back(p);
    else ++skipped;
    for (std::size_t k = axes.size(); k-- > 0;) {
      if (++idx[k] < axes[k].values.size()) break;
      idx[k] = 0;
    }
  }
  if (grid.empty()) throw usage_error{"every combination of the sweep breaks a parameter rule (e.g. fast < slow); nothing to run."};
  eng::exec_options const o = exec_from(a);
  std::vector<eng::metrics> res(grid.size());
  unsigned jobs = a.jobs ? a.jobs : std::max(1u, std::thread::hardware_concurrency());
  jobs = static_cast<unsigned>(std::min<std::size_t>(jobs, grid.size()));
  bool const fast = base.id == eng::strategy_id::sma_cross && eng::fast_sma_applicable(o);
  // The fast kernel shares work across the pairs of one call: one contiguous share per thread.
  std::size_t const chunk = fast ? (grid.size() + jobs - 1) / jobs : 1;
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    std::vector<std::int8_t> t(fast ? 0 : b.size());
    std::vector<eng::sma_pair> pairs;
    for (;;) {
      std::size_t const i0 = next.fetch_add(chunk);
      if (i0 >= grid.size()) return;
      std::size_t const i1 = std::min(grid.size(), i0 + chunk);
      if (fast) {
        pairs.clear();
        for (std::size_t i = i0; i < i1; ++i)
          pairs.push_back({static_cast<std::uint32_t>(grid[i].values[0]), static_cast<std::uint32_t>(grid[i].values[1])});
        eng::sweep_sma_cross(b, pairs, o, std::span<eng::metrics>(res.data() + i0, i1 - i0));
      } else {
        for (std::size_t i = i0; i < i1; ++i) {
          eng::compute_targets(grid[i], b, a.allow_short, t);
          res[i] = eng::simulate(b, t, o, false, false).m;
        }
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned j = 1; j < jobs; ++j) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
  std::vector<std::size_t> order(grid.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto key = [&](std::size_t i) {
    double v = res[i].*(rank->field);
    if (std::isnan(v)) v = -std::numeric_limits<double>::infinity();
    return rank->lower_is_better ? -v : v;
  };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return key(x) > key(y); });
  std::size_t const k = std::min(a.top, order.size());
  if (a.json) {
    std::string s = "{\n" + header_json(a, b);
    s += fmt::format("  \"combinations\": {},\n  \"skipped\": {},\n  \"rank_by\": {},\n  \"results\": [", grid.size(), skipped,
                     json_string(rank->name));
    for (std::size_t r = 0; r < k; ++r)
      s += fmt::format("{}\n    {{\"params\": {}, \"metrics\": {}}}", r ? "," : "", params_json(grid[order[r]]),
                       metrics_json(res[order[r]], "    "));
    std::cout << s << "\n  ]\n}\n";
    return exit_ok;
  }
  std::string out = fmt::format("{} sweep on {} {}, {} to {} ({} bars): {} combinations", a.strategy, a.symbol, a.timeframe,
                                format_utc(timestamp_ms{b.open_time.front()}), format_utc(timestamp_ms{b.last_close()}),
                                b.size(), grid.size());
  if (skipped) out += fmt::format(" ({} skipped: they break a parameter rule)", skipped);
  out += fmt::format("\n{}\ntop {} by {}:\n\n", options_text(a), k, rank->name);
  out += fmt::format("  {:>4}  {:<28}{:>8}{:>12}{:>12}{:>9}{:>9}{:>13}{:>10}\n", "rank", "params", "trades", "total_ret",
                     "annual_ret", "sharpe", "sortino", "max_drawdown", "win_rate");
  for (std::size_t r = 0; r < k; ++r) {
    auto const& m = res[order[r]];
    out += fmt::format("  {:>4}  {:<28}{:>8}{:>12}{:>12}{:>9.3f}{:>9.3f}{:>13}{:>10}\n", r + 1, grid[order[r]].to_string(),
                       m.trades, fmt::format("{:.2f}%", m.total_return * 100), fmt::format("{:.2f}%", m.annualized_return * 100),
                       m.sharpe, m.sortino, fmt::format("{:.2f}%", m.max_drawdown * 100),
                       fmt::format("{:.2f}%", m.win_rate * 100));
  }
  std::cout << out;
  return exit_ok;
}

int run_backtest(backtest_args const& a) {
  try {
    auto const* si = eng::find_strategy(a.strategy);
    if (!si) {
      std::string valid;
      for (auto const& s : eng::all_strategies()) valid += (valid.empty() ? "" : ", ") + std::string(s.name);
      throw usage_error{fmt::format("unknown strategy '{}'; choose one of: {}.", a.strategy, valid)};
    }
    auto sym = atb::symbol::parse(a.symbol);
    if (!sym) throw usage_error{sym.error().message};
    auto iv = atb::parse_interval(a.timeframe);
    if (!iv) throw usage_error{iv.error().message};
    validate_options(a);
    eng::strategy_params p = eng::default_params(si->id);
    for (auto const& kv : a.params) {
      auto const eq = kv.find('=');
      if (eq == std::string::npos) throw usage_error{fmt::format("--param '{}' must look like name=value (e.g. fast=20).", kv)};
      if (auto r = eng::set_param(p, kv.substr(0, eq), kv.substr(eq + 1)); !r) throw usage_error{r.error().message};
    }
    if (a.sweeps.empty())
      if (auto r = eng::validate(p); !r) throw usage_error{r.error().message};
    eng::range_spec range;
    range.days = a.days;
    if (a.start) range.start = parse_when(*a.start, "--start");
    if (a.end) range.end = parse_when(*a.end, "--end");
    field_mask fields = a.stop_loss || a.take_profit ? eng::backtest_fields() : eng::sma_fields();
    if (a.equity_out) fields = fields | field_mask{field::close_time};  // the curve's time stamps
    auto bars = eng::load_bars(resolve_cache_dir(a.cache_dir), *sym, *iv, range, system_now(), fields);
    if (!bars) {
      print_error(bars.error());
      if (bars.error().code == eng::make_error_code(eng::engine_errc::no_data)) return exit_problems;
      return exit_usage;
    }
    return a.sweeps.empty() ? run_single(a, *bars, p) : run_sweep(a, *bars, p);
  } catch (usage_error const& e) {
    print_error(e.message);
    return exit_usage;
  }
}

}  // namespace

void register_engine_commands(CLI::App& root, command_registry& registry) {
  auto args = std::make_shared<backtest_args>();
  CLI::App* cmd = root.add_subcommand("backtest", "Backtest a strategy on cached klines (docs/BACKTEST.md)");
  std::string names;
  for (auto const& s : eng::all_strategies()) names += (names.empty() ? "" : ", ") + std::string(s.name);
  cmd->add_option("strategy", args->strategy, "Strategy: " + names)->required();
  cmd->add_option("--symbol", args->symbol, "Trading pair, e.g. BTCUSDT")->required();
  cmd->add_option("--timeframe", args->timeframe, "Kline interval, e.g. 1h")->required();
  cmd->add_option("--days", args->days, "Test the last N days up to the newest cached candle");
  cmd->add_option("--start", args->start, "First open time (UTC date or instant), inclusive");
  cmd->add_option("--end", args->end, "Last open time (UTC), exclusive");
  cmd->add_option("--param", args->params, "Strategy parameter name=value (repeatable)");
  cmd->add_option("--fee", args->fee, "Fee per side as a fraction (default 0.001)");
  cmd->add_option("--slippage-bps", args->slippage_bps, "Slippage in basis points (default 0)");
  cmd->add_option("--stop-loss", args->stop_loss, "Stop-loss as a fraction of the entry price");
  cmd->add_option("--take-profit", args->take_profit, "Take-profit as a fraction of the entry price");
  cmd->add_option("--capital", args->capital, "Starting capital (default 10000)");
  cmd->add_flag("--allow-short", args->allow_short, "Let strategies go short");
  cmd->add_flag("--json", args->json, "Print metrics as JSON (fractions)");
  cmd->add_option("--trades-out", args->trades_out, "Write the trades to this CSV file");
  cmd->add_option("--equity-out", args->equity_out, "Write the equity marked at each close to this CSV file");
  cmd->add_option("--sweep", args->sweeps, "Sweep a parameter: name=start:stop:step (repeatable)");
  cmd->add_option("--jobs", args->jobs, "Threads for sweeps (default: all cores)");
  cmd->add_option("--top", args->top, "Sweep rows to show (default 10)");
  cmd->add_option("--rank-by", args->rank_by, "Sweep ranking metric (default sharpe)");
  add_cache_dir_option(*cmd, args->cache_dir);
  cmd->callback([args, &registry] { registry.action = [args] { return run_backtest(*args); }; });
}

}  // namespace atb::cli
