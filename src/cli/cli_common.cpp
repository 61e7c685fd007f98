#include "cli_common.hpp"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <unistd.h>

namespace atb::cli {

std::filesystem::path resolve_cache_dir(std::optional<std::string> const& flag) {
  if (flag && !flag->empty()) return *flag;
  if (char const* env = std::getenv("ATB_CACHE_DIR"); env && *env) return env;
  return "cache";
}

CLI::Option* add_cache_dir_option(CLI::App& cmd, std::optional<std::string>& target) {
  return cmd.add_option("--cache-dir", target, "Cache directory (default: $ATB_CACHE_DIR, else ./cache)");
}

void print_error(std::string const& message) { std::cerr << "atb: " << message << '\n'; }
void print_error(atb::error const& e) { print_error(e.message); }

bool stdout_is_terminal() noexcept { return ::isatty(STDOUT_FILENO) == 1; }

int run_app(CLI::App& app, command_registry& registry, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (CLI::CallForHelp const& e) {
    return app.exit(e) == 0 ? exit_ok : exit_ok;
  } catch (CLI::CallForAllHelp const& e) {
    app.exit(e);
    return exit_ok;
  } catch (CLI::CallForVersion const& e) {
    app.exit(e);
    return exit_ok;
  } catch (CLI::ParseError const& e) {
    std::cerr << "atb: " << e.what() << " (see --help)\n";
    return exit_usage;
  }
  if (!registry.action) {
    std::cerr << app.help();
    return exit_usage;
  }
  try {
    return registry.action();
  } catch (atb::error_exception const& e) {
    print_error(e.err);
    return exit_usage;
  } catch (std::exception const& e) {
    print_error(std::string("unexpected failure: ") + e.what());
    return exit_usage;
  }
}

}  // namespace atb::cli
