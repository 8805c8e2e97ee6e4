// scx-rustlandctl: command-line client of the scx-rustland daemon's D-Bus API.
#include <cstdio>
#include <span>
#include <system_error>

#include <fmt/format.h>
#include <sdbus-c++/Error.h>

#include "ctl/arguments.h"
#include "ctl/commands.h"
#include "ctl/errors.h"

namespace {

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};

rustland::ctl::ExitCode execute(const rustland::ctl::Command& command) {
    using namespace rustland::ctl;
    return std::visit(Overloaded{
                          [](const StatusCommand& status) { return show_status(status); },
                          [](const ListCommand& list) { return show_holds(list); },
                          [](const MonitorCommand& live) { return monitor(live); },
                          [](const HoldCommand& request) { return hold(request); },
                          [](const ReleaseCommand& request) { return release(request); },
                          [](const ReloadCommand& request) { return reload(request); },
                          [](const RunCommand& request) { return run(request); },
                          [](const FollowGameModeCommand& request) { return follow_gamemode(request); },
                      },
                      command);
}

}  // namespace

int main(int argc, char** argv) {
    using namespace rustland::ctl;
    const auto parsed = parse_arguments(std::span<const char* const>(argv, static_cast<std::size_t>(argc)));
    if (!parsed.command) {
        fmt::print(stdout, "{}", parsed.out);
        fmt::print(stderr, "{}", parsed.err);
        return parsed.exit_code;
    }
    const std::string what = describe(*parsed.command);
    Failure failure;
    try {
        return to_int(execute(*parsed.command));
    } catch (const CommandFailed& failed) {
        failure = failed.failure();
    } catch (const sdbus::Error& error) {
        failure = failure_from_dbus_error(error.getName(), error.getMessage());
    } catch (const std::system_error& error) {
        failure = {ExitCode::failure, error.what()};
    }
    std::fflush(stdout);
    fmt::print(stderr, "{}\n", failure_line(what, failure));
    return to_int(failure.code);
}
