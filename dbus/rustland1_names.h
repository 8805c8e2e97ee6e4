// The names of org.scx.Rustland1 that the generated adaptor and proxy do not
// carry (they have INTERFACE_NAME): where the daemon is found on the bus and
// the errors it replies with. The service, scx-rustlandctl and the tests'
// stand-ins read them here, so both ends of the bus agree by construction.
#pragma once

namespace rustland::dbus_names {

inline constexpr char kBusName[] = "org.scx.Rustland1";
inline constexpr char kObjectPath[] = "/org/scx/Rustland1";

// The documented errors (dbus/org.scx.Rustland1.xml, docs/dbus-api.md).
namespace error {
inline constexpr char kPermissionDenied[] = "org.scx.Rustland1.Error.PermissionDenied";
inline constexpr char kNoSuchProcess[] = "org.scx.Rustland1.Error.NoSuchProcess";
inline constexpr char kNoSuchHold[] = "org.scx.Rustland1.Error.NoSuchHold";
inline constexpr char kLimitExceeded[] = "org.scx.Rustland1.Error.LimitExceeded";
inline constexpr char kInvalidArgument[] = "org.scx.Rustland1.Error.InvalidArgument";
inline constexpr char kBadConfig[] = "org.scx.Rustland1.Error.BadConfig";
inline constexpr char kFailed[] = "org.scx.Rustland1.Error.Failed";
}  // namespace error

}  // namespace rustland::dbus_names
