// atb data import | export | cache-manager (store work fills this in).
#include "cli_common.hpp"

namespace atb::cli {
void register_store_commands(CLI::App&, command_registry&) {}
}  // namespace atb::cli
