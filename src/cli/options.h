// Command-line options of scx-rustland. Every scheduler option is made from
// the key table (config/settings.h): it sets that key, with the key's range
// and default, and wins over the configuration files.
#pragma once

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <variant>

#include "common/exit_codes.h"
#include "config/settings.h"

namespace rustland::cli {

struct Options {
    config::Settings settings;                         // command-line values (defaults elsewhere)
    std::set<std::string> given;                       // keys set on the command line, "section.key"
    std::optional<std::filesystem::path> config_file;  // --config: this file only
    bool check_config = false;
};

// Either options to run with, or an exit code to leave with right away
// (after --help, --version, or an error that has already been printed).
using ParseResult = std::variant<Options, int>;

ParseResult parse(int argc, char** argv);

}  // namespace rustland::cli
