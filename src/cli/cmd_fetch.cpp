// atb data preload-offline | prefill-cache | download, atb demo (fetch work fills this in).
#include "cli_common.hpp"

namespace atb::cli {
void register_fetch_commands(CLI::App&, CLI::App&, command_registry&) {}
}  // namespace atb::cli
