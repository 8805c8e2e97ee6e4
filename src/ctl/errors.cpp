#include "ctl/errors.h"

#include <array>

#include <fmt/format.h>
#include <rustland1_names.h>

#include "ctl/format.h"

namespace rustland::ctl {
namespace {

struct KnownError {
    std::string_view name;
    ExitCode code;
    std::string_view description;
};

constexpr std::array kKnownErrors{
    KnownError{dbus_names::error::kPermissionDenied, ExitCode::permission_denied, "permission denied"},
    KnownError{dbus_names::error::kNoSuchProcess, ExitCode::no_such_target, "no such process"},
    KnownError{dbus_names::error::kNoSuchHold, ExitCode::no_such_target, "no such hold"},
    KnownError{dbus_names::error::kLimitExceeded, ExitCode::limit_exceeded, "limit exceeded"},
    // The daemon rejected what the user typed (an over-long app id, say).
    KnownError{dbus_names::error::kInvalidArgument, ExitCode::usage, "invalid argument"},
    KnownError{dbus_names::error::kBadConfig, ExitCode::bad_config, "bad config"},
    KnownError{dbus_names::error::kFailed, ExitCode::failure, "failed"},
    // The bus policy refused the call before the daemon saw it.
    KnownError{"org.freedesktop.DBus.Error.AccessDenied", ExitCode::permission_denied,
               "permission denied by the bus policy"},
    KnownError{"org.freedesktop.DBus.Error.ServiceUnknown", ExitCode::daemon_not_running, "daemon not running"},
    KnownError{"org.freedesktop.DBus.Error.NameHasNoOwner", ExitCode::daemon_not_running, "daemon not running"},
    KnownError{"org.freedesktop.DBus.Error.NoReply", ExitCode::failure, "the daemon did not answer"},
};

}  // namespace

Failure failure_from_dbus_error(std::string_view name, std::string_view message) {
    for (const auto& known : kKnownErrors) {
        if (known.name != name) {
            continue;
        }
        if (known.code == ExitCode::daemon_not_running) {
            // The bus's own message names the bus name; ours says it plainly.
            return {known.code,
                    fmt::format("daemon not running ({} has no owner on the system bus)", dbus_names::kBusName)};
        }
        if (message.empty()) {
            return {known.code, std::string(known.description)};
        }
        return {known.code, fmt::format("{}: {}", known.description, message)};
    }
    if (message.empty()) {
        return {ExitCode::failure, std::string(name)};
    }
    return {ExitCode::failure, fmt::format("{}: {}", name, message)};
}

Failure no_system_bus(std::string_view detail) {
    return {ExitCode::daemon_not_running, fmt::format("daemon not running (no system bus: {})", detail)};
}

std::string failure_text(std::string_view what, const Failure& failure) {
    // BadConfig lists one problem per line: keep those lines apart.
    return fmt::format("{}: {}", printable(what), printable(failure.text, Newlines::keep));
}

std::string failure_line(std::string_view what, const Failure& failure) {
    return "scx-rustlandctl: " + failure_text(what, failure);
}

}  // namespace rustland::ctl
