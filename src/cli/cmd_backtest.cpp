// atb backtest (engine work fills this in).
#include "cli_common.hpp"

namespace atb::cli {
void register_engine_commands(CLI::App&, command_registry&) {}
}  // namespace atb::cli
