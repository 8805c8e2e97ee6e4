// The command line of scx-rustlandctl, parsed into one Command.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace rustland::ctl {

struct StatusCommand {
    bool json = false;
};

struct ListCommand {
    bool json = false;
};

struct MonitorCommand {
    std::chrono::milliseconds interval{1000};
};

struct HoldCommand {
    pid_t pid = 0;
    std::optional<std::string> app_id;  // unset: the target's command name
    std::string reason;
    bool persistent = false;
};

struct ReleaseCommand {
    std::uint64_t cookie = 0;
};

struct ReloadCommand {};

struct RunCommand {
    std::string app_id;
    std::string reason;
    bool strict = false;
    std::vector<std::string> argv;  // CMD ARGS..., never empty
};

struct FollowGameModeCommand {
    std::size_t max_holds = 16;  // half the daemon's default per-user cap
};

using Command = std::variant<StatusCommand, ListCommand, MonitorCommand, HoldCommand, ReleaseCommand, ReloadCommand,
                             RunCommand, FollowGameModeCommand>;

// Either a command, or what to print and the exit code to leave with (--help,
// --version, or a usage error).
struct ParsedArguments {
    std::optional<Command> command;
    int exit_code = 0;
    std::string out;  // for stdout
    std::string err;  // for stderr
};

// `args` is argv, program name first.
ParsedArguments parse_arguments(std::span<const char* const> args);

// What a failure message names: "status", "hold 1234", "release 7", "run sh",
// "follow-gamemode".
std::string describe(const Command& command);

}  // namespace rustland::ctl
