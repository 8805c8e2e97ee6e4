// The daemon as seen through the generated org.scx.Rustland1 proxy, on a bus
// connection that the caller's own poll loop drives (no sdbus-c++ threads, so
// scx-rustlandctl run can fork safely).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include <rustland1_proxy.h>
#include <sdbus-c++/sdbus-c++.h>
#include <sdbus_compat.h>

#include "ctl/format.h"

namespace rustland::ctl {

// Connects to the system bus (DBUS_SYSTEM_BUS_ADDRESS is honoured); throws
// CommandFailed (daemon not running) when there is none.
std::unique_ptr<sdbus::IConnection> connect_system_bus();

class DaemonClient final : public sdbus::ProxyInterfaces<org::scx::Rustland1_proxy, sdbus::Properties_proxy> {
public:
    // Signals of interest; any may be left empty. Called from wait_for_events().
    struct Listeners {
        std::function<void(std::uint64_t cookie, const std::string& why)> hold_removed;
        std::function<void()> changed;  // a hold was added or removed, or a property changed
    };

    explicit DaemonClient(sdbus::IConnection& bus);
    // Talks to one daemon instance only: `destination` is its unique bus
    // name (see daemon_instance()). Once that daemon is gone, calls fail
    // with org.freedesktop.DBus.Error.ServiceUnknown instead of reaching
    // a successor.
    DaemonClient(sdbus::IConnection& bus, const std::string& destination);
    ~DaemonClient();
    DaemonClient(const DaemonClient&) = delete;
    DaemonClient& operator=(const DaemonClient&) = delete;

    void listen(Listeners listeners) { listeners_ = std::move(listeners); }

    // All properties in one call.
    DaemonStatus fetch_status();

private:
    void onHoldAdded(const std::uint64_t& cookie, const std::uint32_t& pid, const std::uint32_t& uid,
                     const std::string& app_id, const std::string& reason) override;
    void onHoldRemoved(const std::uint64_t& cookie, const std::string& why) override;
    void onPropertiesChanged(const dbus_compat::InterfaceName& interface_name, const dbus_compat::PropertyMap& changed,
                             const dbus_compat::PropertyNames& invalidated) override;

    Listeners listeners_;
};

// The unique bus name of the daemon that owns org.scx.Rustland1 now; throws
// CommandFailed (daemon not running) when nobody does.
std::string daemon_instance(sdbus::IConnection& bus);

// Whether `name` has an owner on `bus` now; asking the bus, not the name,
// does not start a D-Bus activatable service.
bool name_has_owner(sdbus::IConnection& bus, const std::string& name, std::chrono::milliseconds timeout);

// Sleeps until the bus or one of `fds` is readable or `timeout` passes, and
// dispatches the bus messages queued before and during the wait (signal
// callbacks run here); if some were queued before, it does not sleep, so the
// caller sees what their callbacks did at once.
// Returns the index in `fds` of a readable descriptor, if any. `bus` may be
// null (run without a daemon).
std::optional<std::size_t> wait_for_events(sdbus::IConnection* bus, std::span<const int> fds,
                                           std::optional<std::chrono::milliseconds> timeout);
// The same over several buses (follow-gamemode: the session and the system bus).
std::optional<std::size_t> wait_for_events(std::span<sdbus::IConnection* const> buses, std::span<const int> fds,
                                           std::optional<std::chrono::milliseconds> timeout);

}  // namespace rustland::ctl
