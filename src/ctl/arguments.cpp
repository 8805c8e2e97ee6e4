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

}  // namespace

ParsedArguments parse_arguments(std::span<const char* const> args) {
    CLI::App app{"Control the scx-rustland scheduler daemon over D-Bus (org.scx.Rustland1).", "scx-rustlandctl"};
    app.footer(kExitCodeHelp);
    app.set_version_flag("--version", rustland::kVersion);
    app.require_subcommand(1);

    StatusCommand status;
    auto* status_app = app.add_subcommand("status", "Show state, ops, version, holds, counters");
    status_app->add_flag("--json", status.json, "Print JSON");

    double interval_seconds = 1.0;
    auto* monitor_app = app.add_subcommand("monitor", "Show the status live until Ctrl-C");
    monitor_app->add_option("--interval", interval_seconds, "Seconds between refreshes")
        ->check(CLI::Range(0.1, 3600.0))
        ->capture_default_str();

    ListCommand list;
    auto* list_app = app.add_subcommand("list", "List the holds");
    list_app->add_flag("--json", list.json, "Print JSON");

    HoldCommand hold;
    std::string hold_app_id;
    auto* hold_app = app.add_subcommand("hold", "Hold process PID (latency-critical) until Ctrl-C or until it exits");
    hold_app->add_option("PID", hold.pid, "Process to hold")->required()->check(CLI::Range(1, INT_MAX));
    auto* hold_app_id_option =
        hold_app->add_option("--app-id", hold_app_id, "Application id shown in the holds (default: its command name)");
    hold.reason = "scx-rustlandctl hold";
    hold_app->add_option("--reason", hold.reason, "Why it is held")->capture_default_str();
    hold_app->add_flag("--persistent", hold.persistent, "Keep the hold after exiting and print its cookie (root only)");

    ReleaseCommand release;
    auto* release_app = app.add_subcommand("release", "End the hold COOKIE");
    release_app
        ->add_option("COOKIE", release.cookie,
                     "Cookie printed by hold --persistent or "
                     "shown by list")
        ->required();

    auto* reload_app = app.add_subcommand("reload", "Make the daemon reload its configuration");

    RunCommand run;
    auto* run_app = app.add_subcommand("run",
                                       "Run CMD held for its whole life and exit with its status (Steam: "
                                       "scx-rustlandctl run -- %command%)");
    run_app->add_option("--app-id", run.app_id, "Application id (default: CMD's basename)");
    run.reason = "scx-rustlandctl run";
    run_app->add_option("--reason", run.reason, "Why it is held")->capture_default_str();
    run_app->add_flag("--strict", run.strict, "Do not run CMD if it cannot be held; exit with the error's code");
    run_app->add_option("CMD", run.argv, "Command and its arguments (after --)")->required();

    FollowGameModeCommand follow;
    auto* follow_app = app.add_subcommand("follow-gamemode",
                                          "Hold the games GameMode (gamemoded) registers, while they are "
                                          "registered (the systemd user unit scx-rustland-gamemode.service)");
    follow_app
        ->add_option("--max-holds", follow.max_holds,
                     "Holds at once at most (a game and the processes it started before "
                     "its hold need one each)")
        ->check(CLI::Range(1, 4096))
        ->capture_default_str();

    ParsedArguments parsed;
    std::ostringstream out;
    std::ostringstream err;
    try {
        app.parse(static_cast<int>(args.size()), args.data());
    } catch (const CLI::ParseError& error) {
        const int cli_code = app.exit(error, out, err);
        // --help and --version succeed; every other parse error is a usage error.
        parsed.exit_code = cli_code == 0 ? to_int(ExitCode::ok) : to_int(ExitCode::usage);
        parsed.out = out.str();
        parsed.err = err.str();
        return parsed;
    }

    if (status_app->parsed()) {
        parsed.command = status;
    } else if (monitor_app->parsed()) {
        parsed.command = MonitorCommand{
            std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(interval_seconds * 1000.0))};
    } else if (list_app->parsed()) {
        parsed.command = list;
    } else if (hold_app->parsed()) {
        if (hold_app_id_option->count() > 0) {
            hold.app_id = hold_app_id;
        }
        parsed.command = hold;
    } else if (release_app->parsed()) {
        parsed.command = release;
    } else if (reload_app->parsed()) {
        parsed.command = ReloadCommand{};
    } else if (follow_app->parsed()) {
        parsed.command = follow;
    } else {
        if (run.app_id.empty()) {
            run.app_id = std::filesystem::path(run.argv.front()).filename().string();
        }
        parsed.command = run;
    }
    return parsed;
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
