// Runs the scheduler until a signal or a fatal ejection: checks the kernel,
// locks memory, attaches, reattaches by itself when the kernel asks for a
// restart (CPU hotplug), and reloads the configuration on SIGHUP.
#pragma once

#include <filesystem>
#include <set>
#include <string>

#include "config/config.h"

namespace rustland::daemon {

// Where the configuration comes from, so that SIGHUP can read it again.
struct ConfigSource {
    std::filesystem::path main_file;
    bool main_required = false;        // --config: the file must exist
    std::filesystem::path dropin_dir;  // empty: no drop-ins
    config::Settings cli;              // command-line values, which win
    std::set<std::string> cli_given;

    // Files, then the command line; throws config::Error.
    config::Loaded load() const;
};

// Runs the scheduler with `settings` until a signal or a fatal ejection;
// SIGHUP reloads from `source`. Returns the process exit code (rustland::ExitCode).
int run(const ConfigSource& source, config::Settings settings);

}  // namespace rustland::daemon
