#include "ctl/arguments.h"

#include <climits>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "ctl/exit_codes.h"
#include "version.h"

namespace rustland::ctl {
namespace {

constexpr const char* kExitCodeHelp =
    "Exit codes: 0 ok, 1 other failure, 2 usage, 3 daemon not running,\n"
    "4 permission denied, 5 no such process or hold, 6 limit exceeded,\n"
    "7 bad config (reload). `run` exits with the command's own status.";

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};

// Declares the subcommands and keeps what their options write to until
// parse() has filled it. CLI11 keeps pointers to the members, so a
// CommandLine is never copied or moved.
class CommandLine {
public:
    CommandLine();
    CommandLine(const CommandLine&) = delete;
    CommandLine& operator=(const CommandLine&) = delete;

    ParsedArguments parse(std::span<const char* const> args);

private:
    void add_status();
    void add_monitor();
    void add_list();
    void add_hold();
    void add_release();
    void add_run();
    void add_follow_gamemode();
    ParsedArguments parse_error(const CLI::ParseError& error);
    Command chosen_command();
    RunCommand chosen_run();

    CLI::App app_{"Control the scx-rustland scheduler daemon over D-Bus (org.scx.Rustland1).", "scx-rustlandctl"};
    StatusCommand status_;
    CLI::App* status_app_ = nullptr;
    double interval_seconds_ = 1.0;
    CLI::App* monitor_app_ = nullptr;
    ListCommand list_;
    CLI::App* list_app_ = nullptr;
    HoldCommand hold_;
    CLI::App* hold_app_ = nullptr;
    std::string hold_app_id_;
    CLI::Option* hold_app_id_option_ = nullptr;
    ReleaseCommand release_;
    CLI::App* release_app_ = nullptr;
    CLI::App* reload_app_ = nullptr;
    RunCommand run_;
    FollowGameModeCommand follow_;
    CLI::App* follow_app_ = nullptr;
};

CommandLine::CommandLine() {
    app_.footer(kExitCodeHelp);
    app_.set_version_flag("--version", rustland::kVersion);
    app_.require_subcommand(1);
    // In the order --help lists them.
    add_status();
    add_monitor();
    add_list();
    add_hold();
    add_release();
    reload_app_ = app_.add_subcommand("reload", "Make the daemon reload its configuration");
    add_run();
    add_follow_gamemode();
}

void CommandLine::add_status() {
    status_app_ = app_.add_subcommand("status", "Show state, ops, version, holds, counters");
    status_app_->add_flag("--json", status_.json, "Print JSON");
}

void CommandLine::add_monitor() {
    monitor_app_ = app_.add_subcommand("monitor", "Show the status live until Ctrl-C");
    monitor_app_->add_option("--interval", interval_seconds_, "Seconds between refreshes")
        ->check(CLI::Range(0.1, 3600.0))
        ->capture_default_str();
}

void CommandLine::add_list() {
    list_app_ = app_.add_subcommand("list", "List the holds");
    list_app_->add_flag("--json", list_.json, "Print JSON");
}

void CommandLine::add_hold() {
    hold_app_ = app_.add_subcommand("hold", "Hold process PID (latency-critical) until Ctrl-C or until it exits");
    hold_app_->add_option("PID", hold_.pid, "Process to hold")->required()->check(CLI::Range(1, INT_MAX));
    hold_app_id_option_ = hold_app_->add_option("--app-id", hold_app_id_,
                                                "Application id shown in the holds (default: its command name)");
    // Set before the option is added, so that --help shows it as the default.
    hold_.reason = "scx-rustlandctl hold";
    hold_app_->add_option("--reason", hold_.reason, "Why it is held")->capture_default_str();
    hold_app_->add_flag("--persistent", hold_.persistent,
                        "Keep the hold after exiting and print its cookie (root only)");
}

void CommandLine::add_release() {
    release_app_ = app_.add_subcommand("release", "End the hold COOKIE");
    release_app_
        ->add_option("COOKIE", release_.cookie,
                     "Cookie printed by hold --persistent or "
                     "shown by list")
        ->required();
}

void CommandLine::add_run() {
    auto* run_app = app_.add_subcommand("run",
                                        "Run CMD held for its whole life and exit with its status (Steam: "
                                        "scx-rustlandctl run -- %command%)");
    run_app->add_option("--app-id", run_.app_id, "Application id (default: CMD's basename)");
    run_.reason = "scx-rustlandctl run";
    run_app->add_option("--reason", run_.reason, "Why it is held")->capture_default_str();
    run_app->add_flag("--strict", run_.strict, "Do not run CMD if it cannot be held; exit with the error's code");
    run_app->add_option("CMD", run_.argv, "Command and its arguments (after --)")->required();
}

void CommandLine::add_follow_gamemode() {
    follow_app_ = app_.add_subcommand("follow-gamemode",
                                      "Hold the games GameMode (gamemoded) registers, while they are "
                                      "registered (the systemd user unit scx-rustland-gamemode.service)");
    follow_app_
        ->add_option("--max-holds", follow_.max_holds,
                     "Holds at once at most (a game and the processes it started before "
                     "its hold need one each)")
        ->check(CLI::Range(1, 4096))
        ->capture_default_str();
}

ParsedArguments CommandLine::parse(std::span<const char* const> args) {
    try {
        app_.parse(static_cast<int>(args.size()), args.data());
    } catch (const CLI::ParseError& error) {
        return parse_error(error);
    }
    ParsedArguments parsed;
    parsed.command = chosen_command();
    return parsed;
}

// CLI11 reports --help and --version as parse errors too: they succeed; every
// other parse error is a usage error.
ParsedArguments CommandLine::parse_error(const CLI::ParseError& error) {
    std::ostringstream out;
    std::ostringstream err;
    const int cli_code = app_.exit(error, out, err);
    ParsedArguments parsed;
    parsed.exit_code = cli_code == 0 ? to_int(ExitCode::ok) : to_int(ExitCode::usage);
    parsed.out = out.str();
    parsed.err = err.str();
    return parsed;
}

// require_subcommand(1) makes exactly one of them parsed.
Command CommandLine::chosen_command() {
    if (status_app_->parsed()) {
        return status_;
    }
    if (monitor_app_->parsed()) {
        return MonitorCommand{
            std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(interval_seconds_ * 1000.0))};
    }
    if (list_app_->parsed()) {
        return list_;
    }
    if (hold_app_->parsed()) {
        // Set only when given, so that hold tells `--app-id ''` from no
        // --app-id (the target's command name).
        if (hold_app_id_option_->count() > 0) {
            hold_.app_id = hold_app_id_;
        }
        return hold_;
    }
    if (release_app_->parsed()) {
        return release_;
    }
    if (reload_app_->parsed()) {
        return ReloadCommand{};
    }
    if (follow_app_->parsed()) {
        return follow_;
    }
    return chosen_run();
}

// An empty --app-id means the default too: CMD's basename.
RunCommand CommandLine::chosen_run() {
    if (run_.app_id.empty()) {
        run_.app_id = std::filesystem::path(run_.argv.front()).filename().string();
    }
    return run_;
}

}  // namespace

ParsedArguments parse_arguments(std::span<const char* const> args) {
    CommandLine command_line;
    return command_line.parse(args);
}

std::string describe(const Command& command) {
    return std::visit(Overloaded{
                          [](const StatusCommand&) { return std::string("status"); },
                          [](const ListCommand&) { return std::string("list"); },
                          [](const MonitorCommand&) { return std::string("monitor"); },
                          [](const HoldCommand& hold) { return fmt::format("hold {}", hold.pid); },
                          [](const ReleaseCommand& release) { return fmt::format("release {}", release.cookie); },
                          [](const ReloadCommand&) { return std::string("reload"); },
                          [](const RunCommand& run) { return fmt::format("run {}", run.argv.front()); },
                          [](const FollowGameModeCommand&) { return std::string("follow-gamemode"); },
                      },
                      command);
}

}  // namespace rustland::ctl
