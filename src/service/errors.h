// The service's typed errors and their D-Bus names
// (org.scx.Rustland1.Error.*, spelled in dbus/rustland1_names.h), shared by
// everything that refuses a call.
#pragma once

#include <stdexcept>
#include <string>

namespace rustland::service {

enum class ErrorCode {
    PermissionDenied,
    NoSuchProcess,
    NoSuchHold,
    LimitExceeded,
    InvalidArgument,
    BadConfig,
    Failed,
};

// "org.scx.Rustland1.Error.PermissionDenied", ...
const char* error_name(ErrorCode code);

// A call refused for a reason the caller can act on; the service turns it
// into a D-Bus error reply named after `code`.
class Refusal : public std::runtime_error {
public:
    Refusal(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
    ErrorCode code() const { return code_; }

private:
    ErrorCode code_;
};

}  // namespace rustland::service
