#pragma once
// What every atb command shares: exit codes, the cache directory rule, error printing,
// and the registry through which command files hand their action to main().
#include "atb/core/error.hpp"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace atb::cli {

/// 0 ok, 1 the job or check found problems, 2 bad usage or environment.
enum exit_code : int { exit_ok = 0, exit_problems = 1, exit_usage = 2 };

/// Each subcommand's parse callback stores its action here; main() runs it after parsing,
/// so that CLI11 never sees our exceptions and exit codes stay ours.
struct command_registry {
  std::function<int()> action;
};

/// --cache-dir if given, else $ATB_CACHE_DIR, else ./cache (the same rule for every command).
std::filesystem::path resolve_cache_dir(std::optional<std::string> const& flag);
/// Adds `--cache-dir D` to a command, bound to `target`.
CLI::Option* add_cache_dir_option(CLI::App& cmd, std::optional<std::string>& target);

/// Prints "atb: <message>" to stderr (one sentence, already complete).
void print_error(std::string const& message);
void print_error(atb::error const& e);

/// True when stdout is a terminal (live progress) rather than a pipe or file.
bool stdout_is_terminal() noexcept;

// Command groups, one file each (cmd_*.cpp). Each adds its subcommands and sets
// registry.action from their callbacks.
void register_store_commands(CLI::App& data, command_registry& registry);            // cmd_store.cpp
void register_fetch_commands(CLI::App& root, CLI::App& data, command_registry& registry);  // cmd_fetch.cpp
void register_engine_commands(CLI::App& root, command_registry& registry);           // cmd_backtest.cpp

/// Parses argv with CLI11 and runs the chosen action; maps CLI11 errors to exit 2
/// (help and version to 0). Used by every main().
int run_app(CLI::App& app, command_registry& registry, int argc, char** argv);

}  // namespace atb::cli
