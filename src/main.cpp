// scx-rustland: entry point. Reads the command line and the configuration
// files, then hands over to the supervisor.
#include <fmt/core.h>

#include <variant>

#include "cli/options.h"
#include "common/exit_codes.h"
#include "config/config.h"
#include "daemon/supervisor.h"
#include "dispatcher/bpf_dispatcher.h"
#include "systemd/logging.h"

int main(int argc, char** argv) {
    using namespace rustland;
    auto parsed = cli::parse(argc, argv);
    if (const int* code = std::get_if<int>(&parsed))
        return *code;
    const auto& options = std::get<cli::Options>(parsed);

    daemon::ConfigSource source;
    source.main_file = options.config_file.value_or(std::filesystem::path(config::kMainFile));
    source.main_required = options.config_file.has_value();
    if (!options.config_file)
        source.dropin_dir = config::kDropinDir;
    source.cli = options.settings;
    source.cli_given = options.given;

    config::Loaded loaded;
    try {
        loaded = source.load();
    } catch (const config::Error& e) {
        for (const std::string& problem : e.problems())
            fmt::print(stderr, "{}\n", problem);
        fmt::print(stderr, "scx-rustland: invalid configuration, nothing was loaded\n");
        return kExitConfig;
    }
    if (options.check_config) {
        fmt::print("{}", config::describe(loaded));
        return kExitOk;
    }

    systemd::setup_logging(loaded.settings.verbose);
    dispatcher::route_libbpf_logs(loaded.settings.verbose);
    return daemon::run(source, loaded.settings);
}
