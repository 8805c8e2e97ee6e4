// scx-rustland: entry point.
#include <spdlog/spdlog.h>

#include <variant>

#include "cli/options.h"
#include "daemon/supervisor.h"
#include "dispatcher/bpf_dispatcher.h"

int main(int argc, char** argv) {
    auto parsed = rustland::cli::parse(argc, argv);
    if (const int* code = std::get_if<int>(&parsed))
        return *code;
    const auto& options = std::get<rustland::cli::Options>(parsed);

    spdlog::set_pattern("%^%l%$: %v");
    spdlog::set_level(options.verbose ? spdlog::level::debug : spdlog::level::info);
    rustland::dispatcher::route_libbpf_logs(options.verbose);
    return rustland::daemon::run(options);
}
