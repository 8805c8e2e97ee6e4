#include "ctl/commands.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include <fmt/format.h>

#include "ctl/client.h"
#include "ctl/descriptors.h"
#include "ctl/errors.h"

namespace rustland::ctl {
namespace {

std::int64_t realtime_now_usec() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// The target's command name (/proc/PID/comm), the default app id of `hold`.
std::string command_name(pid_t pid) {
    std::ifstream comm(fmt::format("/proc/{}/comm", pid));
    std::string name;
    std::getline(comm, name);
    return name;
}

// One monitor frame: the status, or why there is none right now.
std::string monitor_frame(DaemonClient& client) {
    try {
        return format_status(client.fetch_status(), realtime_now_usec());
    } catch (const sdbus::Error& error) {
        return failure_from_dbus_error(error.getName(), error.getMessage()).text + "\n";
    }
}

}  // namespace

ExitCode show_status(const StatusCommand& command) {
    const auto bus = connect_system_bus();
    DaemonClient client(*bus);
    const auto status = client.fetch_status();
    fmt::print("{}", command.json ? json_text(status_to_json(status)) : format_status(status, realtime_now_usec()));
    return ExitCode::ok;
}

ExitCode show_holds(const ListCommand& command) {
    const auto bus = connect_system_bus();
    DaemonClient client(*bus);
    const auto holds = client.fetch_status().holds;
    fmt::print("{}", command.json ? json_text(holds_to_json(holds)) : format_holds(holds, realtime_now_usec()));
    return ExitCode::ok;
}

ExitCode monitor(const MonitorCommand& command) {
    const auto bus = connect_system_bus();
    DaemonClient client(*bus);
    bool changed = false;
    client.listen({.hold_removed = {}, .changed = [&changed] { changed = true; }});
    const SignalFd stop_signals{SIGINT, SIGTERM};
    const bool terminal = ::isatty(STDOUT_FILENO) == 1;
    const int waited[] = {stop_signals.fd()};

    using Clock = std::chrono::steady_clock;
    auto next_refresh = Clock::now();
    bool first_frame = true;
    for (;;) {
        if (changed || Clock::now() >= next_refresh) {
            changed = false;
            const std::string frame = monitor_frame(client);
            // A terminal shows one live frame; a pipe or file gets them all in order.
            const char* separator = terminal ? "\033[H\033[2J" : (first_frame ? "" : "\n");
            fmt::print("{}{}", separator, frame);
            std::fflush(stdout);
            first_frame = false;
            next_refresh = Clock::now() + command.interval;
        }
        const auto remaining = std::chrono::ceil<std::chrono::milliseconds>(next_refresh - Clock::now());
        if (wait_for_events(bus.get(), waited, std::max(remaining, std::chrono::milliseconds(0)))) {
            stop_signals.read_one();
            return ExitCode::ok;
        }
    }
}

ExitCode hold(const HoldCommand& command) {
    const UniqueFd target = open_pidfd(command.pid);
    const std::string app_id = command.app_id.value_or(command_name(command.pid));
    const auto bus = connect_system_bus();
    // Hold and Release go to one daemon instance: after a restart the
    // cookie may belong to someone else's hold in the new daemon.
    DaemonClient client(*bus, daemon_instance(*bus));

    std::optional<std::uint64_t> cookie;
    std::optional<std::string> ended_because;
    client.listen({.hold_removed =
                       [&](std::uint64_t removed, const std::string& why) {
                           if (cookie == removed) {
                               ended_because = why;
                           }
                       },
                   .changed = {}});
    // Before the call, so that a Ctrl-C during it is seen after it.
    const SignalFd stop_signals{SIGINT, SIGTERM};
    std::map<std::string, sdbus::Variant> options;
    if (command.persistent) {
        options.emplace("persistent", sdbus::Variant(true));
    }
    cookie = client.Hold(sdbus::UnixFd(target.get()), app_id, command.reason, options);
    if (command.persistent) {
        fmt::print("{}\n", *cookie);
        return ExitCode::ok;
    }
    fmt::print("holding pid {} ({}) as cookie {} until it exits or Ctrl-C\n", command.pid, printable(app_id), *cookie);
    std::fflush(stdout);

    const int waited[] = {stop_signals.fd(), target.get()};
    for (;;) {
        const auto ready = wait_for_events(bus.get(), waited, std::nullopt);
        if (ready == 0U) {
            stop_signals.read_one();
            try {
                client.Release(*cookie);
            } catch (const sdbus::Error& error) {
                // Ended meanwhile (the target exited, or the daemon that
                // granted it went away): nothing left to release.
                const ExitCode code = failure_from_dbus_error(error.getName(), error.getMessage()).code;
                if (code != ExitCode::no_such_target && code != ExitCode::daemon_not_running) {
                    throw;
                }
            }
            return ExitCode::ok;
        }
        if (ready == 1U) {
            return ExitCode::ok;  // the target exited; the daemon drops the hold itself
        }
        if (ended_because == "daemon-stopping") {
            throw CommandFailed({ExitCode::daemon_not_running, "the daemon stopped"});
        }
        if (ended_because) {
            fmt::print("hold {} ended: {}\n", *cookie, printable(*ended_because));
            return ExitCode::ok;
        }
    }
}

ExitCode release(const ReleaseCommand& command) {
    const auto bus = connect_system_bus();
    DaemonClient client(*bus);
    client.Release(command.cookie);
    return ExitCode::ok;
}

ExitCode reload(const ReloadCommand&) {
    const auto bus = connect_system_bus();
    DaemonClient client(*bus);
    client.Reload();
    return ExitCode::ok;
}

}  // namespace rustland::ctl
