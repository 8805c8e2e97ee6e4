// A dbus-daemon of the tests' own, on a socket in a fresh directory: the
// system-like bus of the D-Bus service and adversarial tests, and the buses
// of the scx-rustlandctl tests. Stopped, and its directory removed, on
// destruction.
#pragma once

#include <sys/types.h>

#include <string>

namespace rustland::test_support {

class PrivateBus {
public:
    // Who may do what on the bus.
    enum class Policy {
        // Like the system bus (dbus-daemon's system.conf): everything denied
        // unless a policy file punches a hole; ours is included as installed,
        // and root may own the fake polkit authority's name.
        like_system_bus,
        // Anyone may own any name and call anything: for stand-ins (the mock
        // daemon, a fake gamemoded) run by an unprivileged test.
        open,
    };
    struct Options {
        Policy policy = Policy::like_system_bus;
        // DBUS_SYSTEM_BUS_ADDRESS points at this bus while it runs: the
        // "system bus" of this process and of the children it starts.
        bool as_system_bus = true;
        // dbus-daemon's limit that tests lower to reach it cheaply; 512 is
        // the system bus's (and dbus-daemon's built-in default).
        unsigned max_match_rules_per_connection = 512;
    };

    PrivateBus();
    explicit PrivateBus(const Options& options);
    ~PrivateBus();
    PrivateBus(const PrivateBus&) = delete;
    PrivateBus& operator=(const PrivateBus&) = delete;

    const std::string& address() const { return address_; }

private:
    bool as_system_bus_;
    std::string dir_;
    pid_t daemon_ = -1;
    std::string address_;
};

}  // namespace rustland::test_support
