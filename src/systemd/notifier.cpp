#include "systemd/notifier.h"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <cstdlib>
#include <ctime>

namespace rustland::systemd {
namespace {

std::string with_status(std::string state, std::string_view status) {
    if (!status.empty()) {
        state += "\nSTATUS=";
        state += one_line(status);
    }
    return state;
}

}  // namespace

std::string one_line(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        if (c == '\n' || c == '\r')
            c = ' ';
    return out;
}

bool Notifier::enabled() {
    const char* socket = std::getenv("NOTIFY_SOCKET");
    return socket != nullptr && *socket != '\0';
}

bool Notifier::send(const std::string& state) {
    if (!enabled())
        return false;
    // unset_environment=0: we notify for the whole life of the process.
    return sd_notify(0, state.c_str()) > 0;
}

bool Notifier::ready(std::string_view status) { return send(with_status("READY=1", status)); }

bool Notifier::status(std::string_view text) { return send("STATUS=" + one_line(text)); }

bool Notifier::reloading() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    const auto usec = static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<std::uint64_t>(ts.tv_nsec) / 1000;
    return send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

bool Notifier::stopping(std::string_view status) { return send(with_status("STOPPING=1", status)); }

bool Notifier::watchdog() { return send("WATCHDOG=1"); }

std::optional<std::chrono::microseconds> Notifier::watchdog_interval() {
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
        return std::nullopt;
    return std::chrono::microseconds(usec / 2);
}

}  // namespace rustland::systemd
