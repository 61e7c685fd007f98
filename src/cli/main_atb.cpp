// `atb`: the command-line front end. main() only wires the command groups together.
#include "cli_common.hpp"

int main(int argc, char** argv) {
  CLI::App app{"atb: download, store, verify and backtest Binance klines"};
  app.set_version_flag("--version", "atb 0.1.0");
  app.require_subcommand(0, 1);
  atb::cli::command_registry registry;
  CLI::App* data = app.add_subcommand("data", "Cache commands: import, export, preload, cache-manager …");
  data->require_subcommand(1);
  atb::cli::register_store_commands(*data, registry);
  atb::cli::register_fetch_commands(app, *data, registry);
  atb::cli::register_engine_commands(app, registry);
  return atb::cli::run_app(app, registry, argc, argv);
}
