// A thin wrapper over sd_notify(3): tells the service manager how the daemon
// is doing. Every call does nothing (and returns false) when NOTIFY_SOCKET is
// unset, i.e. when not started by systemd as Type=notify, so the daemon can
// call it unconditionally. Thread-safe (sd_notify opens a socket per call).
//
// Protocol reminders (systemd.service(5), sd_notify(3)):
//   - READY=1 once the scheduler is attached; again after a reload.
//   - RELOADING=1 with MONOTONIC_USEC= (systemd >= 253 uses the timestamp to
//     match the reload to its request; 252 ignores it) before applying a new
//     config, then READY=1.
//   - STOPPING=1 when shutting down.
//   - WATCHDOG=1 at least every WatchdogSec; watchdog_interval() says how
//     often (half of it).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace rustland::systemd {

class Notifier {
public:
    // True when NOTIFY_SOCKET is set (messages go somewhere).
    static bool enabled();

    // "READY=1\nSTATUS=<status>" (no STATUS= line when status is empty).
    // Also the way to end a reload.
    bool ready(std::string_view status = {});
    // "STATUS=<text>"
    bool status(std::string_view text);
    // "RELOADING=1\nMONOTONIC_USEC=<CLOCK_MONOTONIC in µs>"
    bool reloading();
    // "STOPPING=1\nSTATUS=<status>" (no STATUS= line when status is empty).
    bool stopping(std::string_view status = {});
    // "WATCHDOG=1"
    bool watchdog();

    // How often to send WATCHDOG=1: half of WATCHDOG_USEC, as sd_watchdog_enabled(3)
    // advises. Empty when this process has no watchdog (WatchdogSec= unset,
    // or WATCHDOG_PID names another process).
    static std::optional<std::chrono::microseconds> watchdog_interval();

    // Sends any state string as is; the methods above are built on it.
    bool send(const std::string& state);
};

// "KEY=value" lines are separated by '\n'; a newline inside a STATUS= text
// would start a bogus assignment, so text is flattened to one line.
std::string one_line(std::string_view text);

}  // namespace rustland::systemd
