// What went wrong, as an exit code and a one-line explanation. D-Bus errors
// from the daemon or the bus are classified here and nowhere else.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "ctl/exit_codes.h"

namespace rustland::ctl {

struct Failure {
    ExitCode code = ExitCode::failure;
    std::string text;  // e.g. "permission denied: process 1234 belongs to uid 1000"
};

// Thrown by the commands; main() prints it after the command's description.
class CommandFailed : public std::runtime_error {
public:
    explicit CommandFailed(Failure failure) : std::runtime_error(failure.text), failure_(std::move(failure)) {}
    const Failure& failure() const { return failure_; }

private:
    Failure failure_;
};

// `name` and `message` as carried by a D-Bus error reply.
Failure failure_from_dbus_error(std::string_view name, std::string_view message);

// No system bus to connect to: `detail` says why.
Failure no_system_bus(std::string_view detail);

// "<what>: <failure text>", with control characters escaped (the text may
// come from the daemon).
std::string failure_text(std::string_view what, const Failure& failure);

// "scx-rustlandctl: " + failure_text(): the line printed on stderr.
std::string failure_line(std::string_view what, const Failure& failure);

}  // namespace rustland::ctl
